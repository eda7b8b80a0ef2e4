"""What the build and the pipeline fetch is pinned: actions by commit SHA, the base image by
digest, uv by hash, and Dependabot is configured to propose the bumps."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.y*ml"))
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)[ \t]*(?:#[ \t]*(?P<tag>.*?))?\s*$")
_SHA = re.compile(r"[0-9a-f]{40}")
_TAG = re.compile(r"v\d+(\.\d+)*")
_IMAGE = re.compile(r"python:3\.12-slim@sha256:[0-9a-f]{64}")


# ---------------------------------------------------------------- actions pinned by SHA


def _uses_lines(text: str) -> list[re.Match]:
    return [m for m in map(_USES.match, text.splitlines()) if m]


def _yaml_uses(text: str) -> list[str]:
    """Return every `uses:` value the workflow's YAML holds (steps and reusable workflows)."""
    jobs = yaml.safe_load(text)["jobs"].values()
    refs = [job["uses"] for job in jobs if "uses" in job]
    return refs + [s["uses"] for job in jobs for s in job.get("steps", []) if "uses" in s]


def pin_problems(text: str) -> list[str]:
    """Return every `uses:` that is not a full commit SHA with its release tag in a comment."""
    problems = []
    lines = _uses_lines(text)
    if sorted(m["ref"] for m in lines) != sorted(_yaml_uses(text)):
        problems.append("a `uses:` is written in a form this check cannot read (one per line)")
    for m in lines:
        ref, tag = m["ref"], m["tag"] or ""
        if ref.startswith(("./", "docker://")):
            continue  # a local action or an image, not a repository at a ref
        _, _, version = ref.partition("@")
        if not _SHA.fullmatch(version):
            problems.append(f"{ref} is not pinned to a full 40-character commit SHA")
        elif not _TAG.fullmatch(tag):
            problems.append(f"{ref} has no `# vX.Y.Z` comment naming its release tag")
    return problems


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_sha_with_its_tag(path):
    assert _uses_lines(path.read_text()), "no `uses:` found: the check would pass vacuously"
    assert pin_problems(path.read_text()) == []


def test_an_action_has_the_same_pin_in_every_workflow():
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for m in _uses_lines(path.read_text()):
            action, _, version = m["ref"].partition("@")
            pins.setdefault(action, set()).add(f"{version} # {m['tag']}")
    assert {a: v for a, v in pins.items() if len(v) > 1} == {}


SHA = "fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09"


def _steps(*uses: str) -> str:
    return "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n" + "".join(
        f"      - uses: {u}\n" for u in uses
    )


@pytest.mark.parametrize(
    ("uses", "problem"),
    [
        ("actions/checkout@v5", "not pinned to a full 40-character commit SHA"),
        ("actions/checkout@main", "not pinned"),
        (f"actions/checkout@{SHA[:12]} # v5.1.0", "not pinned"),
        (f"actions/checkout@{SHA.upper()} # v5.1.0", "not pinned"),
        ("actions/checkout", "not pinned"),
        (f"actions/checkout@{SHA}", "no `# vX.Y.Z` comment"),
        (f"actions/checkout@{SHA} # pinned", "no `# vX.Y.Z` comment"),
    ],
)
def test_a_loose_pin_is_reported(uses, problem):
    (found,) = pin_problems(_steps(uses))
    assert problem in found


def test_local_actions_and_images_need_no_sha():
    text = _steps("./.github/actions/setup", "docker://alpine:3.20", f"a/b@{SHA} # v1.2.3")
    assert pin_problems(text) == []


def test_a_uses_the_line_check_cannot_see_is_reported():
    text = _steps(f"a/b@{SHA} # v1") + "      - {uses: actions/checkout@v5}\n"
    assert pin_problems(text)[0].startswith("a `uses:` is written in a form")


# ---------------------------------------------------------------- Dependabot


def test_dependabot_updates_actions_pip_and_the_base_image_weekly():
    config = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text())
    assert config["version"] == 2
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"github-actions", "pip", "docker"}
    for ecosystem, update in updates.items():
        assert update["directory"] == "/", ecosystem
        assert update["schedule"]["interval"] == "weekly", ecosystem


# ---------------------------------------------------------------- the Dockerfile


