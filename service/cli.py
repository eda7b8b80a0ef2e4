"""The `serve` command: run the RAG service with uvicorn (graceful on SIGTERM)."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

app = typer.Typer(help="Run the RAG service.", no_args_is_help=True)


@app.callback()
def _main() -> None:
    """Run the RAG service."""


def _load_settings():
    from pydantic import ValidationError

    from service.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        # One line per problem, each naming the variable, instead of a traceback.
        for err in exc.errors():
            name = str(err["loc"][0]) if err.get("loc") else "settings"
            msg = str(err["msg"]).removeprefix("Value error, ")
            typer.echo(f"configuration error: {msg if not err.get('loc') else name + ': ' + msg}",
                       err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default HOST, 0.0.0.0).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT, 8080).")] = None,
) -> None:
    """Serve the API and chat page until SIGTERM/SIGINT, then finish in-flight requests."""
    import uvicorn

    from service.app import create_app

    settings = _load_settings()
    app_ = create_app(settings)
    # uvicorn re-raises the signal it caught once it has shut down; with this handler in
    # place that re-raise is harmless, so SIGTERM ends the process with exit code 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(
        app_,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,  # create_app configured JSON logging
        access_log=False,  # RequestLogMiddleware writes one line per request instead
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        proxy_headers=True,
        server_header=False,
    )


def main() -> None:
    """Run `serve` (the entry point of `python -m service`)."""
    app(args=["serve", *sys.argv[1:]], prog_name="python -m service")
