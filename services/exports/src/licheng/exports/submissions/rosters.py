"""Which 名冊 a caller may submit and see: the permission matrix's 提交資料至國教署 scopes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from licheng.contracts.permissions import Capability, Scope
from licheng.contracts.rosters import ROSTER_TITLES, RosterCode
from licheng.kit.errors import Forbidden
from licheng.kit.permissions import Grant, grant_of

ROSTER_SCOPES = {
    RosterCode.COURSE_OUTCOMES: Scope.COURSE_OUTCOMES,  # 課程學習提交者
    RosterCode.PERFORMANCES: Scope.PERFORMANCES,  # 多元表現提交者
    RosterCode.CADRES: Scope.CADRE,  # 校內幹部提交者
}
YEARLY_ROSTERS = frozenset({RosterCode.PERFORMANCES})  # 封面 學期 0; one lock per 學年度

Submitter = Annotated[Grant, Depends(grant_of(Capability.ROSTERS_SUBMIT))]


def rosters_of(grant: Grant) -> list[str]:
    """The 名冊 codes the grant reaches (the admin reaches all three)."""
    return [
        code.value for code, scope in ROSTER_SCOPES.items() if grant.school_wide or grant.has(scope)
    ]


def require_roster(grant: Grant, roster_code: str) -> RosterCode:
    """The roster, or 403 naming it when the caller may not submit it."""
    code = RosterCode(roster_code)
    if code.value not in rosters_of(grant):
        raise Forbidden(
            f"您沒有提交「{ROSTER_TITLES[code]}」的權限",
            code="roster_not_allowed",
            detail={"roster_code": code.value},
        )
    return code


def roster_semester(roster_code: RosterCode, semester: int) -> int:
    """The semester a 名冊 is kept under: 0 for the yearly 名冊 25, else as given."""
    return 0 if roster_code in YEARLY_ROSTERS else semester
