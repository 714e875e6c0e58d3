"""Licheng guidance: 課程諮詢 records, 自傳 and 學習計畫."""
