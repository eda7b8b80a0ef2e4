"""Chapter 07's exercises: the :80 listener, health checks from a requirement, matcher, drain."""

from __future__ import annotations

from deploy.aws.names import StackNames
from deploy.models import rollout
from deploy.resources import alb
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone

# AWS's ranges for an HTTP target group's health check (ELB API reference, CreateTargetGroup):
# interval 5-300 s, timeout 2-120 s and smaller than the interval, thresholds 2-10.
INTERVAL, TIMEOUT, THRESHOLD = (5, 300), (2, 120), (2, 10)
# 07-2's requirement: a dead task is marked unhealthy within DETECT_S; /health may take up to
# SLOW_S to answer under load, and must not fail for that.
DETECT_S, SLOW_S = 30, 3
# 07-4's requirement: answers stream for up to STREAM_S; tasks run on Fargate Spot, which
# warns SPOT_WARNING_S before it reclaims the capacity (AWS: "Fargate Spot termination notices").
STREAM_S, SPOT_WARNING_S = 45, 120
HEALTH_CODE = 204  # 07-3: what the app's /health answers


# ---- 07-1: the :80 listener (moto) -------------------------------------------------------------


def _listeners(ctx: AwsContext, names: StackNames) -> list[dict]:
    found = alb.find(ctx, names)
    if found.load_balancer is None:
        raise NotDone(f"no load balancer named {names.alb}: run the by-hand ALB cell first")
    return [found.listeners[port] for port in sorted(found.listeners)]


