"""Refuse request bodies larger than their limit, before they are parsed.

Multipart uploads to the routes that take files may carry MAX_UPLOAD_MB x MAX_FILES; every
other body (JSON, forms, anything sent to a JSON route) gets the small MAX_JSON_KB.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.routing import matches


class _TooLarge(Exception):
    pass


def _too_large(limit: str) -> JSONResponse:
    return JSONResponse({"detail": f"request body larger than {limit}"}, 413)


class BodyLimitMiddleware:
    """Answer 413 when a body exceeds its limit (declared or actually streamed)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        json_bytes: int,
        upload_bytes: int,
        upload_routes: Sequence[APIRoute],
    ) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes
        self.upload_routes = upload_routes
        mb, kb = upload_bytes / (1024 * 1024), json_bytes / 1024
        self._upload_413 = _too_large(f"{mb:.1f} MB (MAX_UPLOAD_MB x MAX_FILES)")
        self._json_413 = _too_large(f"{kb:g} KB (MAX_JSON_KB)")

    def _limit(self, scope: Scope) -> tuple[int, JSONResponse]:
        """Return the request's limit in bytes and the answer to a body over it."""
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        if multipart and matches(self.upload_routes, scope):
            return self.upload_bytes, self._upload_413
        return self.json_bytes, self._json_413

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length, then count streamed bytes (chunked bodies declare none)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, reject = self._limit(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await reject(scope, receive, send)
            return
        seen = 0
        exceeded = started = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # The app turned our exception into its own error (FastAPI answers 400 to a
                # body it could not parse): answer 413 instead and drop the app's response.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await reject(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not started:
                started = True
                await reject(scope, receive, send)
