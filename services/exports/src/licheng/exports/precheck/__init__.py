"""預檢: every problem of a 名冊, by sheet and row, found before the deadline."""
