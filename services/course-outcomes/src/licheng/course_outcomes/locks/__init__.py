"""Term locks: after a roster submission (提交) student edits answer 423."""
