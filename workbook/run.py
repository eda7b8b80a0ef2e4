"""`make run`: the stack on emulated AWS, the RAG service answering, every chapter executed."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

QUESTIONS = (
    "How does the ECS deployment circuit breaker decide to roll back?",
    "Why does a curl health check fail on python:3.12-slim, and what works instead?",
    "What does one 1 vCPU / 8 GB Fargate task cost per month?",
    "Why must the deploy workflow check the CI run's conclusion?",
    "What does the deregistration delay really control?",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_stack(console: Console) -> bool:
    """Apply the guide's stack on the embedded moto backend and print what exists."""
    from deploy import stack
    from deploy.backend import start_backend
    from deploy.names import DEFAULT_NAMES

    backend = start_backend("moto")
    console.rule("[bold]1. The guide's AWS stack, on emulated AWS (moto)")
    console.print(f"moto server: {backend.endpoint_url} (region {backend.region})")
    started = time.perf_counter()
    changes = stack.apply(DEFAULT_NAMES, backend="moto")
    elapsed = time.perf_counter() - started
    counts = Counter(change.action for change in changes)
    console.print(
        f"apply: {len(changes)} resources in {elapsed:.1f} s "
        + ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    )
    again = [c for c in stack.apply(DEFAULT_NAMES, backend="moto", progress=False) if c.changed]
    console.print(f"apply again: {len(again)} changes (idempotent: expected 0)")
    for table in stack.status_tables(stack.status(DEFAULT_NAMES)):
        console.print(table)
    console.print(
        "[dim]moto stores this configuration; it runs no containers and no health checks. "
        "Rollouts and scaling are computed by deploy.rollout / deploy.scaling (models).[/]"
    )
    return not again


def _serve(data_dir: Path):
    import uvicorn

    from service.app import create_app
    from service.config import Settings

    port = _free_port()
    settings = Settings(DATA_DIR=data_dir, PORT=port, LOG_LEVEL="WARNING")
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{port}"


def _wait_ready(http: httpx.Client, limit_s: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        try:
            if http.get("/ready").status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the service was not ready within {limit_s:.0f} s")


def ask_library(console: Console, questions: int) -> bool:
    """Start the service, ask the built-in library questions, print answers and citations."""
    console.rule("[bold]2. The RAG service, answering from the study notes")
    with tempfile.TemporaryDirectory(prefix="workbook-run-") as tmp:
        server, thread, base = _serve(Path(tmp))
        ok = True
        try:
            with httpx.Client(base_url=base, timeout=30) as http:
                ready_s = _wait_ready(http)
                console.print(f"service: {base} ready in {ready_s:.2f} s (offline answerer)")
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
        finally:
            server.should_exit = True
            thread.join(timeout=10)
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
