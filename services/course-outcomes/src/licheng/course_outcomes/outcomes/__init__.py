"""課程學習成果: the student's outcomes, their files, certification and selection."""
