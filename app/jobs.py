"""The worker's jobs, registered by importing the modules that define them."""
import app.cases.timers  # noqa: F401
import app.intake.jobs  # noqa: F401
import app.messaging.outbox  # noqa: F401
