"""Reporter identity and encryption at rest: key file, data keys, blind indexes."""
