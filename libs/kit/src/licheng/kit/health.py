"""`/healthz` (the process is up) and `/readyz` (its dependencies answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 2.0


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


async def readiness(checks: Mapping[str, ReadinessCheck]) -> tuple[bool, dict[str, str]]:
    """Run every check at once; ready only when all answer ok."""
    names = list(checks)
    results = await asyncio.gather(*(_run_check(checks[name]) for name in names))
    report = dict(zip(names, results, strict=True))
    return all(result == "ok" for result in results), report


def health_router(service: str, checks: Callable[[], Mapping[str, ReadinessCheck]]) -> APIRouter:
    """Health endpoints; `checks` is read per request so it can follow the app's state."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="程序存活檢查")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz", summary="相依服務就緒檢查")
    async def readyz() -> JSONResponse:
        ready, report = await readiness(checks())
        body = {"status": "ok" if ready else "unavailable", "service": service, "checks": report}
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
