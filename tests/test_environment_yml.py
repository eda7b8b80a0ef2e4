"""environment.yml (conda, for JupyterLab users) stays in step with pyproject.toml."""

import copy
import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CONDA_TOOLS = {"python", "pip"}  # what conda itself provides; everything else is pyproject's
_EDITABLE = re.compile(r"^-e\s+[\"']?\.\[(?P<extras>[^\]]+)\][\"']?$")


def _load() -> tuple[dict, dict]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return env, project


def _closure(project: dict, extras: list[str]) -> dict[str, Requirement]:
    """Return every requirement the project pulls in with `extras` (self-references expanded)."""
    name = canonicalize_name(project["project"]["name"])
    optional = project["project"]["optional-dependencies"]
    out = {
        canonicalize_name(r.name): r for r in map(Requirement, project["project"]["dependencies"])
    }
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in optional[extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == name:
                todo.extend(req.extras)
            else:
                out.setdefault(canonicalize_name(req.name), req)
    return out


def drift(env: dict, project: dict) -> list[str]:
    """Return every way environment.yml disagrees with pyproject.toml (empty when in step)."""
    problems: list[str] = []
    conda = [d for d in env.get("dependencies", []) if isinstance(d, str)]
    pip = [p for d in env.get("dependencies", []) if isinstance(d, dict) for p in d.get("pip", [])]
    pythons = [d for d in conda if re.split(r"[=<>!~ ]", d, maxsplit=1)[0] == "python"]
    if len(pythons) != 1 or "=" not in pythons[0]:
        problems.append(f"environment.yml must pin one python version, found {pythons}")
    else:
        version = Version(pythons[0].split("=")[-1].lstrip("="))
        if version not in SpecifierSet(project["project"]["requires-python"]):
            problems.append(
                f"python {version} does not satisfy requires-python "
                f"{project['project']['requires-python']}"
            )
    if "pip" not in conda:
        problems.append("environment.yml needs `pip` to install the project")
    editable = [m for m in map(_EDITABLE.match, pip) if m]
    if len(editable) != 1:
        problems.append(f'the pip section must install the project once (-e ".[lab]"), got {pip}')
        return problems
    extras = [e.strip() for e in editable[0]["extras"].split(",")]
    known = project["project"]["optional-dependencies"]
    problems += [f"extra {e!r} is not defined in pyproject.toml" for e in extras if e not in known]
    if "lab" not in extras:
        problems.append(
            "the environment must install the `lab` extra (JupyterLab and the emulator)"
        )
    if problems:
        return problems
    wanted = _closure(project, extras)
    for line in pip:
        if _EDITABLE.match(line):
            continue
        req = Requirement(line)
        if canonicalize_name(req.name) not in wanted:
            problems.append(f"pip package {req.name} is not a dependency in pyproject.toml")
        elif str(req.specifier) != str(wanted[canonicalize_name(req.name)].specifier):
            problems.append(f"pip package {req.name}{req.specifier} differs from pyproject.toml")
    for line in conda:
        name = canonicalize_name(re.split(r"[=<>!~ ]", line, maxsplit=1)[0])
        if name not in CONDA_TOOLS and name not in wanted:
            problems.append(f"conda package {name} is not a dependency in pyproject.toml")
    if "jupyterlab" not in wanted:
        problems.append("the installed extras do not bring JupyterLab")
    return problems


def test_environment_yml_is_in_step_with_pyproject():
    env, project = _load()
    assert drift(env, project) == []


def test_environment_is_python_312_for_jupyterlab_users():
    env, _ = _load()
    assert "python=3.12" in env["dependencies"]


def test_a_package_pyproject_does_not_declare_is_reported():
    env, project = _load()
    env = copy.deepcopy(env)
    env["dependencies"].insert(0, "pandas")
    assert drift(env, project) == ["conda package pandas is not a dependency in pyproject.toml"]


def test_a_pip_pin_that_differs_from_pyproject_is_reported():
    env, project = _load()
    env = copy.deepcopy(env)
    env["dependencies"][-1]["pip"].append("boto3>=1.0")
    assert drift(env, project) == ["pip package boto3>=1.0 differs from pyproject.toml"]


def test_an_extra_removed_from_pyproject_is_reported():
    env, project = _load()
    project = copy.deepcopy(project)
    del project["project"]["optional-dependencies"]["lab"]
    problems = drift(env, project)
    assert "extra 'lab' is not defined in pyproject.toml" in problems


def test_a_python_outside_requires_python_is_reported():
    env, project = _load()
    env = copy.deepcopy(env)
    env["dependencies"] = ["python=3.10" if d == "python=3.12" else d for d in env["dependencies"]]
    assert drift(env, project) == ["python 3.10 does not satisfy requires-python >=3.11"]


def test_jupyterlab_leaving_the_lab_extra_is_reported():
    env, project = _load()
    project = copy.deepcopy(project)
    lab = project["project"]["optional-dependencies"]["lab"]
    lab[:] = [r for r in lab if not r.startswith("jupyterlab")]
    assert drift(env, project) == ["the installed extras do not bring JupyterLab"]
