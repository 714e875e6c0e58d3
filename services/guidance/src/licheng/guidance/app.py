"""The guidance service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.guidance.audit import router as audit_router
from licheng.guidance.counseling.router import router as counseling_router
from licheng.guidance.lookup.router import router as lookup_router
from licheng.guidance.models import CounselingAttachment, WritingVersion
from licheng.guidance.parameters.router import router as parameters_router
from licheng.guidance.settings import Settings
from licheng.guidance.writings.router import router as writings_router
from licheng.kit.object_sweep import ObjectReference
from licheng.kit.roster import roster_consumer
from licheng.kit.service import ServiceDefinition, create_service_app

ROSTER_DURABLE = "guidance-roster"
# A record's current attachment, and the PDF of every kept 自傳/學習計畫 version (the history
# shows each one, so none of those is ever swept).
OBJECT_REFERENCES = (
    ObjectReference(CounselingAttachment.object_key),
    ObjectReference(WritingVersion.file_key),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the guidance service."""
    return create_service_app(
        ServiceDefinition(
            name="guidance",
            title="Licheng guidance: 課程諮詢 records, 自傳 and 學習計畫",
            settings=settings or Settings(),
            idempotency=True,
            event_stream="guidance",
            streams=("identity",),
            routers=[
                audit_router,
                counseling_router,
                lookup_router,
                parameters_router,
                writings_router,
            ],
            consumers=[roster_consumer(durable=ROSTER_DURABLE)],
            object_references=OBJECT_REFERENCES,
        )
    )
