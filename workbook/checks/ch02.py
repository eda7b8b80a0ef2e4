"""Chapter 02's exercises: layer order, a health check without curl, the context, pull time."""

from __future__ import annotations

import json

from deploy.build_context import copied_sources, decide, pattern_regex, patterns
from deploy.models.rollout import RolloutConfig
from workbook.checks.healthcheck import check_health
from workbook.coverage import ROOT
from workbook.exercises import Exercise, NotDone

# ---- 02-1: the order of a one-stage Dockerfile --------------------------------------------------

# A one-stage version of the runtime image, its instructions named and shuffled (alphabetical).
LINES = {
    "cmd": 'CMD ["python", "-m", "service"]',
    "code": "COPY service/ /app/service/",
    "from": "FROM python:3.12-slim",
    "install": "RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt",
    "requirements": "COPY requirements/service.txt /tmp/requirements.txt",
    "user": "USER 10001",
    "useradd": "RUN useradd --system --uid 10001 --home-dir /app app",
    "workdir": "WORKDIR /app",
}
# The files of the build context each instruction reads (its cache key includes their bytes).
READS = {"requirements": "requirements/service.txt", "code": "service/"}
# What is lost when an instruction is left out.
WITHOUT = {
    "cmd": "without CMD the image keeps the base image's CMD (python3, an interactive "
    "interpreter), which exits at once on ECS: the task stops as soon as it starts",
    "code": "without the code there is no `service` package to run: python -m service fails",
    "from": "every Dockerfile starts FROM a base image",
    "install": "without the install the image has no FastAPI or LangChain: python -m service "
    "fails on its first import",
    "requirements": "the install needs the pinned list copied in first",
    "user": "without USER the process runs as root: a bug in the app (or in a dependency) "
    "then has root in the container",
    "useradd": "the app user is created first, so the process has a name, a group and a home "
    "(/app); a uid with no user behind it runs nameless",
    "workdir": "without WORKDIR /app, python -m service starts in / and cannot import the "
    "package copied to /app/service",
}


def rebuilt(order: list[str], changed: str) -> list[str]:
    """Return the instructions rebuilt after `changed` (a context path) is edited."""
    # The builder reuses each layer up to the first instruction whose inputs changed; that one
    # and every instruction after it run again.
    for at, step in enumerate(order):
        source = READS.get(step)
        if source and (changed == source or changed.startswith(source)):
            return list(order[at:])
    return []


def check_layer_order(answer: object) -> list[str]:
    """Check an order of LINES: it builds, the app user comes last, code after the install."""
    if not isinstance(answer, list | tuple) or not all(isinstance(s, str) for s in answer):
        return ["the answer is a list of LINES' keys, first to last, e.g. ['from', ...]"]
    unknown = [s for s in answer if s not in LINES]
    if unknown:
        return [f"unknown instruction(s) {unknown}: choose from {list(LINES)}"]
    problems = [f"'{s}' appears twice" for s in sorted(set(answer)) if answer.count(s) > 1]
    problems += [f"'{s}' is missing: {WITHOUT[s]}" for s in LINES if s not in answer]
    if problems:
        return problems
    at = {s: answer.index(s) for s in answer}
    if at["from"] != 0:
        return [
            f"'{answer[0]}' comes before FROM: a Dockerfile starts with FROM (only ARG may "
            "come earlier), since every other instruction works on the image FROM names"
        ]
    if at["install"] < at["requirements"]:
        problems.append(
            "'install' runs before 'requirements' copies the list in: pip finds no "
            "/tmp/requirements.txt and the build stops"
        )
    for step in ("useradd", "install"):
        if at[step] > at["user"]:
            problems.append(
                f"'{step}' comes after USER 10001, so it runs as that user, not root: "
                + (
                    "useradd cannot write /etc/passwd (Permission denied)"
                    if step == "useradd"
                    else "pip cannot write to the root-owned site-packages, falls back to a --user "
                    "install (errata 18's trap) and cannot write the user's home either "
                    "(Permission denied)"
                )
                + ". Do the root work first and switch to the app user at the end"
            )
    redone = rebuilt(answer, "service/app.py")
    if "install" in redone:
        first = redone[0]
        problems.append(
            f"a code-only change (service/app.py) changes the input of '{first}' "
            f"({LINES[first]}, instruction {at[first] + 1}), so the cache stops there and every "
            f"later layer is rebuilt, 'install' included: each commit reinstalls every "
            "dependency (minutes, and a new dependency layer, GBs in the guide's image, to push "
            "and for every task to pull). "
            "Copy the requirement list and install it before copying the code"
        )
    return problems


