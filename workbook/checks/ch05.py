"""Chapter 05's exercises: retention from a requirement, the log group, awslogs, streams, Insights."""

from __future__ import annotations

import json
import logging
import re

from botocore.exceptions import ClientError

from deploy.aws.names import StackNames
from deploy.resources import logs, taskdef
from service.aws import AwsContext
from service.logging import JsonFormatter
from workbook import compare
from workbook.exercises import Exercise, NotDone

# ---- 05-1: retention from a requirement -------------------------------------------------------

# Each requirement, in days. Thirteen months are at most 397 days (seven 31-day months).
REQUIREMENTS = {"incident_review": (45, "45 days"), "audit": (397, "13 months")}


def smallest_retention(days: int) -> int:
    """Return the smallest retention CloudWatch Logs accepts that keeps `days` days."""
    return min(d for d in logs.RETENTION_DAYS if d >= days)


def check_retention(answer: object) -> list[str]:
    """Check one retention per requirement: accepted by AWS, long enough, not longer than needed."""
    if not isinstance(answer, dict):
        return [f"the answer is a dict of requirement -> days, got {type(answer).__name__}"]
    problems = []
    for key, (days, said) in REQUIREMENTS.items():
        value, best = answer.get(key), smallest_retention(days)
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{key}: the retention is a whole number of days, got {value!r}")
        elif value not in logs.RETENTION_DAYS:
            problems.append(
                f"{key}: PutRetentionPolicy refuses {value} (InvalidParameterException): it "
                f"accepts only {list(logs.RETENTION_DAYS)}"
            )
        elif value < days:
            problems.append(
                f"{key}: {value} days is shorter than {said}: CloudWatch deletes the events "
                "older than the retention, so the oldest part of the period is gone"
            )
        elif value > best:
            problems.append(
                f"{key}: {value} days keeps the events, but longer than needed and every extra "
                f"day is billed as storage; {best} is the smallest accepted value >= {said}"
            )
    return problems


# ---- 05-2: the log group, by hand -------------------------------------------------------------


