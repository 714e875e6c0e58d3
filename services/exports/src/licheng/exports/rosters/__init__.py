"""The 名冊 file formats, pure (no database, no network): cells, sheet layouts, the workbook
writer and the deterministic ZIP with its `SHA.txt` (docs/domain.md §3)."""
