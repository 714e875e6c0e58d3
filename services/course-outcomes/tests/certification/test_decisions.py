"""Concurrent 認證 decisions and a double 送審: one winner each, the other answers 409."""

from __future__ import annotations

import asyncio
from typing import Any


async def test_concurrent_decisions_and_double_submit_have_one_winner(term: Any) -> None:
    outcome = await term.new_outcome()
    submits = await asyncio.gather(term.submit(outcome["id"]), term.submit(outcome["id"]))
    assert sorted(r.status_code for r in submits) == [200, 409]
    decisions = await asyncio.gather(
        term.decide(outcome["id"], {"certified": True}),
        term.decide(
            outcome["id"],
            {"certified": False, "reason_code": "02", "explanation": "無法查證"},
        ),
    )
    assert sorted(r.status_code for r in decisions) == [200, 409]
    conflict = next(r for r in decisions if r.status_code == 409)
    assert conflict.json()["error"] == "not_certifiable"
