"""課程代碼 (23-character MOE course codes) and the 領域 codes at their positions 20–21.

Source: docs/domain.md §5.2–§5.3, which cites `ischoolinc/ScoreReportDAL`
SHCourseGroupCodeAdmin/Utility.cs (`GetDomainNameMapping`, keyed by `Substring(19, 2)`).

Assumption — 技能領域 (vocational skill areas), summarised in docs/domain.md §5.3 as "A1–O6, U1–UF
and G1–G3" (the section also lists each code). Rather than list each one, any letter A–O
followed by a digit 1–6, U followed by 1–9 or A–F, and G1–G3 is accepted (G1–G3 already falls
within A–O × 1–6, so G4–G6 pass too). The cited source also has M7 (海面養殖技能) and
N7 (船舶維護與繫固作業技能), which that summary misses; both are accepted as well.
The pattern is deliberately looser than the source's list (which has, for example, no D3 or
E1), so that a code MOE adds later is not refused by the import.
"""

from __future__ import annotations

import re
import unicodedata

from licheng.kit.tabular import clean_text

COURSE_CODE_LENGTH = 23
DOMAIN_SLICE = slice(19, 21)
"""領域 code: positions 20–21 (1-based) of a 課程代碼."""

DOMAIN_NAMES: dict[str, str] = {
    "00": "不分",
    "01": "語文",
    "02": "數學",
    "03": "社會",
    "04": "自然科學",
    "05": "藝術",
    "06": "綜合活動",
    "07": "科技",
    "08": "健康與體育",
    "09": "全民國防教育",
    "0A": "跨領域科目專題",
    "0B": "實作(實驗)及探索體驗",
    "0C": "職涯試探",
    "0D": "專題探究",
    "0E": "跨領域/科目統整",
    "0F": "通識性課程",
    "0G": "大學預修課程",
    "0H": "第二外國語文",
    "0I": "本土語文",
    "0J": "綜合活動與科技",
    "0R": "競技體育技能",
    "0S": "體育專業學科",
    "0T": "體育專項術科",
    "11": "特殊需求領域(身心障礙)",
    "12": "特殊需求領域(資賦優異)",
    "13": "特殊需求領域(音樂專長)",
    "14": "特殊需求領域(美術專長)",
    "15": "特殊需求領域(舞蹈專長)",
    "16": "特殊需求領域(戲劇專長)",
    "17": "特殊需求領域(體育專長)",
    "18": "特殊需求領域(實驗課程)",
    "91": "藝術才能專長",
    "92": "生涯發展",
    "93": "職能探索",
    "94": "運動防護",
}
"""The named 領域 codes (every one except the 技能領域, which `SKILL_DOMAIN` matches)."""

SKILL_DOMAIN = re.compile(r"[A-O][1-6]|U[1-9A-F]|G[1-3]|M7|N7")
"""技能領域 codes, as the assumption in this module's docstring describes."""

_CHARACTERS = re.compile(r"[0-9A-Z]+")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def normalise_course_code(code: str) -> str:
    """Full-width to half-width (NFKC), trimmed, upper case: how a 課程代碼 is compared."""
    text = clean_text(unicodedata.normalize("NFKC", code))
    # Only ASCII letters are upper-cased: str.upper() would turn "ß" into "SS".
    return text.translate(_UPPER)


def is_known_domain(domain: str) -> bool:
    """Whether a two-character 領域 code is one docs/domain.md §5.3 lists."""
    return domain in DOMAIN_NAMES or SKILL_DOMAIN.fullmatch(domain) is not None


def validate_course_code(code: str) -> str | None:
    """The problem with a 課程代碼, as an error code, or None when it is valid.

    `course_code_length` (not 23 characters), `course_code_characters` (not only 0–9 and A–Z)
    or `course_code_domain` (positions 20–21 are not a known 領域 code). The code is normalised
    first (`normalise_course_code`), so full-width and lower-case input is valid.
    """
    text = normalise_course_code(code)
    if len(text) != COURSE_CODE_LENGTH:
        return "course_code_length"
    if not _CHARACTERS.fullmatch(text):
        return "course_code_characters"
    if not is_known_domain(text[DOMAIN_SLICE]):
        return "course_code_domain"
    return None


def domain_of(code: str) -> str:
    """The 領域 code of a valid 課程代碼 (its positions 20–21), e.g. "01"; ValueError otherwise."""
    if (problem := validate_course_code(code)) is not None:
        raise ValueError(f"not a valid 課程代碼 ({problem})")
    return normalise_course_code(code)[DOMAIN_SLICE]
