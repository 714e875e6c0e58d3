"""Dependencies shared by identity's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from licheng.contracts.permissions import Scope
from licheng.identity.crypto import PiiCipher
from licheng.kit.errors import Forbidden
from licheng.kit.permissions import Grant

API = "/api/identity/v1"
SCHOOL = API + "/schools/{school_code}"


def get_cipher(request: Request) -> PiiCipher:
    """The service's PII cipher."""
    cipher: PiiCipher = request.app.state.pii_cipher
    return cipher


CipherDep = Annotated[PiiCipher, Depends(get_cipher)]


def require_school_wide(grant: Grant) -> None:
    """Refuse a grant that reaches less than the whole school."""
    if Scope.ALL not in grant.scopes:
        raise Forbidden("此功能僅限系統管理者使用", code="admin_only")
