"""What Licheng's services agree on: events, subjects, roles and the permission matrix."""
