"""Licheng's infrastructure kit: settings, database, auth, events, storage, errors, health.

The kit holds no domain logic; services build on it and on `licheng.contracts` only.
"""
