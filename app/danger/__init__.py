"""Danger now: a reporter says they (or others) are at risk of harm right now, and a
monitor can mark any case urgent or not; urgent cases come first in the queue."""
