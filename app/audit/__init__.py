"""The tamper-evident audit log: an append-only SHA-256 hash chain."""
