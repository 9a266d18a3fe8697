"""Cases: references, statuses, notes, links, remediation steps and scoped reads."""