def check_listener(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Check the listeners the learner's function left on the ALB against the reference."""
    listeners = _listeners(ctx, names)
    if not listeners:
        raise NotDone(f"{names.alb} has no listener after your function ran: call create_listener")
    tg_arn = alb.target_group_arn(ctx, names)
    problems = []
    for li in listeners:
        port, protocol = li["Port"], li["Protocol"]
        if port != 80:
            why = (
                f"{port} is the container's port: the ALB talks to the tasks on it (the target "
                "group's port), clients never do"
                if port == names.container_port
                else "the ALB's security group admits 80 only, so no client reaches it"
            )
            problems.append(f"listener on port {port}: clients connect to the ALB on 80; {why}")
        if protocol == "HTTPS" and not li.get("Certificates"):
            problems.append(
                "HTTPS listener without a certificate: AWS refuses it (CertificateNotFound; moto "
                "stores it anyway); plain HTTP on 80 until there is an ACM certificate"
            )
        elif protocol != "HTTP":
            problems.append(f"listener protocol is {protocol}; the ALB's :80 listener is HTTP")
        actions = li.get("DefaultActions") or []
        kinds = [a.get("Type") for a in actions]
        if kinds != ["forward"]:
            problems.append(
                f"default action is {kinds}: without a certificate :80 forwards to the target "
                "group (a redirect to HTTPS needs a :443 listener to land on)"
            )
        elif actions[0].get("TargetGroupArn") != tg_arn:
            problems.append(
                f"the listener forwards to {actions[0].get('TargetGroupArn')}, not to "
                f"{names.target_group}: the tasks registered there never get a request"
            )
    if problems:
        return problems
    found = compare.against_reference(ctx, names, {"alb": [f"{names.alb}:80"]})
    return [f"{f.field}: {f.message}" for f in found.findings]


def reset_listener(ctx: AwsContext, names: StackNames) -> None:
    """Delete every listener an earlier attempt left on the ALB."""
    elb = ctx.client("elbv2")
    for li in alb.find(ctx, names).listeners.values():
        elb.delete_listener(ListenerArn=li["ListenerArn"])


# ---- 07-2: health-check settings from a requirement ---------------------------------------------


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_requirement(answer: object) -> list[str]:
    """Check settings that mark a dead task unhealthy within 30 s without failing a slow one."""
    keys = {"HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "UnhealthyThresholdCount"}
    if not isinstance(answer, dict) or set(answer) != keys:
        return [f"the answer is a dict with exactly the keys {sorted(keys)}"]
    interval = answer["HealthCheckIntervalSeconds"]
    timeout = answer["HealthCheckTimeoutSeconds"]
    threshold = answer["UnhealthyThresholdCount"]
    if not all(_whole(v) for v in (interval, timeout, threshold)):
        return ["each setting is a whole number (seconds, or a count of checks)"]
    problems = []
    for name, value, (low, high) in (
        ("HealthCheckIntervalSeconds", interval, INTERVAL),
        ("HealthCheckTimeoutSeconds", timeout, TIMEOUT),
        ("UnhealthyThresholdCount", threshold, THRESHOLD),
    ):
        if not low <= value <= high:
            problems.append(f"{name} {value}: AWS accepts {low}-{high} and refuses the request")
    if timeout >= interval:
        problems.append(
            f"timeout {timeout} s is not smaller than the interval {interval} s: AWS refuses it "
            "(a probe must end before the next one starts; moto stores it anyway)"
        )
    if problems:
        return problems
    detect = rollout.time_to_unhealthy(interval, threshold)
    if detect > DETECT_S:
        problems.append(
            f"a dead task is marked unhealthy after {threshold} failed checks {interval} s apart,"
            f" {detect:.0f} s (the last of them flips it, not one more; model): over "
            f"the {DETECT_S} s required"
        )
    if timeout <= SLOW_S:
        problems.append(
            f"timeout {timeout} s: /health can take {SLOW_S} s under load, so a busy but alive "
            "task fails with Target.Timeout and can be replaced for being slow; give it more "
            f"than {SLOW_S} s"
        )
    if not problems and threshold > THRESHOLD[0]:
        problems.append(
            f"threshold {threshold} at {interval} s works, but a threshold of 2 allows an "
            f"interval of {DETECT_S // 2} s: the same detection with fewer probes"
        )
    elif not problems and interval < DETECT_S // THRESHOLD[0]:
        best = DETECT_S // THRESHOLD[0]
        problems.append(
            f"it meets the {DETECT_S} s, but probes every {interval} s: every ALB node probes "
            f"every target, so fewer probes is better; interval {best} s with threshold 2 also "
            f"detects in {DETECT_S} s"
        )
    return problems


# ---- 07-3: the matcher for an app whose /health answers 204 --------------------------------------


def check_matcher(answer: object) -> list[str]:
    """Check a target group Matcher for a /health that answers 204 No Content."""
    from emulator.health import Matcher  # the data plane's own parser (AWS's syntax)

    if not isinstance(answer, dict) or set(answer) != {"HttpCode"}:
        return ['the answer is the Matcher field: {"HttpCode": "..."}']
    code = answer["HttpCode"]
    if not isinstance(code, str):
        return [f"HttpCode is a string such as '200' or '200-299', got {code!r}"]
    try:
        matcher = Matcher.parse(code)
    except ValueError as exc:
        return [
            f"{exc}: AWS refuses it (moto stores it, and the local data plane then cannot "
            "judge a probe); '2xx' is not a range, '200-299' is"
        ]
    problems = []
    if not matcher.matches(HEALTH_CODE):
        problems.append(
            f"HttpCode {code!r} does not accept {HEALTH_CODE}: every probe fails with "
            f"Target.ResponseCodeMismatch ('Health checks failed with these codes: "
            f"[{HEALTH_CODE}]'), so no task ever turns healthy and the ALB answers 503"
        )
    wide = [c for c in (301, 302, 404, 500, 503) if matcher.matches(c)]
    if wide:
        problems.append(
            f"HttpCode {code!r} also accepts {wide}: a redirect, a wrong path or a broken app "
            "would then pass the health check; accept only success codes"
        )
    return problems


# ---- 07-4: the deregistration delay for long answers on Fargate Spot ----------------------------


def check_drain(answer: object) -> list[str]:
    """Check a deregistration delay for 45 s answers on Fargate Spot."""
    if not _whole(answer):
        return [f"the answer is a whole number of seconds, got {answer!r}"]
    if not 0 <= answer <= 3600:
        return [f"deregistration delay {answer}: AWS accepts 0-3600 seconds"]
    if answer < STREAM_S:
        return [
            f"{answer} s of draining: an answer still streaming after that is cut off when the "
            f"target is removed (the client sees a broken response); answers take up to "
            f"{STREAM_S} s, so drain at least that long"
        ]
    if answer >= SPOT_WARNING_S:
        extra = " (AWS's default)" if answer == 300 else ""
        return [
            f"{answer} s{extra}: Fargate Spot reclaims a task {SPOT_WARNING_S} s after its "
            "warning, so the drain is cut short anyway; every deployment also waits this long "
            f"per replaced task; stay between {STREAM_S} and {SPOT_WARNING_S} s"
        ]
    return []


EXERCISES = [
    Exercise(
        "07-1",
        "Complete create_http_listener: an HTTP listener on port 80 of the ALB whose default "
        "action forwards to the target group. (Each run deletes the ALB's listeners an earlier "
        "attempt made, then calls your function.)",
        check_listener,
        args=("client", "lb_arn", "tg_arn"),
        reset=reset_listener,
    ),
    Exercise(
        "07-2",
        f"Choose the interval, timeout and unhealthy threshold so a dead task is marked "
        f"unhealthy within {DETECT_S} s, a /health that takes {SLOW_S} s under load still passes, "
        "and the ALB probes as rarely as that allows.",
        check_requirement,
    ),
    Exercise(
        "07-3",
        f"The app's /health answers {HEALTH_CODE} No Content. Write the target group's Matcher.",
        check_matcher,
    ),
    Exercise(
        "07-4",
        f"Answers stream for up to {STREAM_S} s and the tasks run on Fargate Spot. Choose the "
        "deregistration delay in seconds.",
        check_drain,
    ),
]
