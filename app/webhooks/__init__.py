"""Provider webhooks: verified, size-capped, deduplicated, answered once durable."""
