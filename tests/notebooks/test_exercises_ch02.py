"""Chapter 02's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import json

import pytest

from deploy import build_context
from deploy.models.rollout import RolloutConfig
from workbook import exercises
from workbook.checks import ch02
from workbook.solutions import ch02 as solved

ADDED_MB = ch02.measured_image()["added_bytes"] / 1e6  # bench/results/image.json
URLLIB = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"
# Connects and asks, but never reads the status.
STATUS_UNREAD = (
    "import http.client; c = http.client.HTTPConnection('127.0.0.1', 8080, timeout=2); "
    "c.request('GET', '/health'); c.getresponse()"
)
# Fails on an HTTP error, but takes a refused connection for a pass.
REFUSED_IGNORED = """import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)
except urllib.error.HTTPError:
    sys.exit(1)
except urllib.error.URLError:
    pass"""


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 02 with the given context."""
    return exercises.evaluate(exercises.exercises_of("02")[exercise_id], answer, context)


def _text(outcome) -> str:
    return "\n".join(outcome.messages)


def _wrong(exercise_id, answer) -> str:
    """Return the feedback on an answer that must need a fix."""
    outcome = _check(exercise_id, answer)
    assert outcome.status == "to fix", outcome
    return _text(outcome)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("02")))
def test_every_blank_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    for blank in (..., [...], {"command": [...]}, {"pull_s": ...}):
        outcome = _check(exercise_id, blank)
        assert outcome.status == "not done" and f"{exercise_id} not done yet" in str(outcome)


@pytest.mark.parametrize("exercise_id", list(solved.SOLUTIONS))
def test_every_solution_passes(exercise_id):
    """Each stored solution passes its check."""
    outcome = _check(exercise_id, solved.SOLUTIONS[exercise_id]())
    assert outcome.passed, outcome


def test_solutions_pass_twice_in_a_chapter_run(capsys):
    """With solutions injected every check passes, a second run too; the summary counts them."""
    work = exercises.chapter("02", solutions=True)
    for _ in range(2):
        for exercise_id in solved.SOLUTIONS:
            work.check(exercise_id, ...)
    assert capsys.readouterr().out.count("passed") == 8
    assert work.summary() == "chapter 02: 4 exercises · 4 passed · 0 not done yet · 0 to fix"


# ---- 02-1: layer order -----------------------------------------------------------------------


def _moved(step: str, before: str) -> list[str]:
    """Return the solved order with `step` moved just before `before`."""
    steps = [s for s in solved.layer_order() if s != step]
    steps.insert(steps.index(before), step)
    return steps


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_moved("code", "requirements"), "changes the input of 'code' (COPY service/"),
        (_moved("install", "requirements"), "pip finds no /tmp/requirements.txt"),
        (_moved("user", "useradd"), "useradd cannot write /etc/passwd"),
        (_moved("user", "install"), "pip cannot write to the root-owned site-packages"),
        (_moved("workdir", "from"), "'workdir' comes before FROM"),
        ([s for s in solved.layer_order() if s != "user"], "'user' is missing: without USER"),
        ([*solved.layer_order(), "code"], "'code' appears twice"),
        ([*solved.layer_order(), "expose"], "unknown instruction(s) ['expose']"),
        ("from, code", "a list of LINES' keys"),
    ],
    ids=[
        "code-first",
        "install-first",
        "user-before-useradd",
        "user-before-install",
        "workdir-first",
        "missing",
        "twice",
        "unknown",
        "string",
    ],
)
def test_layer_order_check_names_the_mistake(answer, expected):
    """Each order that fails to build, runs as root too early, or defeats the cache is named."""
    assert expected in _wrong("02-1", answer)


def test_code_first_names_the_instruction_that_stops_the_cache():
    """With the code copied before the install, the message points at that COPY and its place."""
    order = _moved("code", "requirements")
    assert ch02.rebuilt(order, "service/app.py")[:3] == ["code", "requirements", "install"]
    assert "instruction 4), so the cache stops there" in _wrong("02-1", order)


def test_rebuilt_is_the_layers_after_the_first_changed_input():
    """A code change rebuilds from the code COPY; a requirements change from its own COPY."""
    order = solved.layer_order()
    assert ch02.rebuilt(order, "service/app.py") == ["code", "user", "cmd"]
    assert ch02.rebuilt(order, "requirements/service.txt")[:2] == ["requirements", "install"]
    assert ch02.rebuilt(order, "README.md") == []


def test_user_before_the_code_copy_is_fine():
    """USER does not change what COPY writes, so switching user before it still passes."""
    assert _check("02-1", _moved("user", "code")).passed


