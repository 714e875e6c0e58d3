"""Dependencies shared by identity's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from licheng.identity.crypto import PiiCipher

API = "/api/identity/v1"
SCHOOL = API + "/schools/{school_code}"


def get_cipher(request: Request) -> PiiCipher:
    """The service's PII cipher."""
    cipher: PiiCipher = request.app.state.pii_cipher
    return cipher


CipherDep = Annotated[PiiCipher, Depends(get_cipher)]
