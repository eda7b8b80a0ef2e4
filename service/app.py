"""Build the FastAPI application: routers, middleware, error handlers, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from service.api import chat, documents, health, notes, page, sessions
from service.api.auth import ApiKeyMiddleware
from service.api.headers import SecurityHeadersMiddleware
from service.api.limits import BodyLimitMiddleware
from service.api.routing import depends_on, select, takes_files
from service.config import Settings, get_settings
from service.deps import require_api_key
from service.errors import ServiceError, storage_failure
from service.logging import RequestLogMiddleware, configure_logging, request_id_var
from service.runtime import Runtime

if TYPE_CHECKING:
    from service.aws import AwsContext

log = logging.getLogger("service")
STATIC = Path(__file__).resolve().parent / "static"
ROUTERS = (
    health.router,
    page.router,
    notes.router,
    documents.router,
    chat.router,
    sessions.router,
)


def _describe(error: dict) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
    if error.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    where = ".".join(loc)
    return f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        if exc.status_code >= 500:
            log.warning("request failed", extra={"error": str(exc), "status": exc.status_code})
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette spools a large multipart body to TMPDIR before the app sees it; a full
        # disk there surfaces as a 400 "error parsing the body", which blames the client.
        if isinstance(exc.__cause__, OSError):
            err = storage_failure(exc.__cause__, "receive the upload")
            return JSONResponse({"detail": str(err)}, status_code=err.status_code)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = list(exc.errors())
        detail = "; ".join(dict.fromkeys(_describe(e) for e in errs)) or "invalid request"
        simple = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in errs
        ]
        return JSONResponse({"detail": detail, "errors": simple}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = getattr(request.state, "request_id", None) or request_id_var.get()
        log.exception("unhandled error", extra={"request_id": rid})
        return JSONResponse(
            {"detail": f"internal error; quote request id {rid} when reporting it"},
            status_code=500,
        )


class ServiceApp(FastAPI):
    """The service's FastAPI: request ids and security headers wrap every response."""

    def build_middleware_stack(self) -> ASGIApp:
        """Return Starlette's stack (its outermost layer answers 500s) inside those two."""
        # Starlette keeps its 500 handler outside every added middleware, so a middleware
        # added the usual way never sees the 500 response it sends.
        docs = (self.docs_url, self.redoc_url, self.swagger_ui_oauth2_redirect_url)
        served = [path for path in docs if path and self.openapi_url]
        stack = super().build_middleware_stack()
        return RequestLogMiddleware(SecurityHeadersMiddleware(stack, served))


def create_app(
    settings: Settings | None = None,
    aws: AwsContext | None = None,
    *,
    load_on_start: bool = True,
) -> FastAPI:
    """Return the service app for `settings` (default: read from the environment once).

    `aws` is where the S3 and DynamoDB stores go (default: the context the settings name);
    tests and chapter 11 pass an emulator's. With `load_on_start=False` the lifespan leaves
    the background loading to the caller (`app.state.runtime.start()`).
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    runtime = Runtime(settings, aws or settings.aws_context())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("starting", extra={"settings": settings.summary()})
        if load_on_start:
            runtime.start()
        try:
            yield
        finally:
            runtime.stop()
            log.info("stopped")

    docs = settings.docs_enabled
    app = ServiceApp(
        title="ECS workbook RAG service",
        version=health.service_version(),
        summary="Upload documents, ask questions, get answers with citations.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_error_handlers(app)
    # Each add_middleware wraps the ones added before it. From the outside in: CORS answers
    # preflights and labels refusals, the key is checked before any byte of the body is
    # read, and only then is the body counted against its limit.
    slack = 1024 * 1024  # multipart framing and form fields
    app.add_middleware(
        BodyLimitMiddleware,
        json_bytes=settings.max_json_kb * 1024,
        upload_bytes=settings.max_upload_bytes * settings.max_files + slack,
        upload_routes=select(ROUTERS, takes_files),
    )
    if settings.api_key is not None:
        app.add_middleware(
            ApiKeyMiddleware,
            api_key=settings.api_key,
            routes=select(ROUTERS, depends_on(require_api_key)),
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    return app
