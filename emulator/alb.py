"""The local Application Load Balancer: an async HTTP reverse proxy per listener in moto.

Each HTTP listener of each load balancer gets a proxy on its own 127.0.0.1 port (uvicorn
serving an ASGI app, httpx forwarding, both in the data plane's event loop). A request follows
the listener's rules as moto holds them at that moment: forward (round-robin over the target
group's healthy targets; all of them when none is healthy), redirect (the #{...}
placeholders, 301/302) or fixed-response. The ALB's own errors are AWS's: 503 when no
target can take the request (none registered, or none healthy yet), 502 when the target's
connection fails, 504 past the idle timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import random
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from emulator import targets
from emulator.clock import Clock
from emulator.health import HealthChecker
from emulator.targets import HealthTable

IDLE_KEY = "idle_timeout.timeout_seconds"
DEFAULT_IDLE = 60  # seconds; AWS's default idle timeout
CONNECT_TIMEOUT = 10  # seconds: the ALB gives up connecting to a target after 10 s (a 504)
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
}
FORWARDED = {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-port", b"x-amzn-trace-id"}
SERVER = b"awselb/2.0"  # the Server header of every answer the ALB makes itself
_ERROR_PAGE = "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n</body>\r\n</html>\r\n"
_REASONS = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


@dataclass(frozen=True)
class Request:
    """What routing needs to know of an incoming request."""

    method: str
    path: str
    query: str
    host: str  # the Host header without its port
    port: int  # the port the client connected to


def matches(conditions: list[dict[str, Any]], request: Request) -> bool:
    """Say whether a listener rule's conditions (path-pattern, host-header) all hold."""
    for condition in conditions:
        field = condition.get("Field")
        config = condition.get("PathPatternConfig") or condition.get("HostHeaderConfig") or {}
        values = config.get("Values") or condition.get("Values") or []
        if field == "path-pattern":
            if not any(fnmatch.fnmatchcase(request.path, value) for value in values):
                return False
        elif field == "host-header":
            host = request.host.lower()
            if not any(fnmatch.fnmatchcase(host, value.lower()) for value in values):
                return False
        else:
            return False  # http-header, query-string, source-ip...: not emulated, never matches
    return True


def actions_for(listener: Any, request: Request) -> list[Any]:
    """Return the actions of the first rule (by priority) that matches, else the defaults."""
    rules = [r for r in list(listener.rules.values()) if not getattr(r, "is_default", False)]
    for rule in sorted(rules, key=lambda r: int(r.priority)):
        if matches(rule.conditions, request):
            return list(rule.actions)
    return list(listener.default_actions)


def redirect_location(config: dict[str, Any], request: Request, scheme: str) -> str:
    """Return the Location of a redirect action, its #{...} placeholders filled in."""
    fill = {
        "#{protocol}": scheme.upper(),
        "#{host}": request.host,
        "#{port}": str(request.port),
        "#{path}": request.path.lstrip("/"),
        "#{query}": request.query,
    }

    def part(key: str, default: str) -> str:
        value = str(default if config.get(key) is None else config[key])
        for placeholder, text in fill.items():
            value = value.replace(placeholder, text)
        return value

    protocol = part("Protocol", "#{protocol}").lower()
    port = part("Port", "#{port}")
    default_port = {"http": "80", "https": "443"}.get(protocol)
    netloc = part("Host", "#{host}") + ("" if port == default_port else f":{port}")
    query = part("Query", "#{query}")
    return f"{protocol}://{netloc}{part('Path', '/#{path}')}" + (f"?{query}" if query else "")


def trace_id() -> str:
    """Return a new X-Amzn-Trace-Id value in the ALB's format."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


class RoundRobin:
    """Pick targets in turn per target group, from the ones the ALB routes to."""

    def __init__(self, table: HealthTable) -> None:
        self.table = table
        self._turns: dict[str, itertools.count] = {}

    def routable(self, group: Any) -> list[tuple[str, int]]:
        """Return the targets (id, port) of moto's `group` that get new requests.

        The healthy ones; if every registered target is unhealthy, all of them (fail-open).
        A target still in `initial` gets nothing until it passes a check, and one `draining`
        gets no new request.
        """
        registered = [(t["Id"], int(t["Port"])) for t in list(group.targets.values())]
        states = {key: self.table.get(group.arn, *key) for key in registered}
        healthy = [key for key, health in states.items() if health and health.routable]
        if healthy:
            return healthy
        if registered and all(h and h.state == "unhealthy" for h in states.values()):
            return registered
        return []

    def pick(self, group: Any) -> tuple[str, int] | None:
        """Return the next target of moto's `group` to send a request to, or None (a 503)."""
        choices = self.routable(group)
        if not choices:
            return None
        turn = next(self._turns.setdefault(group.arn, itertools.count()))
        return choices[turn % len(choices)]


