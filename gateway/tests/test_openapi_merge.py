"""The merged OpenAPI document: each service's operations keep their own models, and every
operation declares what the gateway itself may answer."""

from __future__ import annotations

from typing import Any

from licheng.course_outcomes.app import create_app as create_course_outcomes
from licheng.course_outcomes.settings import Settings as CourseSettings
from licheng.gateway.openapi import merge_documents
from licheng.performances.app import create_app as create_performances
from licheng.performances.settings import Settings as PerformancesSettings

METHODS = ("get", "put", "post", "patch", "delete")


def _documents() -> dict[str, dict[str, Any] | None]:
    # Both services name models alike (ClassStatus, StudentStatus, Page_ClassStatus_, …).
    return {
        "course-outcomes": create_course_outcomes(CourseSettings(environment="test")).openapi(),
        "performances": create_performances(PerformancesSettings(environment="test")).openapi(),
    }


def _resolved(node: Any, document: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """`node` with every `$ref` into `document` replaced by what it names."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return {"$ref": "(recursive)"}
            target = document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            return _resolved(target, document, seen | {ref})
        return {key: _resolved(value, document, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(item, document, seen) for item in node]
    return node


def test_each_service_keeps_its_own_models_when_names_clash() -> None:
    documents = _documents()
    merged = merge_documents(documents)
    compared = 0
    for own in documents.values():
        assert own is not None
        for path, item in own["paths"].items():
            if not path.startswith("/api/"):
                continue
            for method in METHODS:
                if method not in item:
                    continue
                for status, answer in item[method]["responses"].items():
                    mine = _resolved(answer.get("content"), own)
                    theirs = _resolved(
                        merged["paths"][path][method]["responses"][status].get("content"), merged
                    )
                    assert theirs == mine, f"{method.upper()} {path} {status}"
                    compared += 1
                body = item[method].get("requestBody")
                if body is not None:
                    merged_body = merged["paths"][path][method]["requestBody"]
                    assert _resolved(merged_body, merged) == _resolved(body, own), path
    assert compared > 100
    # The clash that was wrong: course outcomes' class status page wrapped performances' model.
    schemas = merged["components"]["schemas"]
    assert "performances__ClassStatus" in schemas
    assert "performances__Page_ClassStatus_" in schemas


def test_every_operation_declares_the_gateways_own_answers() -> None:
    merged = merge_documents({**_documents(), "guidance": None})
    assert "Unavailable now: guidance." in merged["info"]["description"]
    operations = [
        operation
        for item in merged["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) > 50
    for operation in operations:
        responses = operation["responses"]
        assert {"429", "503", "504"} <= set(responses), operation["operationId"]
        if "requestBody" in operation:
            assert "413" in responses, operation["operationId"]
        schema = responses["429"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(merged["components"]["schemas"]["ErrorBody"]["properties"]) == {
        "error",
        "message",
        "detail",
    }
