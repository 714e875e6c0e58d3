"""狀態: counts per student (填寫、送審、認證、勾選) and per certifying teacher."""