def _error(status: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = _ERROR_PAGE.format(_REASONS[status]).encode()
    return status, [(b"content-type", b"text/html"), (b"server", SERVER)], body


class ListenerApp:
    """The ASGI app behind one listener's local port."""

    def __init__(self, plane: LoadBalancers, listener_arn: str, load_balancer_arn: str) -> None:
        self.plane = plane
        self.listener_arn = listener_arn
        self.load_balancer_arn = load_balancer_arn
        self.local_port = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        backend = self.plane.backend()
        balancer = backend.load_balancers.get(self.load_balancer_arn)
        listener = balancer.listeners.get(self.listener_arn) if balancer else None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            host=headers.get("host", "").rsplit(":", 1)[0] or "127.0.0.1",
            port=self.local_port,
        )
        action = _first_action(listener, request) if listener else None
        if action is None:
            return await _respond(send, *_error(503))
        if action.type == "redirect":
            return await _respond(send, *_redirect(action.data.get("RedirectConfig", {}), request))
        if action.type == "fixed-response":
            return await _respond(send, *_fixed(action.data.get("FixedResponseConfig", {})))
        group = backend.target_groups.get(_target_group_arn(action.data))
        target = self.plane.round_robin.pick(group) if group else None
        if target is None:
            return await _respond(send, *_error(503))
        if self.plane.on_request is not None:  # RequestCount: a target was chosen
            self.plane.on_request(self.load_balancer_arn, group.arn)
        idle = self.plane.clock.seconds(float(balancer.attrs.get(IDLE_KEY, DEFAULT_IDLE)))
        await self._forward(scope, receive, send, target, idle)

    async def _forward(
        self, scope: dict, receive: Any, send: Any, target: tuple[str, int], idle: float
    ) -> None:
        """Pass the request to `target` and stream its answer back."""
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope["query_string"]
        url = httpx.URL(
            scheme="http",
            host=target[0],
            port=target[1],
            raw_path=path + (b"?" + query if query else b""),
        )
        has_body = any(
            k.lower() in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"]
        )
        timeout = httpx.Timeout(idle, connect=min(idle, self.plane.clock.seconds(CONNECT_TIMEOUT)))
        outgoing = httpx.Request(  # not client.build_request: that adds httpx's own headers
            scope["method"],
            url,
            headers=self._forwarded_headers(scope),
            content=_body(receive) if has_body else None,
            extensions={"timeout": timeout.as_dict()},
        )
        try:
            response = await self.plane.client.send(outgoing, stream=True)
        except httpx.TimeoutException:
            return await _respond(send, *_error(504))
        except httpx.HTTPError:  # refused, reset, not HTTP
            return await _respond(send, *_error(502))
        try:
            head = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": head}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx.HTTPError:
            return  # the target broke off mid-answer: the client's connection is cut too
        finally:
            await response.aclose()

    def _forwarded_headers(self, scope: dict) -> list[tuple[bytes, bytes]]:
        """Return the client's headers minus hop-by-hop ones, plus the ALB's X-Forwarded-*."""
        headers = [(k.lower(), v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        forwarded = dict(headers).get(b"x-forwarded-for")
        client_ip = (scope.get("client") or ("127.0.0.1", 0))[0].encode()
        return [(k, v) for k, v in headers if k not in FORWARDED] + [
            (b"x-forwarded-for", forwarded + b", " + client_ip if forwarded else client_ip),
            (b"x-forwarded-proto", b"http"),
            (b"x-forwarded-port", str(self.local_port).encode()),
            (b"x-amzn-trace-id", trace_id().encode()),
        ]


def _first_action(listener: Any, request: Request) -> Any | None:
    """Return the action the ALB takes (authentication actions are not emulated)."""
    actions = actions_for(listener, request)
    return next((a for a in actions if not str(a.type).startswith("authenticate")), None)


def _redirect(config: dict[str, Any], request: Request) -> tuple[int, list, bytes]:
    status = 302 if config.get("StatusCode") == "HTTP_302" else 301
    location = redirect_location(config, request, "http")
    return status, [(b"location", location.encode()), (b"server", SERVER)], b""


def _fixed(config: dict[str, Any]) -> tuple[int, list, bytes]:
    content_type = str(config.get("ContentType") or "text/plain").encode()
    head = [(b"content-type", content_type), (b"server", SERVER)]
    return int(config.get("StatusCode", 200)), head, str(config.get("MessageBody", "")).encode()


def _target_group_arn(data: dict[str, Any]) -> str | None:
    """Return the target group a forward action sends to (weighted when it names several)."""
    if data.get("TargetGroupArn"):
        return data["TargetGroupArn"]
    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
    weights = [int(g.get("Weight", 1)) for g in groups]
    if not groups or not any(weights):
        return None
    return random.choices(groups, weights=weights)[0]["TargetGroupArn"]


async def _body(receive: Any) -> AsyncIterator[bytes]:
    """Yield the client's request body as it arrives."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


async def _respond(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Send a whole response the ALB makes itself."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ListenerProxy:
    """One listener's uvicorn server on a free 127.0.0.1 port."""

    def __init__(self, app: ListenerApp) -> None:
        self.app = app
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = app.local_port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            http="h11",
            lifespan="off",
            proxy_headers=False,  # the client's own address is what X-Forwarded-For appends
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Listen and serve until stopped."""
        self._task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        while not self.server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self.socket.close()
            self._task.result()  # raise why it could not start

    async def stop(self) -> None:
        """Stop listening and close the port."""
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self.socket.close()


class LoadBalancers:
    """Every HTTP listener of one account and region, proxied; every target health-checked."""

    def __init__(self, account_id: str, region: str, clock: Clock) -> None:
        self.account_id = account_id
        self.region = region
        self.clock = clock
        self.table = HealthTable(account_id, region, clock)
        self.round_robin = RoundRobin(self.table)
        self.checker: HealthChecker | None = None
        self.client: httpx.AsyncClient | None = None
        self.proxies: dict[str, ListenerProxy] = {}  # by listener ARN
        self._refreshing = asyncio.Lock()  # the poll and an explicit refresh never overlap
        # Called with (load balancer ARN, target group ARN) for each request forwarded to a
        # target (emulator.metrics counts them as RequestCount).
        self.on_request: Callable[[str, str], None] | None = None

    def backend(self) -> Any:
        """Return moto's ELBv2 backend this data plane serves."""
        return targets.elbv2_backend(self.account_id, self.region)

    async def start(self) -> None:
        """Serve target health from the table, start checking and proxying."""
        targets.install(self.table)
        self.checker = HealthChecker(self.table, self.clock)
        loop = asyncio.get_running_loop()
        self.table.on_change = lambda: loop.call_soon_threadsafe(self._reconcile)
        self.client = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        await self.refresh()

    async def refresh(self) -> None:
        """Follow moto: proxy new HTTP listeners, drop deleted ones, check new targets."""
        async with self._refreshing:
            await self._refresh()

    async def _refresh(self) -> None:
        wanted = {}
        for balancer in list(self.backend().load_balancers.values()):
            if balancer.type != "application":
                continue
            for arn, listener in list(balancer.listeners.items()):
                if listener.protocol == "HTTP":
                    wanted[arn] = balancer.arn
        for arn in set(self.proxies) - set(wanted):
            await self.proxies.pop(arn).stop()
        for arn, balancer_arn in wanted.items():
            if arn not in self.proxies:
                proxy = ListenerProxy(ListenerApp(self, arn, balancer_arn))
                await proxy.start()
                self.proxies[arn] = proxy
        if self.checker is not None:
            self.checker.reconcile()

    def _reconcile(self) -> None:
        if self.checker is not None:
            self.checker.reconcile()

    def urls(self) -> dict[str, dict[int, str]]:
        """Return each load balancer's local URLs by its listeners' AWS ports."""
        found: dict[str, dict[int, str]] = {}
        backend = self.backend()
        for balancer in list(backend.load_balancers.values()):
            for arn, listener in list(balancer.listeners.items()):
                if arn in self.proxies:
                    url = f"http://127.0.0.1:{self.proxies[arn].port}"
                    found.setdefault(balancer.name, {})[int(listener.port)] = url
        return found

    async def stop(self) -> None:
        """Stop every proxy and probe, and give target health back to moto."""
        self.table.on_change = None
        try:
            for proxy in list(self.proxies.values()):
                await proxy.stop()
            self.proxies.clear()
            if self.checker is not None:
                checker, self.checker = self.checker, None
                await checker.aclose()
            if self.client is not None:
                await self.client.aclose()
        finally:
            targets.uninstall(self.table)
