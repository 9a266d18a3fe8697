"""The staff console: server-rendered pages under /console (no JavaScript needed)."""
