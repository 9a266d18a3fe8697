"""Staff notifications: the alerts inbox in the console and e-mail through the outbox."""
