"""Consent to be identified: a monitor asks, only the reporter's explicit yes lets that
monitor's partner see who they are, every view is audited, and the reporter can take it
back at any time (HIDE, or the status page)."""
