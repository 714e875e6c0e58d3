"""Licheng exports: read model, roster submissions, export jobs."""