# ---- 02-2: the task definition's healthCheck on a slim image: workbook/checks/healthcheck.py

# ---- 02-3: the .dockerignore ---------------------------------------------------------------------

# Paths a working copy holds that must stay out of the context, and why.
KEEP_OUT = {
    ".env": "it holds your API keys, and whatever is in the context can land in a layer (a "
    "COPY . . or a later edit bakes it in, for anyone who pulls the image to read)",
    ".git/HEAD": "the whole history goes to the builder on every build, every secret ever "
    "committed included, and it changes with each commit",
    ".venv/bin/python": "a virtual environment built for your machine, hundreds of MB sent on "
    "every build; the image builds its own in /opt/venv",
    "build/notebooks/02_containerise.ipynb": "executed notebooks and bench output: the service "
    "never reads them, and they change on every run",
    "notebooks/02_containerise.ipynb": "the chapters are for the lab, not the service: the "
    "image needs only service/, notes/ and the pinned requirements",
    "service/__pycache__/app.cpython-311.pyc": "bytecode from your machine's Python, which "
    "COPY service/ would copy into the image",
}


def _lines(answer: object) -> list[str] | None:
    if isinstance(answer, str):
        return answer.splitlines()
    if isinstance(answer, list | tuple) and all(isinstance(s, str) for s in answer):
        return list(answer)
    return None


def _anchored(path: str, rules: list[tuple[int, str, bool, str]]) -> str | None:
    """Name a slash-free pattern that matches a deeper part of `path` but not at the root."""
    parts = path.split("/")
    for number, line, negated, pattern in rules:
        if negated or "/" in pattern or pattern.startswith("**"):
            continue
        if any(pattern_regex(pattern).match(part) for part in parts[1:]):
            return (
                f"line {number} {line.strip()!r} matches only at the context's root: the builder "
                "anchors every pattern there, unlike .gitignore; write "
                f"'**/{pattern}' to match it in every folder"
            )
    return None


def check_dockerignore(answer: object) -> list[str]:
    """Check .dockerignore lines against the repository's files: what gets in, what stays out."""
    lines = _lines(answer)
    if lines is None:
        return ["the answer is the file's lines: a list of strings (or one string)"]
    rules = patterns(lines)
    if not rules:
        raise NotDone("no pattern yet: every file of the repository would be sent")
    problems = [
        f"line {number} {line.strip()!r} is one pattern, spaces and '#' included: a comment "
        "starts only at the first character of a line (errata 19), so this excludes nothing. "
        "Put the comment on its own line"
        for number, line, _, pattern in rules
        if "#" in pattern
    ]
    for copy, needed in copied_sources():
        lost = [(f, decide(f, rules)[1]) for f in needed if decide(f, rules)[0]]
        if not lost:
            continue
        (first, by), more = lost[0], len(lost) - 1
        outcome = (
            "the build fails, as COPY finds nothing there"
            if more + 1 == len(needed)
            else "the image is built without it, and the app fails when it needs it"
        )
        problems.append(
            f"{copy} needs {first}{f' (and {more} more)' if more else ''}, but {by} leaves it "
            f"out of the context, so {outcome}"
        )
    for path, why in KEEP_OUT.items():
        left_out, by = decide(path, rules)
        if left_out:
            continue
        back = f" ({by} lets it back in)" if by else ""
        hint = _anchored(path, rules)
        problems.append(
            f"{path} is sent to the builder{back}: {why}" + (f". {hint}" if hint else "")
        )
    return problems


# ---- 02-4: pull time on Fargate ------------------------------------------------------------------

PULL_KEYS = ("pull_s", "next_task_pull_s", "billed_before_healthy_s", "ours_pull_s")
IMAGE_RESULTS = ROOT / "bench" / "results" / "image.json"


def measured_image() -> dict:
    """Return our image's measured size in bytes: whole, base layers, added (bench.image)."""
    size = json.loads(IMAGE_RESULTS.read_text())["size"]
    return {k: size[k] for k in ("image_bytes", "base_bytes", "added_bytes")}


def pull_answers() -> dict[str, float]:
    """Return the right answers to 02-4 from the rollout model's assumptions."""
    cfg = RolloutConfig()
    ours = measured_image()["image_bytes"] / 1e6 / cfg.pull_mb_per_s
    return {
        "pull_s": cfg.pull_s,
        "next_task_pull_s": cfg.pull_s,
        "billed_before_healthy_s": cfg.pull_s + cfg.app_start_s,
        "ours_pull_s": ours,
    }


