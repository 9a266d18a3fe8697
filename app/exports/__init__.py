"""Signed export bundles for auditors, and their offline verifier (`verify.py` imports
nothing from the database layer)."""