def check_log_group(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the log group the learner's function made with the reference."""
    found = compare.against_reference(ctx, names, {"logs": [names.log_group]})
    if found.missing:
        raise NotDone(f"no log group {names.log_group} after your function ran: did it call AWS?")
    return [f"{f.field}: {f.message}" for f in found.findings]


def reset_log_group(ctx: AwsContext, names: StackNames) -> None:
    """Delete the log group an earlier attempt made (its streams go with it), if any."""
    try:
        ctx.client("logs").delete_log_group(logGroupName=names.log_group)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


# ---- 05-3: the container's logConfiguration ---------------------------------------------------


def reference_log_configuration(region: str, names: StackNames) -> dict:
    """Return the reference's logConfiguration, as the stack renders it for `region`."""
    found = taskdef.container(taskdef.load_template())["logConfiguration"]
    found["options"].update({"awslogs-group": names.log_group, "awslogs-region": region})
    return found


def _option_problem(key: str, have: object, want: str, names: StackNames) -> str:
    """Return why one awslogs option that differs from the reference matters."""
    if have is None and key == "awslogs-stream-prefix":
        return (
            "awslogs-stream-prefix is missing: Fargate requires it (AWS's 'Using the awslogs "
            "log driver' page), and it is what makes each stream PREFIX/CONTAINER/TASK_ID"
        )
    if have is None and key == "mode":
        return (
            "mode is missing: the container then gets the account's defaultLogDriverMode, "
            "non-blocking unless someone changed it since June 2025; write it down so the task "
            "definition itself says whether lines may be dropped"
        )
    if have is None and key == "awslogs-create-group":
        return (
            "awslogs-create-group is missing: the reference sets 'true' so a deleted group is "
            "made again at task start (the execution role may CreateLogGroup on this group only)"
        )
    if have is None:
        return f"{key} is missing; the reference sets {want!r}"
    if key == "awslogs-group":
        return (
            f"awslogs-group is {have!r}: the group with the retention and tags is {want!r}; "
            "the driver would write elsewhere (a group it creates keeps events forever) or the "
            "task fails to start with ResourceInitializationError"
        )
    if key == "awslogs-region":
        return (
            f"awslogs-region is {have!r}: the group lives in {want}, and the driver writes to "
            "the group of that name in the region given, so the lines land in another region "
            "or nowhere"
        )
    if key == "awslogs-stream-prefix":
        return (
            f"awslogs-stream-prefix is {have!r}: streams would be {have}/{names.container}/TASK_ID,"
            f" while the runbooks and this chapter look for {want}/{names.container}/TASK_ID"
        )
    if key == "mode" and have == "blocking":
        return (
            "mode is 'blocking': nothing is lost, but when CloudWatch is slow the app's writes "
            "to stdout wait, requests hang and health checks fail; right for an audit trail, "
            "while the reference keeps this chat API available with non-blocking and a 25m buffer"
        )
    if key == "mode":
        return f"mode is {have!r}: the driver accepts only 'blocking' or 'non-blocking'"
    if key == "max-buffer-size" and not re.fullmatch(r"\d+[kmg]?", str(have)):
        return f"max-buffer-size is {have!r}: a size such as '25m' (bytes with k, m or g)"
    if key == "max-buffer-size":
        return (
            f"max-buffer-size is {have!r}; the reference holds {want!r} of lines in memory "
            "before non-blocking mode starts dropping them"
        )
    return f"{key} is {have!r}; the reference sets {want!r}"


def check_log_configuration(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare a container's logConfiguration with the reference's, option by option."""
    if not isinstance(answer, dict) or not isinstance(answer.get("options"), dict):
        return ["the answer is a dict {'logDriver': ..., 'options': {...}}"]
    want = reference_log_configuration(ctx.region, names)
    problems = []
    if answer.get("logDriver") != "awslogs":
        problems.append(
            f"logDriver is {answer.get('logDriver')!r}: 'awslogs' ships stdout and stderr to "
            "CloudWatch Logs with the execution role's credentials"
        )
    options = answer["options"]
    typed = sorted(k for k, v in options.items() if not isinstance(v, str))
    if typed:
        problems.append(
            f"{', '.join(typed)}: every option value is a string (the API's options map is "
            "string to string): write 'true', not True, or register_task_definition refuses it"
        )
    for key, value in want["options"].items():
        have = options.get(key)
        if have != value and key not in typed:
            problems.append(_option_problem(key, have, value, names))
    if options.get("mode") == "blocking" and "max-buffer-size" in options:
        problems.append("max-buffer-size applies to non-blocking mode only; ECS refuses it here")
    for key in sorted(set(options) - set(want["options"])):
        problems.append(f"{key} is an option the reference does not set")
    return problems


# ---- 05-4: the stream name of a task ----------------------------------------------------------


def check_stream_name(answer: object, task_arn: str, names: StackNames) -> list[str]:
    """Check the stream name the learner's function gave for a task ARN."""
    if not isinstance(answer, str):
        return [f"the function returns the stream name (a string), got {type(answer).__name__}"]
    task_id, cluster = task_arn.rsplit("/", 1)[1], task_arn.split("/")[1]
    want = f"ecs/{names.container}/{task_id}"
    if answer == want:
        return []
    if "arn:" in answer:
        return ["the stream ends with the task ID, the last part of the ARN, not the whole ARN"]
    parts = answer.strip("/").split("/")
    if answer.startswith("/"):
        return [f"no leading '/': the stream is {want} (the group's name is what starts with '/')"]
    if parts[-1] == cluster:
        return [
            f"{cluster!r} is the cluster: a task ARN is .../task/CLUSTER/TASK_ID, take the last part"
        ]
    if len(parts) == 2:
        return [f"the container's name is missing: PREFIX/CONTAINER/TASK_ID, here {want}"]
    if len(parts) == 3 and parts[1] != names.container:
        return [
            f"the middle part is the container's name in the task definition "
            f"({names.container}), not {parts[1]!r} (family, service or cluster)"
        ]
    if len(parts) == 3 and parts[0] != "ecs":
        return [
            f"the first part is awslogs-stream-prefix, 'ecs' in the reference, not {parts[0]!r}"
        ]
    return [f"{answer!r} is not the stream's name; awslogs names it {want}"]


# ---- 05-5: a Logs Insights query for the 5xx lines --------------------------------------------

# moto 5.2 runs only fields, sort and limit of a query and ignores `filter` (its query_parser),
# so this check evaluates the filter itself: a MODEL of Logs Insights' filter command for the
# comparisons, like/=~ regexes, `in`, and/or/not documented on AWS's "filter" page. Logs
# Insights discovers the fields of a JSON log line, so `status` is the service's status field.


LINES_START = 1_780_000_000  # 2026-05-28T20:26:40Z


def _request(request_id: str, method: str, route: str, status: int, ms: float) -> logging.LogRecord:
    extra = {"method": method, "route": route, "status": status, "latency_ms": ms}
    record = logging.makeLogRecord({"name": "service.access", "msg": "request", **extra})
    record.levelname, record.request_id = "INFO", request_id
    return record


def sample_log_lines() -> list[str]:
    """Return the JSON lines, as the service's formatter writes them, the query is tested on."""
    records = [
        _request("9f1c0a500b7e", "GET", "/health", 200, 1.4),  # a request id holding '500'
        _request("2b7d40e1aa03", "POST", "/chat", 200, 512.3),  # a slow 200: '512' in latency
        _request("c0ffee11d00d", "GET", "/documents/{doc_id}", 404, 3.1),
        _request("77aa0c3e9d21", "POST", "/chat", 500, 35.0),
        _request("e4b2a9f0c6d8", "POST", "/chat", 503, 8.2),
        _request("5b0e2c4d6f81", "POST", "/documents", 502, 61.7),
        _request("1d3e5f7a9b0c", "GET", "/sessions/{session_id}", 504, 30001.0),
    ]
    error = logging.makeLogRecord(
        {"name": "service", "msg": "groq call failed: 401 invalid api key", "levelname": "ERROR"}
    )
    ordered, formatter = [*records[:4], error, *records[4:]], JsonFormatter()
    for second, record in enumerate(ordered):  # fixed times, so the lines print the same
        record.created, record.msecs = LINES_START + second, 0
    return [formatter.format(r) for r in ordered]


_TOKEN = re.compile(
    r"\s*(/(?:\\.|[^/\\])*/|\"[^\"]*\"|'[^']*'|>=|<=|!=|=~|[=<>()\[\],]|-?\d+(?:\.\d+)?"
    r"|[A-Za-z_@][\w.@]*)"
)
_OPS = {">=", "<=", "!=", "=", "<", ">", "=~", "like", "in"}


class QueryError(ValueError):
    """The filter uses syntax this model does not read."""


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match:
            raise QueryError(f"cannot read {text[pos:].strip()!r}")
        out.append(match.group(1))
        pos = match.end()
    return out


def _value(token: str) -> object:
    if token[0] in "\"'":
        return token[1:-1]
    if token.startswith("/"):
        return re.compile(token[1:-1])
    try:
        return float(token)
    except ValueError:
        raise QueryError(f"{token!r} is not a number, a quoted string or a /regex/") from None


def _field(line: str, name: str) -> object:
    if name == "@message":
        return line
    value: object = json.loads(line)
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _compare(have: object, op: str, want: object) -> bool:
    if have is None:
        return False
    if isinstance(want, re.Pattern):
        found = bool(want.search(str(have)))
        return found if op in ("like", "=~") else False
    if op == "like":
        return str(want) in str(have)
    if op == "in":
        return any(_compare(have, "=", w) for w in want)  # type: ignore[union-attr]
    if isinstance(want, float):
        try:
            have = float(have)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    else:
        have = str(have)
    return {
        "=": have == want,
        "!=": have != want,
        "<": have < want,
        "<=": have <= want,
        ">": have > want,
        ">=": have >= want,
    }.get(op, False)  # type: ignore[operator]


class _Filter:
    """A recursive-descent reader of one filter expression, evaluated against a line."""

    def __init__(self, text: str) -> None:
        self.tokens, self.i = _tokens(text), 0

    def _peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise QueryError("the filter ends too early")
        self.i += 1
        return token

    def parse(self):  # -> Callable[[str], bool]
        """Return a predicate on a log line."""
        test = self._or()
        if self._peek() is not None:
            raise QueryError(f"unexpected {self._peek()!r}")
        return test

    def _or(self):
        left = self._and()
        while (self._peek() or "").lower() == "or":
            self._take()
            right, first = self._and(), left
            left = lambda line, a=first, b=right: a(line) or b(line)  # noqa: E731
        return left

    def _and(self):
        left = self._not()
        while (self._peek() or "").lower() == "and":
            self._take()
            right, first = self._not(), left
            left = lambda line, a=first, b=right: a(line) and b(line)  # noqa: E731
        return left

    def _not(self):
        if (self._peek() or "").lower() == "not":
            self._take()
            inner = self._not()
            return lambda line: not inner(line)
        if self._peek() == "(":
            self._take()
            inner = self._or()
            if self._take() != ")":
                raise QueryError("a '(' is not closed")
            return inner
        return self._comparison()

    def _comparison(self):
        name = self._take()
        negate = (self._peek() or "").lower() == "not"
        if negate:
            self._take()
        op = self._take().lower()
        if op not in _OPS:
            raise QueryError(f"{op!r} is not a comparison this model reads ({sorted(_OPS)})")
        if op == "in":
            if self._take() != "[":
                raise QueryError("'in' takes a list: status in [500, 503]")
            values = []
            while self._peek() != "]":
                values.append(_value(self._take()))
                if self._peek() == ",":
                    self._take()
            self._take()
            want: object = values
        else:
            want = _value(self._take())
        return lambda line: negate != _compare(_field(line, name), op, want)


def _stages(query: str) -> list[str]:
    """Split a query at the pipes that are outside quotes and /regexes/."""
    stages, current, inside = [], "", None
    for char in query:
        if inside is None and char == "|":
            stages.append(current.strip())
            current = ""
            continue
        if char in "\"'/" and inside in (None, char):
            inside = char if inside is None else None
        current += char
    return [*stages, current.strip()]


def run_filters(query: str, lines: list[str]) -> list[str]:
    """Return the lines every `filter` command of `query` keeps (the model described above)."""
    stages = _stages(query)
    filters = [s[len("filter") :] for s in stages if s.lower().startswith("filter ")]
    if not filters:
        raise QueryError("no filter command")
    kept = lines
    for text in filters:
        test = _Filter(text).parse()
        kept = [line for line in kept if test(line)]
    return kept


def _status(line: str) -> object:
    return json.loads(line).get("status")


def check_insights_query(answer: object) -> list[str]:
    """Check a Logs Insights query by the lines its filter keeps from the service's JSON logs."""
    if not isinstance(answer, str):
        return [f"the answer is the query text (a string), got {type(answer).__name__}"]
    lines = sample_log_lines()
    try:
        kept = run_filters(answer, lines)
    except QueryError as exc:
        if str(exc) == "no filter command":
            return [
                "the query has no `filter` command, so it returns every line: add one such as "
                "`filter FIELD >= VALUE`"
            ]
        return [
            f"cannot read the filter: {exc}; this check reads comparisons (=, !=, <, <=, >, >=), "
            "like /regex/, =~, in [...], and, or, not and parentheses"
        ]
    wanted = [line for line in lines if isinstance(_status(line), int) and _status(line) >= 500]
    missed = [line for line in wanted if line not in kept]
    extra = [line for line in kept if line not in wanted]
    problems = []
    if kept and all(_status(line) is None for line in kept):
        return [
            "it keeps the ERROR line only: the service logs every request at INFO, a 503 too; "
            "the outcome is in the JSON field `status`, which Logs Insights discovers"
        ]
    if missed:
        statuses = sorted(_status(line) for line in missed)
        hint = " (> 500 leaves out 500 itself: use >= 500)" if statuses == [500] else ""
        problems.append(f"it misses the line(s) with status {statuses}{hint}")
    if any(_status(line) is None for line in extra):
        problems.append(
            "it also keeps the ERROR line, which is not a request: filter on the status field"
        )
    if any(isinstance(_status(line), int) and 400 <= _status(line) < 500 for line in extra):
        problems.append(
            "it also keeps a 404: 4xx is the client's mistake, not the service failing; "
            "5xx is status >= 500"
        )
    limits = [int(s.split()[1]) for s in _stages(answer) if re.fullmatch(r"(?i)limit\s+\d+", s)]
    if limits and min(limits) < len(wanted):
        problems.append(
            f"limit {min(limits)} cuts the answer short: these logs alone hold {len(wanted)} "
            "5xx lines, and an hour of a busy service many more"
        )
    if any(_status(line) == 200 for line in extra):
        problems.append(
            "it also keeps 200 responses whose other fields hold the same digits (a request "
            "id with '500', latency_ms 512.3): match the parsed `status` field, not @message"
        )
    return problems


EXERCISES = [
    Exercise(
        "05-1",
        "Pick each log group's retention in days: keep at least 45 days for incident reviews, "
        "and 13 months for an audit, with the smallest value CloudWatch Logs accepts.",
        check_retention,
    ),
    Exercise(
        "05-2",
        "Complete create_log_group: create /ecs/llmopstdlive with the Project tag, then put the "
        "stack's retention on it. (Each run deletes the group an earlier attempt made.)",
        check_log_group,
        args=("client", "retention_days"),
        reset=reset_log_group,
    ),
    Exercise(
        "05-3",
        "Write the container's logConfiguration: the awslogs driver, the group, the region, the "
        "stream prefix ecs, group creation on, non-blocking mode with a 25m buffer.",
        check_log_configuration,
    ),
    Exercise(
        "05-4",
        "Complete stream_name: from a task ARN, return the log stream awslogs writes that "
        "task's container output to.",
        check_stream_name,
        args=("task_arn",),
    ),
    Exercise(
        "05-5",
        "Write a Logs Insights query that finds the service's 5xx request lines (and only "
        "those) in its JSON logs.",
        check_insights_query,
    ),
]
