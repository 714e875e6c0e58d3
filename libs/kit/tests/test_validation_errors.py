"""A refused request body names its fields in zh-TW: pydantic's known errors in our wording, a
validator's own zh-TW text as it is, anything else (plain English) behind the generic wording."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from licheng.kit.errors import install_error_handlers
from licheng.kit.timeutil import AwareUtcDatetime


class Body(BaseModel):
    done: bool
    note: str | None = Field(default=None, max_length=10, validate_default=True)
    code: str | None = Field(default=None, validate_default=True)
    english: int = 0
    at: AwareUtcDatetime | None = None

    @field_validator("note")
    @classmethod
    def _note_when_not_done(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("done") is False and not value:
            raise PydanticCustomError("note_required", "未完成需填寫說明")
        return value

    @field_validator("code")
    @classmethod
    def _code_when_not_done(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("done") is False and value is None:
            raise ValueError("未完成需選擇代碼")
        return value

    @field_validator("english")
    @classmethod
    def _english(cls, value: int) -> int:
        if value == 13:
            raise ValueError("unlucky number")
        return value


class Whole(BaseModel):
    a: int = 0
    b: int = 0

    @model_validator(mode="after")
    def _sum(self) -> Whole:
        if self.a + self.b > 10:
            raise ValueError("兩數總和不可超過 10")
        return self


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def post_thing(body: Body) -> dict[str, bool]:
        return {"ok": True}

    @app.post("/wholes")
    async def post_whole(body: Whole) -> dict[str, bool]:
        return {"ok": True}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _by_field(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["field"]: d for d in body["detail"]}


async def test_a_validators_own_zh_tw_message_names_its_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"done": False})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "request_invalid"
    fields = _by_field(body)
    assert set(fields) == {"note", "code"}
    assert fields["note"]["type"] == "note_required"
    assert fields["note"]["message"] == "未完成需填寫說明（note）"
    # A ValueError's text, without pydantic's "Value error, " prefix.
    assert fields["code"]["type"] == "value_error"
    assert fields["code"]["message"] == "未完成需選擇代碼（code）"
    assert "Value error" not in body["message"]
    assert body["message"].startswith("請求格式不正確：")
    assert "未完成需填寫說明（note）" in body["message"]
    assert "未完成需選擇代碼（code）" in body["message"]


async def test_known_types_keep_our_wording_and_english_stays_generic(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/things",
        json={"note": "x" * 11, "english": 13, "at": "2026-09-01T08:00:00"},
    )
    assert response.status_code == 422
    body = response.json()
    fields = _by_field(body)
    assert fields["done"]["message"] == "done 為必填"
    assert fields["note"]["message"] == "note 過長"
    assert fields["at"]["message"].startswith("at 須包含時區")
    # A plain-English message (ours or pydantic's) is never shown to people.
    assert fields["english"]["message"] == "english 格式不正確"
    assert "unlucky" not in body["message"]
    assert fields["english"]["msg"] == "Value error, unlucky number"


async def test_a_model_level_message_is_the_whole_sentence(client: httpx.AsyncClient) -> None:
    response = await client.post("/wholes", json={"a": 6, "b": 6})
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "請求格式不正確：兩數總和不可超過 10"
    fine = await client.post("/wholes", json={"a": 1, "b": 2})
    assert fine.status_code == 200
    assert (await client.post("/things", json={"done": True})).status_code == 200
