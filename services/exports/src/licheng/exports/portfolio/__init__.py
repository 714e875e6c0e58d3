"""A student's own portfolio download: their selected 課程學習成果 and 多元表現 with the files,
and an index page (HTML and PDF), as one ZIP for university applications."""
