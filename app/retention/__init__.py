"""Retention: forgetting a case's content on time (crypto-shredding), and legal holds."""
