"""狀態: counts (填寫、送審、認證、勾選) per student, class, course section and certifying teacher,
as paginated lists and as xlsx downloads."""
