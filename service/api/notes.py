"""Serve the notes library read-only, so a citation opens its note at the cited section."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.api.health import service_version
from service.api.page import templates
from service.deps import SettingsDep
from service.notes import NOTES_ROUTE, note_names, note_page

router = APIRouter(tags=["notes"])


def _listing(
    request: Request, names: list[str], missing: str | None = None, status_code: int = 200
) -> HTMLResponse:
    return templates().TemplateResponse(
        request,
        "notes.html",
        {"names": names, "missing": missing, "route": NOTES_ROUTE, "version": service_version()},
        status_code=status_code,
    )


@router.get(NOTES_ROUTE, response_class=HTMLResponse, include_in_schema=False)
def notes(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Return the list of the library's notes, each linking to its page."""
    return _listing(request, note_names(settings.library_dir))


@router.get(NOTES_ROUTE + "/{name:path}", response_class=HTMLResponse, include_in_schema=False)
def note(request: Request, name: str, settings: SettingsDep) -> HTMLResponse:
    """Return one note as HTML, every heading with an anchor; 404 for any other name."""
    page = note_page(settings.library_dir, name) if name else None
    if page is None:
        names = note_names(settings.library_dir)
        if not name:  # "/notes/": the list, as at "/notes"
            return _listing(request, names)
        return _listing(request, names, missing=name, status_code=404)
    return templates().TemplateResponse(
        request,
        "note.html",
        {
            "name": name,
            "title": page.title or name,
            "content": page.html,
            "route": NOTES_ROUTE,
            "version": service_version(),
        },
    )
