"""Turning a verified access token into a session: who the person is and their roles."""

from __future__ import annotations

import time
from typing import Any

from licheng.kit.auth import TokenVerifier, principal_from_claims
from licheng.web.sessions import Session, new_id


async def session_from_tokens(
    verifier: TokenVerifier, tokens: dict[str, Any], *, previous: Session | None = None
) -> Session:
    """A session for the tokens (checked like every service checks them), keeping the
    previous session's id, school and CSRF secret when refreshing."""
    access = str(tokens["access_token"])
    claims = await verifier.verify(access)
    principal = principal_from_claims(claims)
    now = time.time()
    expires_at = float(claims.get("exp") or now + float(tokens.get("expires_in", 300)))
    refresh_expires = tokens.get("refresh_expires_in")
    roles = {
        school: sorted(role.value for role in held)
        for school, held in principal.roles_by_school.items()
    }
    school = previous.school_code if previous else None
    if school not in roles:
        school = next(iter(sorted(roles)), None) if len(roles) == 1 else None
    return Session(
        id=previous.id if previous else new_id(),
        access_token=access,
        expires_at=expires_at,
        person_id=str(principal.person_id) if principal.person_id else None,
        name=principal.name or principal.username or "",
        username=principal.username,
        roles_by_school=roles,
        district_operator=principal.district_operator,
        refresh_token=tokens.get("refresh_token") or (previous.refresh_token if previous else None),
        refresh_expires_at=now + float(refresh_expires) if refresh_expires else None,
        id_token=tokens.get("id_token") or (previous.id_token if previous else None),
        school_code=school,
        csrf=previous.csrf if previous else new_id(),
    )
