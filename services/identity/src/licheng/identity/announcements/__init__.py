"""公告: school announcements with a publishing window and an audience."""
