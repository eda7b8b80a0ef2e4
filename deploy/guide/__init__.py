"""Load the guide's claims and scenarios: the YAML files in this folder, which the models read.

Each file has a schema in `deploy.guide.schema`; `load` reads one file and checks it, and every
problem is reported as a GuideDataError naming the file and the field (e.g.
`cost_claims.yaml: claims[3] (id 'fargate-3-tasks').unit: Field required`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from deploy.aws.errors import DeployError

GUIDE_DIR = Path(__file__).parent

M = TypeVar("M", bound=BaseModel)


class GuideDataError(DeployError, ValueError):
    """A guide data file is missing, is not YAML or has a bad field (the message names both)."""


def path(name: str, directory: Path = GUIDE_DIR) -> Path:
    """Return the file that holds the guide data called `name` (e.g. "monday")."""
    return Path(directory) / f"{name}.yaml"


def _field_name(data: Any, loc: Sequence[str | int]) -> str:
    """Return a field path such as `claims[3] (id 'x').unit`, naming list items by their id."""
    out, node = "", data
    for key in loc:
        if isinstance(key, int):
            out += f"[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, Mapping) and "id" in node:
                out += f" (id {node['id']!r})"
        else:
            out += f".{key}" if out else str(key)
            node = node.get(key) if isinstance(node, Mapping) else None
    return out or "(the whole file)"


def load(
    name: str,
    schema: type[M],
    *,
    directory: Path = GUIDE_DIR,
    context: Mapping[str, Any] | None = None,
) -> M:
    """Read `<directory>/<name>.yaml` and return it checked against `schema`."""
    file = path(name, directory)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GuideDataError(f"{file}: guide data file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GuideDataError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise GuideDataError(f"{file}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return schema.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_name(data, err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise GuideDataError(f"{file}: {problems}") from None
