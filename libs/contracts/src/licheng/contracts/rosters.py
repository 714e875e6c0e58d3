"""The 名冊 (rosters) a school submits to the central database, by code (docs/domain.md §3)."""

from __future__ import annotations

from enum import StrEnum


class RosterCode(StrEnum):
    CADRES = "24"  # 校內幹部經歷名冊
    PERFORMANCES = "25"  # 學生自填多元表現名冊
    COURSE_OUTCOMES = "26"  # 學生課程學習成果名冊


ROSTER_TITLES = {
    RosterCode.CADRES: "校內幹部經歷名冊",
    RosterCode.PERFORMANCES: "學生自填多元表現名冊",
    RosterCode.COURSE_OUTCOMES: "學生課程學習成果名冊",
}
