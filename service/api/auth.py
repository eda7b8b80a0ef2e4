"""Refuse requests without the API key before their body is read."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.routing import matches
from service.deps import API_KEY_HINT, key_matches


def bearer_token(scope: Scope) -> str | None:
    """Return the request's `Authorization: Bearer` token (None without one)."""
    # The same reading as FastAPI's HTTPBearer, which require_api_key uses.
    scheme, token = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
    return token if scheme.lower() == "bearer" and token else None


class ApiKeyMiddleware:
    """Answer 401 to a request for a key-protected route that lacks the key, unread.

    require_api_key refuses the same requests, but a dependency runs only once FastAPI has
    read and parsed the body: a stranger's large body would be received in full first.
    """

    def __init__(self, app: ASGIApp, api_key: SecretStr, routes: Sequence[APIRoute]) -> None:
        self.app = app
        self.api_key = api_key
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse before calling receive(); pass everything else through."""
        if (
            scope["type"] == "http"
            and matches(self.routes, scope)
            and not key_matches(self.api_key, bearer_token(scope))
        ):
            response = JSONResponse(
                {"detail": API_KEY_HINT}, 401, headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
