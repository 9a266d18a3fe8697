"""Aggregate figures for buyers and the public, with small counts protected."""
