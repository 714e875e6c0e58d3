"""Licheng performances: 多元表現, cadre records, certificates, selection."""
