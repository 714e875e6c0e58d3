"""Who may do what in performances: the typed callers every router takes.

Each alias is a FastAPI dependency built on the kit's `grant_of()` (the permission matrix) plus
the scope rule of performances, so routers never check scopes by hand:

- `Student`: the student themself (學生, scope own) — their records, proof and selection.
- `PerformanceStaff`: 多元表現提交者 or the admin — parameters, status, the 名冊 25 side.
- `CadreStaff`: 校內幹部提交者 or the admin — 校內幹部 records (名冊 24).
- `ItemManager`: 多元項目管理者 or the admin — the batch import of records.
- `CertificateManager`: 證照項目管理者 or the admin — the 檢定證照 catalog.
- `StatusViewer`: performance or cadre staff school-wide, or a 導師 for their own classes.
- `SchoolMember`: anyone with a role in the school that reads portfolios (the catalog).
- `Admin`: the school's 系統管理者 (reopening a submitted 名冊, the audit log).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from licheng.contracts.permissions import Capability, Scope
from licheng.kit.errors import Forbidden
from licheng.kit.permissions import Caller as Caller
from licheng.kit.permissions import Grant, grant_of, student_caller

PERFORMANCE_STAFF_SCOPES = frozenset({Scope.ALL, Scope.PERFORMANCES})
CADRE_STAFF_SCOPES = frozenset({Scope.ALL, Scope.CADRE})
ITEM_MANAGER_SCOPES = frozenset({Scope.ALL, Scope.PERFORMANCE_ITEMS})
SCHOOL_WIDE_READ = frozenset({Scope.ALL, Scope.PERFORMANCES, Scope.CADRE})


def reads_school_wide(grant: Grant) -> bool:
    """True when the grant reads performances of the whole school."""
    return bool(grant.scopes & SCHOOL_WIDE_READ)


def _scoped(
    capability: Capability, scopes: frozenset[Scope], message: str, code: str
) -> Callable[..., Awaitable[Grant]]:
    granted = Depends(grant_of(capability))  # a default, as the closure's names are not global

    async def dependency(grant: Grant = granted) -> Grant:
        if not grant.scopes & scopes:
            raise Forbidden(message, code=code)
        return grant

    return dependency


async def _status_viewer(
    grant: Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))],
) -> Grant:
    if reads_school_wide(grant):
        return grant
    if Scope.OWN_CLASS not in grant.scopes or grant.principal.person_id is None:
        raise Forbidden(
            "此功能僅限多元表現提交者、校內幹部提交者、系統管理者或導師使用",
            code="status_forbidden",
        )
    return grant


Student = Annotated[Caller, Depends(student_caller)]
PerformanceStaff = Annotated[
    Grant,
    Depends(_scoped(Capability.ROSTERS_SUBMIT, PERFORMANCE_STAFF_SCOPES,
                    "此功能僅限多元表現提交者或系統管理者使用", "performance_staff_only")),
]  # fmt: skip
CadreStaff = Annotated[
    Grant,
    Depends(_scoped(Capability.ROSTERS_SUBMIT, CADRE_STAFF_SCOPES,
                    "此功能僅限校內幹部提交者或系統管理者使用", "cadre_staff_only")),
]  # fmt: skip
ItemManager = Annotated[
    Grant,
    Depends(_scoped(Capability.PORTFOLIO_WRITE, ITEM_MANAGER_SCOPES,
                    "此功能僅限多元項目管理者或系統管理者使用", "item_manager_only")),
]  # fmt: skip
CertificateManager = Annotated[Grant, Depends(grant_of(Capability.CERTIFICATES_MANAGE))]
StatusViewer = Annotated[Grant, Depends(_status_viewer)]
SchoolMember = Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))]
Admin = Annotated[Grant, Depends(grant_of(Capability.PERMISSIONS_MANAGE))]
