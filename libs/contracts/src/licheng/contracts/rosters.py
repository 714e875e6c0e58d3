"""The central database's 名冊 (rosters) that a school submits, by their codes (DOMAIN §3)."""

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
