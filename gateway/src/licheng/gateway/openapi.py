"""One OpenAPI document for the whole suite, merged from every service's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import structlog

log = structlog.get_logger("licheng.gateway.openapi")


async def merged_openapi(client: httpx.AsyncClient, upstreams: Mapping[str, str]) -> dict[str, Any]:
    """Merge the services' documents; a service that is down is listed, not fatal."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    unavailable: list[str] = []
    for service, base_url in upstreams.items():
        try:
            response = await client.get(f"{base_url}/openapi.json", timeout=5.0)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError):
            log.warning("openapi.unavailable", upstream=service)
            unavailable.append(service)
            continue
        for path, item in document.get("paths", {}).items():
            if path.startswith("/api/"):
                paths[path] = item
        schemas.update(document.get("components", {}).get("schemas", {}))
    description = "Licheng (歷程) API, merged from every service."
    if unavailable:
        description += " Unavailable now: " + ", ".join(unavailable) + "."
    return {
        "openapi": "3.1.0",
        "info": {"title": "Licheng API", "version": "0.1.0", "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
