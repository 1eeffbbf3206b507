"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from packaged assets, so they work offline.

The pages load their scripts, style sheet and icon from `/docs/assets` on the service itself
(Swagger UI 5 and ReDoc as packaged by `fastapi-offline`), and Swagger UI's one inline script,
its initializer, runs by a per-response nonce: neither page's Content-Security-Policy names an
origin but the service's own.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS = "/docs"
REDOC = "/redoc"
ASSETS = "/docs/assets"
ASSET_DIR = Path(fastapi_offline.__file__).parent / "static"


def docs_policy(nonce: str) -> str:
    """The pages' Content-Security-Policy: this origin only, and the nonce'd initializer.
    ReDoc styles itself inline and renders in a blob: worker."""
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; worker-src 'self' blob:; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _with_nonce(page: HTMLResponse) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"content-security-policy": docs_policy(nonce)})


def install_docs(app: FastAPI) -> None:
    """Mount the assets at `/docs/assets` and serve `/docs` and `/redoc` from them."""
    app.mount(ASSETS, StaticFiles(directory=ASSET_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return _with_nonce(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title}: API",
                swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            )
        )

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return _with_nonce(
            get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title}: API",
                redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )
