"""Liveness and readiness probes."""

from __future__ import annotations

import importlib.metadata
from functools import cache

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service.api.schemas import HealthOut, ReadyOut
from service.deps import RuntimeDep

router = APIRouter(tags=["health"])


@cache
def service_version() -> str:
    """Return the installed package version."""
    try:
        return importlib.metadata.version("ecs-workbook")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"


@router.get("/health", response_model=HealthOut)
async def health(request: Request) -> HealthOut:
    """Say the process is alive (no dependency is checked: the ALB health check hits this)."""
    # async and no Depends: answered on the event loop, no worker thread per probe.
    settings = request.app.state.settings
    return HealthOut(version=settings.app_version or service_version(), commit=settings.git_sha)


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Say whether the library is indexed and the stores answer (503 until they do)."""
    checks = await run_in_threadpool(runtime.checks)
    ok = runtime.is_ready(checks)
    body = ReadyOut(ready=ok, checks=checks).model_dump()
    return JSONResponse(body, status_code=200 if ok else 503)