def _near(got: float, want: float, rel: float = 0.03) -> bool:
    """Return True within 3 % or half a second (rounded answers pass)."""
    return abs(got - want) <= max(rel * abs(want), 0.5)


def _why_pull(key: str, got: float, want: dict, cfg: RolloutConfig) -> str:
    """Name the typical slip behind a wrong figure."""
    size_mb, rate = cfg.image_size_gb * 1000, cfg.pull_mb_per_s
    if key == "pull_s":
        if _near(got, size_mb * 8 / rate):
            return f"pull_s {got:g}: the rate is {rate:g} MB/s, megabytes, not megabits"
        if _near(got, cfg.image_size_gb / rate):
            return f"pull_s {got:g}: {cfg.image_size_gb:g} GB is {size_mb:g} MB; divide MB by MB/s"
        return f"pull_s {got:g}: the whole image ÷ the rate, {size_mb:g} MB at {rate:g} MB/s"
    if key == "next_task_pull_s":
        if got < 0.5 * want["pull_s"]:
            return (
                f"next_task_pull_s {got:g}: Fargate caches no layers between tasks (errata "
                "14): each task starts on fresh, isolated capacity and pulls the whole image "
                "again, so "
                "'cached after the first pull' is the guide's myth; only a smaller image (or "
                "a SOCI index, to start before the pull ends) helps"
            )
        return f"next_task_pull_s {got:g}: the next task pulls exactly what the first did"
    if key == "billed_before_healthy_s":
        if _near(got, cfg.app_start_s):
            return (
                f"billed_before_healthy_s {got:g}: billing starts when the image download "
                "starts (errata 6), not when the container starts"
            )
        if _near(got, cfg.provision_s + want["billed_before_healthy_s"]):
            return (
                f"billed_before_healthy_s {got:g}: the {cfg.provision_s:g} s of provisioning "
                "before the pull are not billed; billing starts with the image download"
            )
        if _near(got, want["pull_s"]):
            return (
                f"billed_before_healthy_s {got:g}: the task keeps billing while the app starts "
                f"({cfg.app_start_s:g} s) until /health answers, and after"
            )
        return f"billed_before_healthy_s {got:g}: the pull, then the app's start, are billed"
    image = measured_image()
    if _near(got, image["added_bytes"] / 1e6 / rate):
        return (
            f"ours_pull_s {got:g}: that pulls only the {image['added_bytes'] / 1e6:.0f} MB the "
            "Dockerfile adds; a Fargate task has no base layers cached either, so it pulls "
            f"the whole {image['image_bytes'] / 1e6:.0f} MB image"
        )
    return (
        f"ours_pull_s {got:g}: our whole image, {image['image_bytes'] / 1e6:.0f} MB (as "
        f"measured), at {rate:g} MB/s"
    )


def check_pull(answer: object) -> list[str]:
    """Compare the learner's pull-time figures with the rollout model's."""
    if not isinstance(answer, dict) or set(answer) != set(PULL_KEYS):
        return [f"the answer is a dict with keys {list(PULL_KEYS)}, each a number of seconds"]
    cfg, want, problems = RolloutConfig(), pull_answers(), []
    for key in PULL_KEYS:
        got = answer[key]
        if not isinstance(got, int | float) or isinstance(got, bool):
            problems.append(f"{key}: give a number of seconds, got {got!r}")
        elif not _near(got, want[key]):
            problems.append(_why_pull(key, got, want, cfg))
    return problems


EXERCISES = [
    Exercise(
        "02-1",
        "Order LINES (by key) into a Dockerfile that builds, runs the app as a non-root user, "
        "and reuses the dependency layer when only the code changes.",
        check_layer_order,
    ),
    Exercise(
        "02-2",
        "Write the container's ECS healthCheck for an image built on python:3.12-slim: "
        "command, interval, timeout, retries and startPeriod.",
        check_health,
    ),
    Exercise(
        "02-3",
        "Write the .dockerignore lines that keep .env, .git, .venv, build/, notebooks/ and "
        "bytecode out of the build context while letting in everything the Dockerfile copies.",
        check_dockerignore,
    ),
    Exercise(
        "02-4",
        "With the rollout model's assumptions, compute the seconds Fargate spends pulling "
        "images: the guide's, the next task's, billed before /health answers, and ours.",
        check_pull,
    ),
]
