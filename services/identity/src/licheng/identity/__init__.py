"""Licheng identity: schools, people, classes, role grants, announcements."""
