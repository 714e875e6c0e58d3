"""Prometheus metrics shared by every service, and the `/metrics` endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "licheng_http_requests_total",
    "HTTP requests answered",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "licheng_http_request_duration_seconds",
    "HTTP request duration",
    ["service", "method", "route"],
)
OUTBOX_PUBLISHED = Counter(
    "licheng_outbox_published_total", "Outbox events published to JetStream", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "licheng_outbox_publish_failures_total", "Failed outbox publish attempts", ["service"]
)
OUTBOX_DEAD_LETTERED = Counter(
    "licheng_outbox_dead_lettered_total",
    "Outbox rows set aside after failing every attempt (their error kept for an operator)",
    ["service"],
)
OUTBOX_PRUNED = Counter(
    "licheng_outbox_pruned_total",
    "Published outbox rows deleted after the retention period",
    ["service"],
)
OBJECTS_SWEPT = Counter(
    "licheng_objects_swept_total",
    "Objects removed from S3 a grace period after no row referenced them",
    ["service"],
)
EVENTS_HANDLED = Counter(
    "licheng_events_handled_total",
    "Events taken by a consumer, by outcome (applied, duplicate, retried, dead_lettered)",
    ["consumer", "outcome"],
)


def metrics_router() -> APIRouter:
    """`GET /metrics` in the Prometheus text format."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
