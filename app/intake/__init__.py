"""The SMS and WhatsApp intake conversation: from a first message to an opened case."""
