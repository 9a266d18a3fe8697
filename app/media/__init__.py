"""Media from reporters (call recordings, photos, voice notes): fetched from the provider,
stripped of metadata, stored encrypted under the case's key, deleted at the provider,
shown to those who may read the case's content."""
