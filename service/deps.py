"""Typed dependency aliases for the routers: settings, the service's parts, the API key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from service.chat import ChatService
from service.config import Settings
from service.runtime import Runtime
from service.sessions import SessionStore
from service.uploads import Uploads

_bearer = HTTPBearer(
    auto_error=False,
    description="Needed on upload, chat, session create, history and delete when API_KEY is set",
)
API_KEY_HINT = "missing or wrong API key: send the header 'Authorization: Bearer <API_KEY>'"


# The dependencies are async on purpose: FastAPI runs a plain `def` dependency in the
# threadpool, and each hop costs more than the work these do.
async def get_runtime(request: Request) -> Runtime:
    """Return the app's parts (built by create_app)."""
    return request.app.state.runtime


async def get_sessions(request: Request) -> SessionStore:
    """Return the app's session store."""
    return request.app.state.runtime.sessions


async def get_chat(request: Request) -> ChatService:
    """Return the app's chat service."""
    return request.app.state.runtime.chat


async def get_uploads(request: Request) -> Uploads:
    """Return the app's upload indexer."""
    return request.app.state.runtime.uploads


async def app_settings(request: Request) -> Settings:
    """Return the settings the app was built with (override this in tests to swap them)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
UploadsDep = Annotated[Uploads, Depends(get_uploads)]


def key_matches(api_key: SecretStr, sent: str | None) -> bool:
    """Say whether `sent` is the API key (compared in constant time)."""
    return hmac.compare_digest((sent or "").encode(), api_key.get_secret_value().encode())


async def require_api_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request with 401 unless API_KEY is unset or sent as a Bearer token."""
    if settings.api_key is None:
        return
    if not key_matches(settings.api_key, credentials.credentials if credentials else None):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, API_KEY_HINT, headers={"WWW-Authenticate": "Bearer"}
        )


AuthDep = Depends(require_api_key)
