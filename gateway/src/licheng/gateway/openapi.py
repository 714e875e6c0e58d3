"""One OpenAPI document for the whole suite, merged from every service's own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import structlog

from licheng.kit.errors import ErrorBody

log = structlog.get_logger("licheng.gateway.openapi")

FETCH_TIMEOUT_SECONDS = 5.0


async def _fetch(client: httpx.AsyncClient, service: str, base_url: str) -> dict[str, Any] | None:
    try:
        response = await client.get(f"{base_url}/openapi.json", timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError):
        log.warning("openapi.unavailable", upstream=service)
        return None
    return document if isinstance(document, dict) else None


def _with_refs_renamed(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: renames.get(value, value)
            if key == "$ref" and isinstance(value, str)
            else _with_refs_renamed(value, renames)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_with_refs_renamed(item, renames) for item in node]
    return node


def _without_collisions(
    document: dict[str, Any], service: str, merged: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Rename the service's components that another service already defines differently.

    Renaming one component changes every component that refers to it (a `Page_ClassStatus_`
    wrapping a renamed `ClassStatus`): those then differ from the merged ones of the same name
    too, and are renamed in turn, until nothing the service defines would overwrite another's.
    """
    clashes: set[tuple[str, str]] = set()
    while True:
        renamed: dict[str, Any] = _with_refs_renamed(
            document,
            {
                f"#/components/{section}/{name}": f"#/components/{section}/{service}__{name}"
                for section, name in clashes
            },
        )
        more = {
            (section, name)
            for section, entries in renamed.get("components", {}).items()
            for name, value in entries.items()
            if (section, name) not in clashes
            and name in merged.get(section, {})
            and merged[section][name] != value
        }
        if not more:
            break
        clashes |= more
    for section, name in clashes:
        entries = renamed["components"][section]
        entries[f"{service}__{name}"] = entries.pop(name)
    return renamed


# What the gateway itself may answer on any proxied operation, before or instead of the service.
_GATEWAY_ANSWERS: dict[str, str] = {
    "429": "請求過於頻繁（rate_limited；附 Retry-After）",
    "503": "服務暫時無法使用（service_unavailable；附 Retry-After）",
    "504": "服務回應逾時（upstream_timeout）",
}
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_GATEWAY_BODY_ANSWER = ("413", "請求內容超過此路徑的大小上限（payload_too_large）")


def _with_gateway_answers(paths: dict[str, Any], components: dict[str, dict[str, Any]]) -> None:
    """Declare the gateway's own answers (rate limit, timeout, body size) on every operation."""
    components.setdefault("schemas", {}).setdefault("ErrorBody", ErrorBody.model_json_schema())
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    for item in paths.values():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            answers = dict(_GATEWAY_ANSWERS)
            if "requestBody" in operation:
                answers.setdefault(*_GATEWAY_BODY_ANSWER)
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": schema}},
                    },
                )


async def merged_openapi(client: httpx.AsyncClient, upstreams: Mapping[str, str]) -> dict[str, Any]:
    """Merge the services' documents; a service that is down is listed, not fatal."""
    services = list(upstreams)
    documents = await asyncio.gather(
        *(_fetch(client, service, upstreams[service]) for service in services)
    )
    return merge_documents(dict(zip(services, documents, strict=True)))


def merge_documents(documents: Mapping[str, dict[str, Any] | None]) -> dict[str, Any]:
    """One document from the services' own (None: the service did not answer), in order."""
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    unavailable: list[str] = []
    for service, document in documents.items():
        if document is None:
            unavailable.append(service)
            continue
        # Two services' models may share a name (FastAPI names schemas by class); merging them
        # blindly would let one silently describe the other's endpoints.
        document = _without_collisions(document, service, components)
        for path, item in document.get("paths", {}).items():
            if path.startswith("/api/"):
                paths[path] = item
        for section, entries in document.get("components", {}).items():
            components.setdefault(section, {}).update(entries)
    _with_gateway_answers(paths, components)
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    description = "Licheng (歷程) API, merged from every service."
    if unavailable:
        description += " Unavailable now: " + ", ".join(unavailable) + "."
    return {
        "openapi": "3.1.0",
        "info": {"title": "Licheng API", "version": "0.1.0", "description": description},
        "paths": dict(sorted(paths.items())),
        "components": components,
        "security": [{"bearer": []}],
    }
