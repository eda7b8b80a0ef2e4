"""Run the service under uvicorn: JSON logs, graceful SIGTERM, clean config errors."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.config import Settings


class ConfigurationError(SystemExit):
    """Exit with status 2 after printing what is wrong with the configuration."""


def load_settings() -> Settings:
    """Return the settings, or print each problem (naming its variable) and exit 2."""
    from pydantic import ValidationError

    from service.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            where = f"{err['loc'][0]}: " if err.get("loc") else ""
            print(f"configuration error: {where}{msg}", file=sys.stderr)
        raise ConfigurationError(2) from None


def run(host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then let in-flight requests finish and exit 0."""
    import uvicorn

    from service.app import create_app

    settings = load_settings()
    app = create_app(settings)
    # Index the library only once the port is bound: the loader's imports (numpy, faiss,
    # langchain_core) hold the GIL for long stretches and would delay the first /health.
    app.state.load_in_lifespan = False

    class Server(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                app.state.sessions.start()

    config = uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,  # create_app configured JSON logging
        access_log=False,  # RequestLogMiddleware writes one line per request instead
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        proxy_headers=True,
        server_header=False,
        ws="none",  # no websocket routes: skip importing a websocket implementation
    )
    # uvicorn re-raises the signal it caught once it has shut down; with this handler in
    # place that re-raise is harmless, so SIGTERM ends the process with exit code 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    Server(config).run()
