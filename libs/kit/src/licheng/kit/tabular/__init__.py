"""Reading uploaded spreadsheets (xlsx or CSV) into rows, and writing import templates.

Synchronous and CPU-bound: bytes in (`read_table`), a `Table` of normalised cells out; async
callers run it through `in_worker`. A service
declares its `Column`s, walks the rows of a `Sheet` with a `RowReader` each, and returns
`Sheet.result(rows)`: a `ParseResult` of its own row type with every `RowError` found, sorted by
(row, column). `ParseResult.raise_for_errors()` raises 422 `invalid_rows` listing them all.

- `guard`: `check_workbook` (zip-bomb refusal, called by `read_table`), `in_worker` (parse in a
  worker thread, a few at a time: every importer calls its parse through it), `MAX_COLUMNS`;
- `tables`: `read_table`, `read_workbook` (every sheet of an xlsx), `Table`, `TableRow`, `Cell`,
  `MAX_ROWS`, `decode_csv`, `clean_text`, `normalise_cell`, `header_name`;
- `columns`: `Column`, `Sheet`, `RowReader`, `FirstSeen`, `header_key`, the optional `EMAIL`;
- `results`: `RowError`, `ParseResult`;
- `templates`: `template_workbook`, `TEMPLATE_USAGE`.
"""

from licheng.kit.tabular.columns import EMAIL, Column, FirstSeen, RowReader, Sheet, header_key
from licheng.kit.tabular.guard import MAX_COLUMNS, check_workbook, in_worker
from licheng.kit.tabular.results import ParseResult, RowError, raise_invalid_rows
from licheng.kit.tabular.tables import (
    MAX_ROWS,
    Cell,
    Table,
    TableRow,
    clean_text,
    decode_csv,
    header_name,
    normalise_cell,
    read_table,
    read_workbook,
)
from licheng.kit.tabular.templates import TEMPLATE_USAGE, Note, template_workbook

__all__ = [
    "EMAIL",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "TEMPLATE_USAGE",
    "Cell",
    "Column",
    "FirstSeen",
    "Note",
    "ParseResult",
    "RowError",
    "RowReader",
    "Sheet",
    "Table",
    "TableRow",
    "check_workbook",
    "clean_text",
    "decode_csv",
    "header_key",
    "header_name",
    "in_worker",
    "normalise_cell",
    "raise_invalid_rows",
    "read_table",
    "read_workbook",
    "template_workbook",
]
