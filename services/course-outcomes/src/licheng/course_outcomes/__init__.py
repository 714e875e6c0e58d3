"""Licheng course outcomes: 修課紀錄, outcomes, certification, selection."""
