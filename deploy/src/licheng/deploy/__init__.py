"""Licheng's local stack runner and provisioning glue."""