def _instructions(text: str) -> list[tuple[str, str]]:
    """Return the Dockerfile's (INSTRUCTION, arguments), continuation lines joined."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    out = []
    for line in filter(str.strip, joined.splitlines()):
        word, _, rest = line.strip().partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
    return out


def dockerfile_problems(text: str, ci_image: str) -> list[str]:
    """Return every way the Dockerfile's base image or uv is not pinned, or pins disagree."""
    problems = []
    steps = _instructions(text)
    args = [a for i, a in steps if i == "ARG" and a.startswith("PYTHON_IMAGE=")]
    default = args[0].partition("=")[2] if args else ""
    if not _IMAGE.fullmatch(default):
        problems.append(f"ARG PYTHON_IMAGE={default} is not python:3.12-slim@sha256:<digest>")
    froms = [a for i, a in steps if i == "FROM"]
    if sum(a.startswith("${PYTHON_IMAGE} AS ") for a in froms) != 2:
        problems.append("the build and runtime stages must both start FROM ${PYTHON_IMAGE}")
    if f"{default} AS base-pin" not in froms:
        problems.append("no `FROM <the ARG's image> AS base-pin` for Dependabot to bump")
    if any("base-pin" in a and not a.endswith(" AS base-pin") for _, a in steps):
        problems.append("a stage uses base-pin: it exists only for Dependabot")
    if ci_image != default:
        problems.append(f"ci.yml builds on {ci_image}, the Dockerfile on {default}")
    uv = next((a for i, a in steps if i == "RUN" and "uv==" in a and "pip install" in a), "")
    if not re.search(r"\buv==\d+\.\d+\.\d+\b(?![.*])", uv) or "--require-hashes" not in uv:
        problems.append("uv must be installed at an exact version with --require-hashes")
    if len(re.findall(r"--hash=sha256:[0-9a-f]{64}\b", uv)) < 2:
        problems.append("uv needs the sha256 of its x86_64 and aarch64 wheels")
    return problems


def _ci_image() -> str:
    return yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())["env"]["PYTHON_IMAGE"]


def test_the_base_image_and_uv_are_pinned_and_ci_builds_on_the_same_digest():
    assert dockerfile_problems((ROOT / "Dockerfile").read_text(), _ci_image()) == []


def _uv_pin(text: str) -> str:
    """Return the RUN line that installs uv (its version and wheel hashes), normalised."""
    return next(a for i, a in _instructions(text) if i == "RUN" and "uv==" in a)


def test_the_compose_moto_image_pins_uv_as_the_service_image_does():
    # Dependabot bumps neither: the two pins are bumped together, by hand.
    assert _uv_pin((ROOT / "compose/moto.Dockerfile").read_text()) == _uv_pin(
        (ROOT / "Dockerfile").read_text()
    )


def test_a_base_image_pinned_by_tag_only_is_reported():
    text = (ROOT / "Dockerfile").read_text()
    loose = text.replace(f"ARG PYTHON_IMAGE={_ci_image()}", "ARG PYTHON_IMAGE=python:3.12-slim")
    problems = dockerfile_problems(loose, _ci_image())
    assert "ARG PYTHON_IMAGE=python:3.12-slim is not python:3.12-slim@sha256:<digest>" in problems


def test_a_stage_built_on_the_pin_stage_is_reported():
    text = (
        (ROOT / "Dockerfile")
        .read_text()
        .replace("FROM ${PYTHON_IMAGE} AS runtime", "FROM base-pin AS runtime")
    )
    problems = dockerfile_problems(text, _ci_image())
    assert "a stage uses base-pin: it exists only for Dependabot" in problems


def test_a_dependabot_bump_of_only_the_pin_stage_is_reported():
    text = (ROOT / "Dockerfile").read_text()
    bumped = re.sub(r"(FROM python:3\.12-slim@sha256:)[0-9a-f]{64}", r"\g<1>" + "1" * 64, text)
    assert dockerfile_problems(bumped, _ci_image()) == [
        "no `FROM <the ARG's image> AS base-pin` for Dependabot to bump"
    ]


def test_ci_building_on_another_base_is_reported():
    problems = dockerfile_problems((ROOT / "Dockerfile").read_text(), "python:3.12-slim")
    assert problems == [f"ci.yml builds on python:3.12-slim, the Dockerfile on {_ci_image()}"]


def test_uv_from_a_version_range_without_hashes_is_reported():
    text = (ROOT / "Dockerfile").read_text()
    start = text.index('RUN echo "uv==')
    end = text.index("rm /tmp/uv.txt") + len("rm /tmp/uv.txt")
    loose = text[:start] + 'RUN pip install --no-cache-dir "uv==0.13.*"' + text[end:]
    assert dockerfile_problems(loose, _ci_image()) == [
        "uv must be installed at an exact version with --require-hashes",
        "uv needs the sha256 of its x86_64 and aarch64 wheels",
    ]


def test_uv_with_a_single_wheel_hash_is_reported():
    text = (ROOT / "Dockerfile").read_text()
    one = re.sub(r'\s*"--hash=sha256:5435c5[0-9a-f]+" \\\n', " ", text)
    assert one != text
    assert dockerfile_problems(one, _ci_image()) == [
        "uv needs the sha256 of its x86_64 and aarch64 wheels"
    ]


def test_compose_and_the_dev_images_default_to_the_dockerfile_base():
    default = next(
        a.partition("=")[2]
        for i, a in _instructions((ROOT / "Dockerfile").read_text())
        if i == "ARG" and a.startswith("PYTHON_IMAGE=")
    )
    uses = {
        path: re.findall(
            r"(?:PYTHON_IMAGE:-|^ARG PYTHON_IMAGE=)([^}\s]+)", (ROOT / path).read_text(), re.M
        )
        for path in (
            "docker-compose.yml",
            "compose/local-images.yml",
            "compose/lab.Dockerfile",
            "compose/moto.Dockerfile",
        )
    }
    assert all(uses.values()), uses  # each file names a default
    assert {path: set(found) for path, found in uses.items()} == {p: {default} for p in uses}