# ---- 02-2: the healthCheck ---------------------------------------------------------------------


def _health(*command: str, **timing) -> dict:
    return {"command": list(command), **timing}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            _health("CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"),
            "runs curl, which python:3.12-slim does not ship (errata 16)",
        ),
        (
            _health("CMD", "wget", "-q", "-O-", "http://localhost:8080/health"),
            "circuit breaker (3 failed tasks here)",
        ),
        (_health("CMD", f'python -c "{URLLIB}"'), "with CMD the next item is the program itself"),
        (_health("python", "-c", URLLIB), "ECS wants 'CMD'"),
        (
            _health(
                "CMD",
                "python",
                "-c",
                "import urllib.request\ntry: urllib.request.urlopen("
                "'http://127.0.0.1:8080/health', timeout=2)\nexcept Exception: pass",
            ),
            "the command exits 0 whatever happens",
        ),
        (_health("CMD", "python", "-c", STATUS_UNREAD), "when /health answers 500"),
        (_health("CMD", "python", "-c", "print('ok')"), "the command exits 0 whatever happens"),
        (_health("CMD", "python", "-c", REFUSED_IGNORED), "with nothing listening on the port"),
        (
            _health("CMD", "python", "-c", URLLIB.replace(":8080", ":80")),
            "the app listens on 8080",
        ),
        (_health("CMD", "python", "-c", URLLIB.replace("/health", "/ready")), "/ready answers 503"),
        (
            _health("CMD", "python", "-c", URLLIB.replace("127.0.0.1", "llmops-alb.example")),
            "in the task's own network namespace",
        ),
        (
            _health("CMD", "python", "-c", URLLIB.replace("urllib", "urlib")),
            "against an app whose /health answers 200 the command exits 1",
        ),
        (_health("CMD", "python", "-c", URLLIB, interval="30s"), "not the Dockerfile"),
        (_health("CMD", "py", "-c", URLLIB), "exits 127 (py: not found)"),
        (_health("CMD", "python", "-c", URLLIB, timeout=90), "whole numbers 2 to 60"),
        (
            {"command": ["CMD", "python", "-c", URLLIB], "start_period": 60},
            "camelCase startPeriod",
        ),
        (["CMD", "python"], "the healthCheck block"),
    ],
    ids=[
        "curl",
        "wget",
        "one-string-cmd",
        "no-form",
        "swallowed",
        "status-unread",
        "always-zero",
        "refused-ignored",
        "alb-port",
        "ready",
        "other-host",
        "raises",
        "docker-duration",
        "no-such-program",
        "timeout-range",
        "docker-key",
        "list",
    ],
)
def test_health_check_names_the_mistake(answer, expected):
    """Each typical broken health check is named with its consequence on ECS."""
    assert expected in _wrong("02-2", answer)


def test_health_checks_built_from_port_or_run_by_shell_pass():
    """The Dockerfile's $PORT form and a CMD-SHELL line both pass: the runs decide."""
    from_env = (
        "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' "
        "% os.environ.get('PORT', '8080'), timeout=2)"
    )
    assert _check("02-2", _health("CMD", "python", "-c", from_env)).passed
    assert _check("02-2", _health("CMD-SHELL", f'python -c "{URLLIB}"', startPeriod=30)).passed


def test_health_solution_is_the_task_definitions():
    """The stored answer is the healthCheck deploy/task-definition.json ships."""
    template = json.loads((ch02.ROOT / "deploy" / "task-definition.json").read_text())
    (container,) = template["containerDefinitions"]
    assert container["healthCheck"] == solved.health_check()


# ---- 02-3: .dockerignore ----------------------------------------------------------------------

DENY = [".env", ".git", ".venv", "build", "notebooks", "**/__pycache__"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            [".venv/   # 915 MB", *DENY[:2], *DENY[3:]],
            "line 1 '.venv/   # 915 MB' is one pattern, spaces and '#' included",
        ),
        ([p for p in DENY if p != ".env"], ".env is sent to the builder: it holds your API keys"),
        ([p for p in DENY if p != ".git"], ".git/HEAD is sent to the builder"),
        ([*DENY[:-1], "__pycache__/"], "'__pycache__/' matches only at the context's root"),
        ([*DENY[:-1], "*.pyc"], "write '**/*.pyc'"),
        (["**", "!service/", "!notes/", "**/__pycache__"], "COPY requirements/service.txt"),
        ([*DENY, "*.txt", "requirements"], "the build fails, as COPY finds nothing there"),
        ([*DENY, "service/templates"], "the image is built without it"),
        ([*solved.dockerignore(), "!.env"], "(line 8 '!.env' lets it back in)"),
        ([*DENY[1:], "  .env  # secrets"], ".env is sent to the builder"),
        (42, "the file's lines"),
    ],
    ids=[
        "inline-comment",
        "env",
        "git",
        "anchored-dir",
        "anchored-glob",
        "allow-list-without-requirements",
        "requirements-out",
        "part-of-service",
        "negated-back",
        "indented-comment",
        "number",
    ],
)
def test_dockerignore_check_names_the_mistake(answer, expected):
    """Each context mistake is named: what leaks, what is lost, and which line did it."""
    assert expected in _wrong("02-3", answer)


