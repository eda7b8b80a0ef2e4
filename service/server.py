"""Run the service under uvicorn: as the process (JSON logs, graceful SIGTERM) or in a thread.

`run` is what `python -m service` and the image do. `serve_in_thread` serves an app on a free
127.0.0.1 port inside the current process (the workbook tour, chapters, tests); `free_port`
and `wait_http` are the two helpers every script that starts a server needs.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
from typing import Any

from pydantic import ValidationError

from service.config import Settings, get_settings

LOOPBACK = "127.0.0.1"
# The ALB's own limit on a request's whole header block (request line and single headers:
# 16 KB each): https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
MAX_HEADER_BYTES = 64 * 1024


class ConfigurationError(SystemExit):
    """Exit with status 2 after printing what is wrong with the configuration."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_http(url: str, limit_s: float = 30.0) -> float:
    """Poll `url` until it answers 200; return the seconds it took (TimeoutError after limit_s)."""
    # urllib.request costs ~0.1 s to import: only scripts that wait for a server pay it.
    import urllib.request

    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
        except OSError:  # refused, reset, or an HTTP error status (HTTPError is an OSError)
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer 200 within {limit_s:g} s")


def load_settings() -> Settings:
    """Return the settings, or print each problem (naming its variable) and exit 2."""
    try:
        return get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            where = f"{err['loc'][0]}: " if err.get("loc") else ""
            print(f"configuration error: {where}{msg}", file=sys.stderr)
        raise ConfigurationError(2) from None


def _config(app: Any, host: str, port: int, **options: Any) -> Any:
    import uvicorn  # as in run()

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # create_app configured JSON logging
        access_log=False,  # RequestLogMiddleware writes one line per request instead
        server_header=False,
        ws="none",  # no websocket routes: skip importing a websocket implementation
        **options,
    )


def service_config(app: Any, settings: Settings, host: str, port: int) -> Any:
    """Return the uvicorn config `run` serves with: the settings' connection limits."""
    return _config(
        app,
        host,
        port,
        # Beyond it uvicorn answers 503 at once instead of queueing. It counts open
        # connections, the ALB's idle keep-alive ones included, as well as running requests.
        limit_concurrency=settings.max_concurrency,
        # Longer than the ALB's idle timeout (60 s by default), so the ALB, never the task,
        # closes an idle connection; otherwise the ALB may send a request down a connection
        # the task is closing and answer 502. AWS recommends it ("Connection idle timeout"):
        # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout
        timeout_keep_alive=settings.keep_alive_s,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        # The request line and headers h11 buffers (h11 only: httptools, which the image
        # installs, has no such limit, and the ALB's 64 KB header limit bounds them).
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        # Take the scheme from the ALB's X-Forwarded-Proto (the ALB is not on 127.0.0.1, the
        # default trusted address): behind an HTTPS listener the page then links its script
        # and stylesheet as https://, not http:// (mixed content a browser would block).
        proxy_headers=True,
        forwarded_allow_ips="*",
    )


def run(host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then let in-flight requests finish and exit 0."""
    # Loaded here, not at import: free_port/wait_http users and `--help` never need them.
    import uvicorn

    from service.app import create_app

    settings = load_settings()
    # Index the library only once the port is bound: the loader's imports (numpy, faiss,
    # langchain_core) hold the GIL for long stretches and would delay the first /health.
    app = create_app(settings, load_on_start=False)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                app.state.runtime.start()

    config = service_config(app, settings, host or settings.host, port or settings.port)
    # uvicorn re-raises the signal it caught once it has shut down; with this handler in
    # place that re-raise is harmless, so SIGTERM ends the process with exit code 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    Server(config).run()


class ThreadedServer:
    """An ASGI app served by uvicorn in a daemon thread of this process; stop() ends it."""

    def __init__(self, app: Any, host: str = LOOPBACK, port: int | None = None) -> None:
        import uvicorn  # as in run()

        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(_config(app, host, self.port))
        self._thread = threading.Thread(target=self._serve, name="uvicorn", daemon=True)

    def _serve(self) -> None:
        # uvicorn exits when it cannot start (it logged why); start() then raises.
        with contextlib.suppress(SystemExit):
            self._server.run()

    def start(self, limit_s: float = 30.0) -> ThreadedServer:
        """Start serving and return once the port is bound (RuntimeError if it never is)."""
        self._thread.start()
        deadline = time.monotonic() + limit_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the service did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, limit_s: float = 10.0) -> None:
        """Ask uvicorn to finish in-flight requests and exit; wait up to limit_s for it."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(limit_s)

    def __enter__(self) -> ThreadedServer:
        if self._thread.ident is None:  # not started yet
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(app: Any, host: str = LOOPBACK, port: int | None = None) -> ThreadedServer:
    """Serve `app` in a background thread on a free port; return it started (with .url)."""
    return ThreadedServer(app, host, port).start()
