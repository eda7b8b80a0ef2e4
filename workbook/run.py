"""`make run`: the stack on emulated AWS, the RAG service answering, every chapter executed."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from deploy import present, stack
from deploy.aws.backend import start_backend
from deploy.aws.names import DEFAULT_NAMES
from service.server import serve_in_thread, wait_http

QUESTIONS = (
    "How does the ECS deployment circuit breaker decide to roll back?",
    "Why does a curl health check fail on python:3.12-slim, and what works instead?",
    "What does one 1 vCPU / 8 GB Fargate task cost per month?",
    "Why must the deploy workflow check the CI run's conclusion?",
    "What does the deregistration delay really control?",
)


def build_stack(console: Console) -> bool:
    """Apply the guide's stack on the embedded moto backend and print what exists."""
    backend = start_backend("moto")
    ctx = backend.ctx
    console.rule("[bold]1. The guide's AWS stack, on emulated AWS (moto)")
    console.print(f"moto server: {backend.endpoint_url} (region {ctx.region})")
    started = time.perf_counter()
    applied = stack.apply(ctx, DEFAULT_NAMES, progress=True)
    elapsed = time.perf_counter() - started
    counts = Counter(change.action for change in applied.changes)
    console.print(
        f"apply: {len(applied.changes)} resources in {elapsed:.1f} s "
        + ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    )
    again = stack.apply(ctx, DEFAULT_NAMES).changed
    console.print(f"apply again: {len(again)} changes (idempotent: expected 0)")
    for table in present.status_tables(stack.status(ctx, DEFAULT_NAMES)):
        console.print(table)
    console.print(
        "[dim]moto stores this configuration; alone it runs no containers and no health checks. "
        "`workbook stack emulator` adds the local data plane: tasks really run, "
        "the ALB routes and health-checks, deployments roll (chapters 08, 09 and 12 use it).[/]"
    )
    return not again


def ask_library(console: Console, questions: int) -> bool:
    """Start the service, ask the built-in library questions, print answers and citations."""
    # FastAPI and the service load here, not when the CLI imports this module.
    from service.app import create_app
    from service.config import Settings

    console.rule("[bold]2. The RAG service, answering from the study notes")
    ok = True
    with tempfile.TemporaryDirectory(prefix="workbook-run-") as tmp:
        app = create_app(Settings(DATA_DIR=Path(tmp), LOG_LEVEL="WARNING"))
        with serve_in_thread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            ready_s = wait_http(server.url + "/ready", limit_s=60)
            console.print(f"service: {server.url} ready in {ready_s:.2f} s (offline answerer)")
            for question in QUESTIONS[:questions]:
                reply = http.post("/chat", json={"session_id": "library", "message": question})
                reply.raise_for_status()
                body = reply.json()
                cites = Table(show_header=True, header_style="bold", box=None)
                cites.add_column("source")
                cites.add_column("snippet", overflow="fold")
                for cite in body["citations"]:
                    cites.add_row(cite["source"], cite["snippet"][:160])
                ok = ok and bool(body["citations"])
                console.print(Panel(body["answer"], title=f"Q: {question}", expand=True))
                console.print(cites)
    return ok


def run_chapters(console: Console) -> bool:
    """Execute every chapter notebook against the embedded backend; True when all pass."""
    from workbook.notebooks import BUILD_DIR, run_all

    console.rule("[bold]3. The chapters, executed (papermill, BACKEND=moto)")
    results = run_all(console=console)
    console.print(f"executed notebooks and HTML reports: {BUILD_DIR}")
    return all(r.ok for r in results)


def main(questions: int = 3, notebooks: bool = True) -> int:
    """Run the whole tour; return 0 when every step did what it claims."""
    console = Console()
    ok = build_stack(console)
    ok = ask_library(console, questions) and ok
    if notebooks:
        ok = run_chapters(console) and ok
    console.rule("[bold]Next")
    console.print(
        "  make lab                          open the chapters in JupyterLab\n"
        "  .venv/bin/workbook quiz drill     practise interview questions\n"
        "  .venv/bin/workbook quiz mock      a timed mock interview\n"
        "  .venv/bin/workbook stack --help   plan, apply, status, deploy, rollback, teardown\n"
        "  make test                         prove all of it"
    )
    return 0 if ok else 1
