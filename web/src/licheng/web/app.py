"""The portal people use (zh-TW), server-rendered; it talks only to the gateway."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from licheng.kit.errors import install_error_handlers
from licheng.kit.health import health_router
from licheng.kit.logging import RequestContextMiddleware, configure_logging
from licheng.kit.metrics import metrics_router
from licheng.web.settings import Settings

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the portal."""
    settings = settings or Settings()
    configure_logging(service="web", level=settings.log_level, json=settings.log_json)
    app = FastAPI(title="Licheng portal", openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="web")
    app.include_router(health_router("web", dict))
    app.include_router(metrics_router())

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "home.html", {"title": "學習歷程檔案"})

    return app
