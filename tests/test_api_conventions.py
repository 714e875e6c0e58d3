"""API conventions every service keeps, read from each service's own OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from licheng.course_outcomes.app import create_app as create_course_outcomes
from licheng.course_outcomes.settings import Settings as CourseSettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.settings import Settings as IdentitySettings

WRITE_METHODS = {"post", "put", "patch", "delete"}


def _apps() -> dict[str, FastAPI]:
    return {
        "identity": create_identity(IdentitySettings(environment="test")),
        "course-outcomes": create_course_outcomes(CourseSettings(environment="test")),
    }


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return [
        (path, method, operation)
        for path, methods in paths.items()
        if path.startswith("/api/")
        for method, operation in methods.items()
    ]


@pytest.mark.parametrize("service", ["identity", "course-outcomes"])
def test_every_endpoint_declares_its_error_answers(service: str) -> None:
    app = _apps()[service]
    operations = _operations(app)
    assert len(operations) > 10
    for path, method, operation in operations:
        responses = operation["responses"]
        for status in ("401", "403", "404", "422"):
            assert status in responses, f"{method.upper()} {path} does not declare {status}"
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
        if method in WRITE_METHODS:
            assert "409" in responses, f"{method.upper()} {path} does not declare 409"


def test_uploads_and_locked_terms_are_declared_where_they_happen() -> None:
    operations = {(m, p): o for p, m, o in _operations(_apps()["course-outcomes"])}
    upload = operations[
        ("put", "/api/course-outcomes/v1/schools/{school_code}/outcomes/{outcome_id}/files/{slot}")
    ]
    assert {"413", "415", "423"} <= set(upload["responses"])
    body = _apps()["course-outcomes"].openapi()["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"error", "message", "detail"}


# Lists bounded by a rule rather than by the school's size answer a plain array: a student's
# own courses and outcomes of one term (at most the term's upload cap, ≤ 100).
BOUNDED_LISTS = {
    "/api/course-outcomes/v1/schools/{school_code}/me/courses",
    "/api/course-outcomes/v1/schools/{school_code}/me/outcomes",
}


@pytest.mark.parametrize("service", ["identity", "course-outcomes"])
def test_every_list_is_cursor_paginated(service: str) -> None:
    app = _apps()[service]
    schemas = app.openapi()["components"]["schemas"]
    for path, method, operation in _operations(app):
        if method != "get" or path in BOUNDED_LISTS:
            continue
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        schema = ok.get("schema", {})
        assert schema.get("type") != "array", f"GET {path} answers a bare list"
        ref = schema.get("$ref", "")
        if ref.split("/")[-1].startswith("Page_"):
            page = schemas[ref.split("/")[-1]]
            assert set(page["properties"]) == {"items", "next_cursor", "total"}
            names = {p["name"] for p in operation.get("parameters", [])}
            assert {"limit", "cursor"} <= names, f"GET {path} pages without limit/cursor"
