"""A task's security groups, enforced: a stateful firewall in front of its published port.

On AWS a Fargate task's ENI carries the service's security groups, and the ALB's health checks
and requests come from the ALB's own ENIs. The task's groups must admit the target port from
the load balancer's group (ALB user guide, "Security groups for your Application Load
Balancer": docs.aws.amazon.com/elasticloadbalancing/latest/application/
load-balancer-update-security-groups.html). A group that does not drops those packets
silently, so the checks time out (`Target.Timeout`, "Health checks for Application Load
Balancer target groups") and requests end in 504.

Here every connection to a task's port comes from the local ALB (its proxy and its health
checker). `Firewall` listens on the port the target is registered with and relays to the
container's port; while the task's groups do not admit the ALB it accepts a connection and
never answers, as a dropped SYN looks to the checker. The groups are read from moto's EC2 and
ELBv2 models at each connection, so revoking or authorizing a rule takes effect at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

HOLD_S = 120.0  # the longest a dropped connection is held (the peer gives up long before)


def admits(network: dict | None, account: str, region: str, port: int) -> bool:
    """Say whether the task's security groups admit TCP `port` from a load balancer in its VPC."""
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    config = (network or {}).get("awsvpcConfiguration") or {}
    groups = config.get("securityGroups") or []
    if not groups:
        return True  # no group named: nothing to enforce
    ec2 = ec2_backends[account][region]
    found = [ec2.get_security_group_from_id(g) for g in groups]
    found = [g for g in found if g is not None]
    if not found:
        return True
    vpc = found[0].vpc_id
    balancers = [
        lb for lb in elbv2_backends[account][region].load_balancers.values() if lb.vpc_id == vpc
    ]
    sources = {g for lb in balancers for g in lb.security_groups or []}
    networks = []
    for lb in balancers:
        for subnet in lb.subnets:
            with contextlib.suppress(ValueError, AttributeError):
                networks.append(ipaddress.ip_network(subnet.cidr_block))
    for group in found:
        for rule in group.ingress_rules:  # moto's SecurityGroupRule: one source per rule
            if not _covers(rule, port):
                continue
            if (rule.source_group or {}).get("GroupId") in sources:
                return True
            cidr = (rule.ip_range or {}).get("CidrIp")
            if cidr and _contains(cidr, networks):
                return True
    return False


def _covers(rule: Any, port: int) -> bool:
    if rule.ip_protocol in ("-1", "all"):
        return True
    if str(rule.ip_protocol).lower() not in ("tcp", "6"):
        return False
    return rule.from_port is not None and rule.from_port <= port <= rule.to_port


def _contains(cidr: str, networks: list) -> bool:
    try:
        allowed = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    if allowed.prefixlen == 0:
        return True
    return any(n.version == allowed.version and n.subnet_of(allowed) for n in networks)


class Firewall:
    """Listen on a free 127.0.0.1 port; relay admitted connections to the container's port."""

    def __init__(self, upstream: int, admit: Callable[[], bool]) -> None:
        self.upstream = upstream
        self.admit = admit  # () -> bool, asked at each new connection
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closed = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=f"eni-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                allowed = self.admit()
            except Exception:  # an odd model must not take the task's port down
                log.exception("firewall: judging the security groups failed; admitting")
                allowed = True
            target = self._relay if allowed else self._drop
            threading.Thread(target=target, args=(client,), daemon=True).start()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _untrack(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.difference_update(socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()

    def _drop(self, client: socket.socket) -> None:
        # A dropped SYN: the peer hears nothing until it gives up and closes its end.
        self._track(client)
        client.settimeout(0.5)
        deadline = time.monotonic() + HOLD_S
        while not self._closed.is_set() and time.monotonic() < deadline:
            try:
                if not client.recv(65536):  # the peer closed: nothing left to hold
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        self._untrack(client)

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        except OSError:  # nothing listens on the ENI side: the peer sees a reset
            with contextlib.suppress(OSError):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
            self._untrack(client)
            return
        upstream.settimeout(None)
        self._track(client, upstream)
        back = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
        back.start()
        self._pipe(client, upstream)
        back.join()
        self._untrack(client, upstream)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Stop listening and close every connection it holds."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            held = list(self._open)
        self._untrack(*held)
