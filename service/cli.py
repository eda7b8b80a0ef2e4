"""Run the RAG service from the command line: `serve` (also `workbook serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

from service.server import ConfigurationError, run

app = typer.Typer(help="Run the RAG service.", no_args_is_help=True)


@app.callback()
def _main() -> None:
    """Run the RAG service."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default HOST, 0.0.0.0).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT, 8080).")] = None,
) -> None:
    """Serve the API and chat page until SIGTERM/SIGINT, then finish in-flight requests."""
    try:
        run(host, port)
    except ConfigurationError as exc:
        raise typer.Exit(exc.code) from None
