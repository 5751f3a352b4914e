"""The web application: ``create_app()`` wires the routers, static files and error handlers.

Run it with ``uvicorn --factory hoso.main:create_app``. Routers:

- ``/api/v1/auth…``, ``/api/v1/orgs…``, ``/api/v1/people…`` — JSON API (OpenAPI at ``/docs``,
  document at ``/openapi.json``), errors as RFC 9457 ``application/problem+json``;
- ``/dang-nhap``, ``/dang-xuat``, ``/ho-so…`` — server-rendered pages in Vietnamese (English
  with ``?lang=en``), errors as an HTML page;
- ``/static/…`` — the stylesheet and the vendored ``htmx.min.js`` (no other host is contacted);
- ``/healthz`` — the process and its database answer.

Each request that touches data runs in one transaction (``hoso.auth.deps.get_session``),
committed before the response is sent; the exception-to-HTTP table is
:mod:`hoso.web.problems`.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from hoso.config import Settings, get_settings
from hoso.web import problems
from hoso.web.templating import STATIC_DIR

TITLE = "hoso — CSDLQG về CBCCVC"
DESCRIPTION = (
    "Hồ sơ điện tử cán bộ, công chức, viên chức: danh mục trường dữ liệu (TT 06/2023/TT-BNV, "
    "NĐ 27/2026/NĐ-CP), hồ sơ có lịch sử phiên bản, cơ cấu tổ chức, người dùng và phạm vi.\n\n"
    "Electronic dossiers of cadres, civil servants and public employees: the field catalogue, "
    "versioned dossiers, the organisation tree, users and scopes.\n\n"
    "Xác thực / Authentication: `Authorization: Bearer <token>` (POST /api/v1/auth/token) "
    "hoặc cookie `hoso_session` của trang web. Lỗi / Errors: RFC 9457 "
    "`application/problem+json`, tiếng Việt trong `title`/`detail`, tiếng Anh trong "
    "`title_en`/`detail_en`, từng trường trong `errors[]`."
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the outbox sender thread when the settings ask for it; stop it on shutdown."""
    settings: Settings = app.state.settings
    # Messages of 1,000 dossiers allocate hundreds of thousands of objects: with CPython's
    # default thresholds the collector walks the whole heap many times per message. The
    # long-lived start-up objects are frozen out of collection and young collections made
    # rarer (measured: about a fifth of the receiver's time; see docs/benchmarks.md).
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    stop = threading.Event()
    thread = None
    transport = None
    if settings.sender_enabled and settings.node_role in ("agency", "national", "all"):
        from hoso.db.engine import unit_of_work
        from hoso.exchange import sender
        from hoso.exchange.node import get_node

        node = get_node()
        app.state.node = node
        transport = sender.HttpTransport()
        thread = threading.Thread(
            target=sender.run,
            kwargs={
                "sessions": unit_of_work,
                "node": node,
                "transport": transport,
                "stop": stop,
                "idle": settings.sender_idle_seconds,
            },
            name="hoso-sender",
            daemon=True,
        )
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
        if transport is not None:
            transport.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI application for ``settings`` (the process settings by default)."""
    from hoso.approval.api import router as approval_router
    from hoso.auth.api import router as auth_router
    from hoso.exchange.api import corrections_router
    from hoso.exchange.api import router as exchange_router
    from hoso.orgs.api import router as orgs_router
    from hoso.people.api import router as people_api_router
    from hoso.people.views import router as people_pages
    from hoso.population.api import router as population_api
    from hoso.population.views import router as population_pages
    from hoso.quality.api import router as quality_api
    from hoso.quality.views import router as quality_pages
    from hoso.web.views import health_router
    from hoso.web.views import router as site_pages

    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title=TITLE,
        description=DESCRIPTION,
        version="0.1.0",
        docs_url=None,  # served below from the vendored Swagger UI, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
    )
    app.state.settings = settings
    problems.install(app)
    app.include_router(auth_router)
    app.include_router(orgs_router)
    app.include_router(people_api_router)
    app.include_router(approval_router)
    app.include_router(exchange_router)
    app.include_router(corrections_router)
    app.include_router(health_router)
    app.include_router(site_pages)
    app.include_router(people_pages)
    app.include_router(quality_pages)
    app.include_router(quality_api)
    app.include_router(population_pages)
    app.include_router(population_api)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def swagger_ui() -> HTMLResponse:
        """Interactive API documentation (Swagger UI from ``/static/swagger-ui``)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} — API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
        )

    return app
