"""Staff organisations, users, passwords, TOTP, sessions and API tokens."""
