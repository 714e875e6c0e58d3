"""`/api/docs`: Swagger UI on the merged API document, every file served from here (no CDN)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi.responses import FileResponse, HTMLResponse

from licheng.kit.errors import NotFound

SWAGGER_FILES = importlib.resources.files("fastapi_offline") / "static"
OWN_FILES = Path(__file__).parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": ("text/javascript", SWAGGER_FILES / "swagger-ui-bundle.js"),
    "swagger-ui.css": ("text/css", SWAGGER_FILES / "swagger-ui.css"),
    "favicon.png": ("image/png", SWAGGER_FILES / "favicon.png"),
    "docs-init.js": ("text/javascript", OWN_FILES / "docs-init.js"),
}
PAGE = """<!doctype html>
<html lang="zh-Hant">
<head>
  <meta charset="utf-8">
  <title>Licheng API</title>
  <link rel="icon" href="/api/docs/static/favicon.png">
  <link rel="stylesheet" href="/api/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/static/swagger-ui-bundle.js"></script>
  <script src="/api/docs/static/docs-init.js"></script>
</body>
</html>
"""


def docs_page() -> HTMLResponse:
    """The Swagger UI page."""
    return HTMLResponse(PAGE)


def docs_asset(name: str) -> FileResponse:
    """One of the page's files; 404 for anything else."""
    found = ASSETS.get(name)
    if found is None:
        raise NotFound("找不到此檔案", code="not_found")
    media_type, path = found
    return FileResponse(
        str(path), media_type=media_type, headers={"cache-control": "public, max-age=86400"}
    )