def test_the_repository_dockerignore_and_a_deny_list_pass():
    """The real allow-list passes 02-3, as a file's text, and so does a careful deny-list."""
    assert _check("02-3", (ch02.ROOT / ".dockerignore").read_text()).passed
    assert _check("02-3", DENY).passed


def test_only_comments_is_not_done_yet():
    """A file of comments only: 'not done yet', not a list of failures."""
    outcome = _check("02-3", ["# to do later", ""])
    assert outcome.status == "not done" and "no pattern yet" in outcome.messages[0]


def test_matcher_follows_the_builders_rules():
    """Root anchoring, ** at any depth, parent folders, the last matching line wins."""
    rules = build_context.patterns(["*.md", "**/*.pyc", "docs", "!docs/keep.md"])
    assert build_context.decide("README.md", rules)[0]
    assert not build_context.decide("notes/docker.md", rules)[0]  # *.md stops at the root
    assert build_context.decide("service/rag/__pycache__/x.pyc", rules)[0]
    assert build_context.decide("docs/a/b.txt", rules) == (True, "line 3 'docs'")
    assert build_context.decide("docs/keep.md", rules) == (False, "line 4 '!docs/keep.md'")
    assert build_context.patterns(["# note", "  ", " /build/ "]) == [
        (3, " /build/ ", False, "build")
    ]


def test_copied_sources_come_from_the_real_dockerfile():
    """The files needed are those of each context COPY; the venv copied --from=build is not."""
    copies = dict(build_context.copied_sources())
    assert [c.split()[-2] for c in copies] == ["requirements/service.txt", "notes/", "service/"]
    service = next(files for copy, files in copies.items() if "service/" in copy.split()[-2])
    assert "service/app.py" in service and not any(f.endswith(".pyc") for f in service)


# ---- 02-4: pull time -------------------------------------------------------------------------


def test_pull_answers_follow_the_model_and_the_measured_image():
    """88 s for the guide's 4.4 GB at 50 MB/s, again for the next task; ours from bench.image."""
    cfg, want = RolloutConfig(), ch02.pull_answers()
    assert want["pull_s"] == want["next_task_pull_s"] == cfg.pull_s == 88.0
    assert want["billed_before_healthy_s"] == 88.0 + cfg.app_start_s
    assert want["ours_pull_s"] == ch02.measured_image()["image_bytes"] / 1e6 / cfg.pull_mb_per_s


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"next_task_pull_s": 0}, "Fargate caches no layers between tasks (errata 14)"),
        ({"billed_before_healthy_s": 30}, "billing starts when the image download starts"),
        ({"billed_before_healthy_s": 133}, "provisioning before the pull are not billed"),
        ({"billed_before_healthy_s": 88}, "keeps billing while the app starts"),
        ({"pull_s": 704}, "megabytes, not megabits"),
        ({"pull_s": 0.088}, "4.4 GB is 4400 MB"),
        ({"pull_s": 60}, "the whole image ÷ the rate"),
        ({"ours_pull_s": ADDED_MB / 50}, f"pulls only the {ADDED_MB:.0f} MB the Dockerfile adds"),
        ({"ours_pull_s": "12 s"}, "give a number of seconds"),
    ],
    ids=[
        "cached",
        "from-start",
        "provisioning",
        "pull-only",
        "megabits",
        "gigabytes",
        "other",
        "added-only",
        "text",
    ],
)
def test_pull_check_names_the_slip(changes, expected):
    """Each typical slip in the pull arithmetic is named, with the fact behind it."""
    assert expected in _wrong("02-4", {**solved.pull_times(), **changes})


def test_pull_answers_of_the_wrong_shape_are_named():
    """A missing key is refused with the keys expected; rounded figures pass."""
    assert "keys ['pull_s'" in _wrong("02-4", {"pull_s": 88})
    rounded = {k: round(v) for k, v in solved.pull_times().items()}
    assert _check("02-4", rounded).passed
