"""Licheng gateway."""
