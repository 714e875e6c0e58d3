"""身分證號 and 出生日期 from identity, for the one export job that needs them.

Exports never stores these: a job asks identity's internal endpoint (service accounts only,
every disclosure audited there) with a client-credentials token and keeps the answer in memory
until its workbook is written. The values never appear in a repr, a log line or an exception.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from licheng.kit.errors import ServiceUnavailable
from licheng.kit.inbox import PoisonMessage
from licheng.kit.service_tokens import ClientCredentials, ServiceTokenError

log = structlog.get_logger("licheng.exports.identifiers")

IDENTIFIERS_PATH = "/internal/v1/identifiers"
BATCH_SIZE = 1000  # identity accepts up to 5000 per request
_TIMEOUT_SECONDS = 30.0
# Answers a later try can cure: throttling, a timeout, or our token refused (the service
# account's secret or roles being fixed, identity's signing key rotated).
_RETRYABLE_STATUSES = frozenset({401, 403, 408, 429})


class TokenSource(Protocol):
    """Anything handing out a bearer token for our service account (e.g. ClientCredentials)."""

    async def token(self) -> str:
        """A valid access token."""
        ...


@dataclass(frozen=True)
class Identifiers:
    """One student's 身分證號 and 出生日期, as identity holds them; the repr hides both."""

    national_id: str = field(repr=False)
    birth_date: str = field(repr=False)


class FetchedIdentifiers(dict[uuid.UUID, Identifiers]):
    """Identifiers by student id; `missing` lists the ids identity had none for, in asked order.

    A student is missing when identity does not know them in the school, or holds no 身分證號 or
    出生日期 for them.
    """

    def __init__(
        self, found: Mapping[uuid.UUID, Identifiers], missing: Iterable[uuid.UUID]
    ) -> None:
        super().__init__(found)
        self.missing: tuple[uuid.UUID, ...] = tuple(missing)


class IdentityUnavailable(ServiceUnavailable):
    """Identity could not answer now (unreachable, failing, or refusing our token): retry later."""

    code = "identity_unavailable"
    default_message = "暫時無法向身分資料服務取得學生身分資料，請稍後再試"


class IdentityRejected(PoisonMessage):
    """Identity refused the request itself (a bug in what we asked): no retry can help."""


class _Item(BaseModel):
    student_id: uuid.UUID
    national_id: str
    birth_date: str


class _Answer(BaseModel):
    items: list[_Item]
    missing: list[uuid.UUID]


class IdentityIdentifiers:
    """Reads students' identifiers from identity's internal endpoint, in batches."""

    def __init__(
        self,
        *,
        identity_url: str,
        tokens: TokenSource,
        http: httpx.AsyncClient | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.url = identity_url.rstrip("/") + IDENTIFIERS_PATH
        self._tokens = tokens
        self._http = http
        self._batch_size = batch_size

    async def fetch(
        self, *, school_code: str, student_ids: Sequence[uuid.UUID], purpose: str
    ) -> FetchedIdentifiers:
        """Identifiers of `student_ids` in `school_code`; `purpose` (e.g. the job id) is audited."""
        wanted = list(dict.fromkeys(student_ids))
        found: dict[uuid.UUID, Identifiers] = {}
        if not wanted:
            return FetchedIdentifiers(found, ())
        if self._http is not None:
            await self._fetch_all(self._http, school_code, wanted, purpose, found)
        else:
            async with httpx.AsyncClient(timeout=_TIMEOUT_SECONDS) as client:
                await self._fetch_all(client, school_code, wanted, purpose, found)
        missing = [i for i in wanted if i not in found]
        log.info(
            "identifiers.fetched",
            school_code=school_code,
            purpose=purpose,
            requested=len(wanted),
            found=len(found),
            missing=len(missing),
        )
        return FetchedIdentifiers(found, missing)

    async def _fetch_all(
        self,
        client: httpx.AsyncClient,
        school_code: str,
        wanted: list[uuid.UUID],
        purpose: str,
        found: dict[uuid.UUID, Identifiers],
    ) -> None:
        for start in range(0, len(wanted), self._batch_size):
            batch = wanted[start : start + self._batch_size]
            answer = await self._ask(client, school_code, batch, purpose)
            asked = set(batch)
            for item in answer.items:
                if item.student_id in asked:
                    found[item.student_id] = Identifiers(item.national_id, item.birth_date)

    async def _ask(
        self,
        client: httpx.AsyncClient,
        school_code: str,
        batch: list[uuid.UUID],
        purpose: str,
    ) -> _Answer:
        request: dict[str, object] = {
            "school_code": school_code,
            "student_ids": [str(i) for i in batch],
            "purpose": purpose,
        }
        response = await self._post(client, request)
        if response.status_code == 401 and isinstance(self._tokens, ClientCredentials):
            # A cached token identity no longer accepts (its signing key rotated): one retry
            # with a fresh token.
            self._tokens.invalidate()
            response = await self._post(client, request)
        status = response.status_code
        if status >= 500 or status in _RETRYABLE_STATUSES:
            log.warning("identifiers.identity_failed", status=status)
            raise IdentityUnavailable(
                f"身分資料服務暫時無法提供學生身分資料（HTTP {status}），請稍後再試",
                detail={"status": status},
            )
        if status != 200:
            log.warning("identifiers.identity_rejected", status=status)
            raise IdentityRejected(f"身分資料服務拒絕讀取學生身分資料的請求（HTTP {status}）")
        try:
            return _Answer.model_validate_json(response.content)
        except ValidationError:
            # `from None`: the validation error would quote the values it could not read.
            raise IdentityUnavailable("身分資料服務的回應格式有誤") from None

    async def _post(self, client: httpx.AsyncClient, request: dict[str, object]) -> httpx.Response:
        try:
            token = await self._tokens.token()
        except ServiceTokenError as exc:
            raise IdentityUnavailable(
                "無法取得系統服務憑證，暫時無法讀取學生身分資料", detail=exc.detail
            ) from exc
        try:
            return await client.post(
                self.url, json=request, headers={"authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            log.warning("identifiers.identity_unreachable", error=type(exc).__name__)
            raise IdentityUnavailable("無法連線至身分資料服務，請稍後再試") from exc
