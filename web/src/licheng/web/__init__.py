"""Licheng web."""
