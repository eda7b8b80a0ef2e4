"""Typed dependency aliases for the routers: settings, the session manager, the API key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.config import Settings
from service.sessions import SessionManager

_bearer = HTTPBearer(
    auto_error=False, description="Needed on upload, chat, delete when API_KEY is set"
)


# The dependencies are async on purpose: FastAPI runs a plain `def` dependency in the
# threadpool, and each hop costs more than the work these do.
async def get_manager(request: Request) -> SessionManager:
    """Return the app's session manager (built by create_app)."""
    return request.app.state.sessions


async def app_settings(request: Request) -> Settings:
    """Return the settings the app was built with (override this in tests to swap them)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
ManagerDep = Annotated[SessionManager, Depends(get_manager)]


async def require_api_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request with 401 unless API_KEY is unset or sent as a Bearer token."""
    if settings.api_key is None:
        return
    expected = settings.api_key.get_secret_value().encode()
    sent = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(sent, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong API key: send the header 'Authorization: Bearer <API_KEY>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


AuthDep = Depends(require_api_key)
