"""The worker's jobs, registered by importing the modules that define them."""
