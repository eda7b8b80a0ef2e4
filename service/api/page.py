"""Serve the chat page."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from service.api.health import service_version
from service.deps import SettingsDep

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

router = APIRouter(tags=["page"])
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"


@cache
def templates() -> Jinja2Templates:
    """Return the page templates (the chat page's and the notes')."""
    from fastapi.templating import Jinja2Templates  # jinja2 loads on the first page view

    return Jinja2Templates(directory=TEMPLATES)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Return the chat page (upload, ask, answers with citations)."""
    return templates().TemplateResponse(
        request,
        "index.html",
        {
            "auth_required": settings.api_key is not None,
            "max_upload_mb": settings.max_upload_mb,
            "max_files": settings.max_files,
            "max_message_chars": settings.max_message_chars,
            "version": service_version(),
        },
    )


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    """Return the page's icon (browsers ask for /favicon.ico whatever the page links)."""
    return FileResponse(FAVICON, media_type="image/svg+xml")
