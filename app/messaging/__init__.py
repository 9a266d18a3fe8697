"""Provider deliveries in (deduplicated) and out (the outbox)."""
