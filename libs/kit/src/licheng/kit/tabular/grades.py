"""年級 (senior-high grade) cells: 1–3, written in any of the ways school files write them."""

from __future__ import annotations

from licheng.kit.tabular.columns import Column, RowReader

GRADES: dict[str, int] = {
    **{str(grade): grade for grade in (1, 2, 3)},
    **{str(year): year - 9 for year in (10, 11, 12)},
    **{numeral: grade for grade, numeral in enumerate("一二三", start=1)},
    **{f"高{numeral}": grade for grade, numeral in enumerate("一二三", start=1)},
}
"""年級 as written: 1–3, 一/二/三 (also 高一…), or the 10–12 year count; all mean 1–3."""


def parse_grade(text: str) -> int | None:
    """The grade 1–3 of an already normalised text (an optional 年級 suffix), or None."""
    return GRADES.get(text.removesuffix("年級"))


def read_grade(reader: RowReader, column: Column) -> int | None:
    """The row's grade in `column`; reports `grade_invalid`, naming the column, when unreadable."""
    text = reader.text(column, identifier=True)
    if text is None:
        return None
    grade = parse_grade(text)
    if grade is None:
        message = f"{column.name}必須是 1、2、3（也可寫 一、二、三 或 10、11、12）"
        reader.error(column, "grade_invalid", message)
    return grade
