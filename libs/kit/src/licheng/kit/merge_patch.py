"""JSON merge patch (RFC 7396) onto a stored record, validated as a whole.

A `PATCH` sends only what changes: `null` clears a nullable field, a nested object merges key
by key (`null` there removes the key), anything else replaces. The merged result is validated
with the full model, so a patch can never leave a record that a full `PUT` would refuse; every
refusal is a 422 naming its field (the kit's validation handler words it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def _merge_object(current: Mapping[str, Any], patch: Mapping[Any, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in patch.items():
        name = getattr(key, "value", key)  # enum keys (e.g. FileKind) patch by their value
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def apply_merge_patch(
    current: Mapping[str, Any],
    sent: Mapping[str, Any],
    *,
    model: type[M],
    nullable: Collection[str],
) -> M:
    """`current` (every field of `model`) with the `sent` fields patched in, as a valid `model`."""
    cleared = sorted(k for k, v in sent.items() if v is None and k not in nullable)
    if cleared:
        raise RequestValidationError(
            [{"type": "null_not_allowed", "loc": ("body", k), "msg": "此欄位不可設為 null",
              "input": None} for k in cleared]
        )  # fmt: skip
    merged = dict(current)
    for key, value in sent.items():
        existing = merged.get(key)
        if isinstance(existing, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge_object(existing, value)
        else:
            merged[key] = value
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc
