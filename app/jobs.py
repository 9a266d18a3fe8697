"""The worker's jobs, registered by importing the modules that define them."""

import app.cases.timers
import app.intake.jobs
import app.media.jobs
import app.messaging.outbox
import app.notify.jobs
import app.remediation.jobs
import app.retention.jobs
import app.voice.jobs  # noqa: F401
