"""Batch certification: one decision for several outcomes, each reported on its own.

Every outcome is decided in its own savepoint, so one refusal (already decided, window closed,
not the caller's) never undoes the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.certification.schemas import (
    BATCH_LIMIT,
    BatchDecision,
    BatchItemResult,
    BatchResult,
)
from licheng.course_outcomes.models import OutcomeStatus
from licheng.course_outcomes.outcomes import repository, service
from licheng.course_outcomes.outcomes.repository import OutcomeFilter, OutcomeSort
from licheng.kit.errors import AppError
from licheng.kit.pagination import PageParams


async def _chosen(
    session: AsyncSession, school_code: str, batch: BatchDecision, acting_for: Collection[uuid.UUID]
) -> list[uuid.UUID]:
    if batch.outcome_ids:
        return list(dict.fromkeys(batch.outcome_ids))
    where = OutcomeFilter(
        statuses=[OutcomeStatus.SUBMITTED],
        certifier_ids=acting_for,
        class_codes=[batch.class_code] if batch.class_code is not None else None,
        section_id=batch.section_id,
    )
    outcomes, _ = await repository.find_outcomes(
        session,
        school_code,
        where,
        PageParams(offset=0, limit=BATCH_LIMIT),
        sort=OutcomeSort.SUBMITTED_AT,
    )
    return [o.id for o in outcomes]


async def decide_many(
    session: AsyncSession,
    *,
    school_code: str,
    teacher_id: uuid.UUID,
    acting_for: Collection[uuid.UUID],
    batch: BatchDecision,
) -> BatchResult:
    """Apply one decision to each chosen outcome; report each result."""
    results: list[BatchItemResult] = []
    for outcome_id in await _chosen(session, school_code, batch, acting_for):
        outcome = await repository.get_outcome(session, school_code, outcome_id)
        if outcome is None or outcome.certifier_id not in acting_for:
            results.append(
                BatchItemResult(outcome_id=outcome_id, ok=False, status=None,
                                error="outcome_not_found", message="找不到此課程學習成果")
            )  # fmt: skip
            continue
        try:
            async with session.begin_nested():
                await service.decide(
                    session,
                    outcome=outcome,
                    teacher_id=teacher_id,
                    decision=batch,
                    acting_for=acting_for,
                )
        except AppError as refused:
            await session.refresh(outcome)
            results.append(
                BatchItemResult(outcome_id=outcome_id, ok=False, status=outcome.status.value,
                                version=outcome.version, error=refused.error_code,
                                message=refused.message)
            )  # fmt: skip
            continue
        results.append(
            BatchItemResult(outcome_id=outcome_id, ok=True, status=outcome.status.value,
                            version=outcome.version)
        )  # fmt: skip
    succeeded = sum(1 for r in results if r.ok)
    return BatchResult(succeeded=succeeded, failed=len(results) - succeeded, results=results)
