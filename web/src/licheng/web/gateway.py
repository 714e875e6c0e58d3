"""Calling the API through the gateway with the signed-in person's token.

The portal never talks to a service directly. An answer the API refuses (4xx) becomes an
`ApiRefused` carrying the API's own zh-TW message and code, which the pages show next to what
it concerns or as an error page; a 401 sends the person to sign in again.
"""

from __future__ import annotations

from typing import Any

import httpx


class ApiRefused(Exception):
    """The API said no (4xx/5xx): its status, stable code, zh-TW message and detail."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        self.code = str(body.get("error") or "error")
        self.message = str(body.get("message") or _FALLBACK.get(self.status, "系統暫時無法處理"))
        self.detail: Any = body.get("detail")
        super().__init__(f"{self.status} {self.code}")


_FALLBACK = {
    401: "登入已逾時，請重新登入",
    403: "您沒有使用此功能的權限",
    404: "找不到指定的資料",
    409: "資料狀態已改變，請重新整理後再試",
    423: "資料已鎖定，無法修改",
    429: "使用人數眾多，請稍候再試",
    503: "系統暫時無法使用，請稍候再試",
}


class GatewayApi:
    """The API as one signed-in person sees it."""

    def __init__(self, http: httpx.AsyncClient, *, token: str, request_id: str | None) -> None:
        self._http = http
        self._headers = {"authorization": f"Bearer {token}"}
        if request_id:
            self._headers["x-request-id"] = request_id

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw answer (for downloads and statuses the page handles itself)."""
        headers = {**self._headers, **kwargs.pop("headers", {})}
        return await self._http.request(method, path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of a successful call; ApiRefused otherwise."""
        response = await self.call(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiRefused(response)
        return response.json() if response.content else None

    async def get(self, path: str, **kwargs: Any) -> Any:
        """GET → JSON."""
        return await self.json("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        """POST → JSON."""
        return await self.json("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        """PUT → JSON."""
        return await self.json("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        """PATCH → JSON."""
        return await self.json("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE → JSON (or None)."""
        return await self.json("DELETE", path, **kwargs)
