"""Pick the app's routes by what they declare, and match a request to them before routing.

The middlewares that act before a body is read (the API-key gate, the body limits) use these,
so the routes stay the one place that says which of them need the key or take files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import BaseRoute, Match
from starlette.types import Scope


def _calls(dependant: Dependant, dependency: Callable[..., Any]) -> bool:
    return any(sub.call is dependency or _calls(sub, dependency) for sub in dependant.dependencies)


def depends_on(dependency: Callable[..., Any]) -> Callable[[APIRoute], bool]:
    """Return a test of whether a route depends on `dependency` (directly or through others)."""
    return lambda route: _calls(route.dependant, dependency)


def takes_files(route: APIRoute) -> bool:
    """Say whether the route's body is a form (multipart uploads)."""
    return route.body_field is not None and isinstance(route.body_field.field_info, params.Form)


def select(routers: Iterable[APIRouter], test: Callable[[APIRoute], bool]) -> tuple[APIRoute, ...]:
    """Return the API routes of `routers` (included without a prefix) that pass `test`."""
    # The routers' own routes, not app.routes: FastAPI may nest an included router's routes
    # inside one entry of app.routes instead of copying them there.
    routes = (r for router in routers for r in router.routes)
    return tuple(r for r in routes if isinstance(r, APIRoute) and test(r))


def matches(routes: Iterable[BaseRoute], scope: Scope) -> bool:
    """Say whether the request is for one of `routes` (path and method)."""
    return any(route.matches(scope)[0] is Match.FULL for route in routes)
