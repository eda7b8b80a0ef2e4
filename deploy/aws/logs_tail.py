"""`aws logs tail` for the AWS CLI v1: the v2 command the guide uses, added as a v1 plugin.

AWS CLI v2 has `aws logs tail GROUP [--follow] [--since 10m] [--filter-pattern P] [--format
detailed|short|json]`; v1 (the version PyPI ships, the one in this venv) does not. This plugin
gives v1 the same command, written from v2's documented options, not from its code:
https://awscli.amazonaws.com/v2/documentation/api/latest/reference/logs/tail.html

It reads with FilterLogEvents, from `--since` (default 10 minutes ago) on. `--follow` polls
every 5 s for new events until Ctrl-C, which ends it with exit 0; events already printed are
not printed again. The workbook's `!aws` shim and `workbook stack emulator`'s AWS_CONFIG_FILE
load it; for your own config: `[plugins]` then `logs_tail = deploy.aws.logs_tail`.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from awscli.customizations.commands import BasicCommand
from awscli.customizations.utils import create_client_from_parsed_globals

POLL_S = 5.0  # how often --follow asks for new events
DEFAULT_SINCE = "10m"
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
FORMATS = ("detailed", "short", "json")
# A v1 config's `[plugins]` line names this module; the shim registers it once more: one handler.
_HANDLER_ID = "workbook-logs-tail"


class SinceError(ValueError):
    """A --since value that is neither a relative time (5m, 2h) nor an ISO 8601 timestamp."""


def awscli_initialize(cli: Any) -> None:
    """Add `tail` to the `logs` commands (the AWS CLI v1 plugin entry point)."""
    cli.register("building-command-table.logs", _add_tail, unique_id=_HANDLER_ID)


def _add_tail(command_table: dict, session: Any, **kwargs: Any) -> None:
    command_table["tail"] = TailCommand(session)


def since_ms(value: str, now: datetime | None = None) -> int:
    """Return --since as epoch milliseconds: a relative time ("10m") or an ISO 8601 timestamp."""
    now = now or datetime.now(UTC)
    if match := _RELATIVE.match(value.strip()):
        start = now - timedelta(**{UNITS[match[2]]: int(match[1])})
    else:
        try:
            start = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SinceError(
                f"--since {value!r}: give a relative time (a number and one of s, m, h, d, w: "
                "5m, 2h) or an ISO 8601 timestamp (2026-12-06T10:00:00Z)"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
    return int(start.timestamp() * 1000)


def line(event: dict, form: str) -> str:
    """Return one event as `--format` prints it."""
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
    message = event["message"].rstrip("\n")
    if form == "short":
        return f"{stamp:%Y-%m-%dT%H:%M:%S} {message}"
    if form == "json":
        with contextlib.suppress(ValueError):  # not JSON: printed as it is
            message = json.dumps(json.loads(message), indent=4)
    return f"{stamp.isoformat()} {event['logStreamName']} {message}"


def events(client: Any, request: dict) -> Iterator[dict]:
    """Yield every event FilterLogEvents returns for `request`, page by page, oldest first."""
    for page in client.get_paginator("filter_log_events").paginate(**request):
        yield from sorted(page["events"], key=lambda e: (e["timestamp"], e.get("eventId", "")))


class TailCommand(BasicCommand):
    """aws logs tail: print a log group's events, and with --follow keep printing new ones."""

    NAME = "tail"
    DESCRIPTION = (
        "Print the events of a log group from --since on; with --follow, keep printing new "
        "events until Ctrl-C. (AWS CLI v2's command, added to v1 by the workbook's plugin.)"
    )
    ARG_TABLE: ClassVar[list[dict]] = [
        {"name": "group_name", "positional_arg": True, "help_text": "The log group to read."},
        {
            "name": "since",
            "default": DEFAULT_SINCE,
            "help_text": "Where to start: a relative time (5m, 2h, 1d) or an ISO 8601 "
            "timestamp. Default 10m.",
        },
        {
            "name": "follow",
            "action": "store_true",
            "default": False,
            "help_text": f"Keep polling (every {POLL_S:g} s) for new events until Ctrl-C.",
        },
        {"name": "filter-pattern", "help_text": "A CloudWatch Logs filter pattern."},
        {
            "name": "format",
            "default": "detailed",
            "choices": list(FORMATS),
            "help_text": "detailed (time, stream, message), short (time, message) or json "
            "(JSON messages pretty-printed).",
        },
        {"name": "log-stream-names", "nargs": "+", "help_text": "Only these streams."},
        {"name": "log-stream-name-prefix", "help_text": "Only streams with this prefix."},
    ]

    def _run_main(self, parsed_args: Any, parsed_globals: Any) -> int:
        try:
            start = since_ms(parsed_args.since)
        except SinceError as exc:
            sys.stderr.write(f"{exc}\n")
            return 252  # the CLI's code for a parameter it cannot use
        client = create_client_from_parsed_globals(self._session, "logs", parsed_globals)
        request: dict[str, Any] = {"logGroupName": parsed_args.group_name, "startTime": start}
        for name, value in (
            ("filterPattern", parsed_args.filter_pattern),
            ("logStreamNames", parsed_args.log_stream_names),
            ("logStreamNamePrefix", parsed_args.log_stream_name_prefix),
        ):
            if value:
                request[name] = value
        seen: dict[str, int] = {}  # event id -> timestamp, for events at or after startTime
        try:
            while True:
                newest = request["startTime"]
                for event in events(client, request):
                    key = event.get("eventId") or f"{event['timestamp']}:{event['message']}"
                    if key in seen:
                        continue
                    seen[key] = event["timestamp"]
                    newest = max(newest, event["timestamp"])
                    sys.stdout.write(line(event, parsed_args.format) + "\n")
                sys.stdout.flush()
                if not parsed_args.follow:
                    return 0
                # Events of the newest millisecond may still arrive: ask from it again
                # (the seen ids drop the repeats).
                request["startTime"] = newest
                seen = {k: t for k, t in seen.items() if t >= newest}  # older ones never return
                time.sleep(POLL_S)
        except KeyboardInterrupt:  # Ctrl-C is how --follow ends
            sys.stdout.flush()
            return 0
