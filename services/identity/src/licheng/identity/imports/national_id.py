"""Taiwan's 身分證號 and resident certificate numbers (統一證號): shape and check digit.

Accepted forms, all ten characters:

- 身分證號 `^[A-Z][12]\\d{8}$` (the second character is the sex);
- 新式統一證號 (2021+) `^[A-Z][89]\\d{8}$`, checked exactly like a 身分證號;
- 舊式統一證號 `^[A-Z][A-D]\\d{8}$`, whose second letter counts as the last digit of its code.

The check: the first letter becomes two digits d1 d2 (A=10 … see `LETTER_CODES`); with n1…n9
the nine characters after it (n1 from the second letter in the old form),
d1 + 9·d2 + 8·n1 + 7·n2 + 6·n3 + 5·n4 + 4·n5 + 3·n6 + 2·n7 + n8 + n9 is a multiple of ten.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

LETTER_CODES: dict[str, int] = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip

_SHAPE = re.compile(r"[A-Z][1289A-D][0-9]{8}")
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1, 1)

NationalIdProblem = Literal["national_id_format", "national_id_checksum"]


def normalise_national_id(value: str) -> str:
    """Full-width letters and digits made half-width, spaces removed, letters upper-cased."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def _checksum_ok(value: str) -> bool:
    code = LETTER_CODES[value[0]]
    second = value[1]
    n1 = LETTER_CODES[second] % 10 if second.isalpha() else int(second)
    digits = (n1, *(int(char) for char in value[2:]))
    total = code // 10 + 9 * (code % 10)
    total += sum(weight * digit for weight, digit in zip(_WEIGHTS, digits, strict=True))
    return total % 10 == 0


def national_id_problem(value: str) -> NationalIdProblem | None:
    """What is wrong with an already normalised ID: its shape, its check digit, or nothing."""
    if not _SHAPE.fullmatch(value):
        return "national_id_format"
    if not _checksum_ok(value):
        return "national_id_checksum"
    return None


def is_valid_national_id(value: str) -> bool:
    """Whether a 身分證號 or 統一證號 (normalised first) has a valid shape and check digit."""
    return national_id_problem(normalise_national_id(value)) is None
