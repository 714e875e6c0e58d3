"""Who is who, learned from identity's events (students, teachers, classes)."""
