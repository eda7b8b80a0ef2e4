"""Load the question bank from YAML through the schema, with file:line errors."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from quizzes import compute
from quizzes.errors import BankError, ComputeError, DuplicateIdError, UnknownReferenceError
from quizzes.schema import (
    CHAPTERS,
    ERRATA,
    INTERVIEW_QUESTIONS,
    BankFile,
    FreeTextItem,
    Item,
    NumericAnswer,
    Section,
)

# libyaml's safe loader when available: the bank parses ~15x faster than pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Bank:
    """The loaded bank: items by id, where each came from, and the guide's sections."""

    items: dict[str, Item] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, item_id: str) -> Item:
        """Return one item by id (KeyError names the id)."""
        return self.items[item_id]

    def select(
        self,
        *,
        topic: str | None = None,
        chapter: str | None = None,
        types: tuple[str, ...] | None = None,
    ) -> list[Item]:
        """Return items filtered by topic, chapter and type, in bank order."""
        return [
            it
            for it in self.items.values()
            if (topic is None or it.topic == topic)
            and (chapter is None or it.chapter == chapter)
            and (types is None or it.type in types)
        ]

    def free_text(self) -> list[FreeTextItem]:
        """Return the free-text items."""
        return [it for it in self.items.values() if isinstance(it, FreeTextItem)]

    def interview(self) -> dict[int, FreeTextItem]:
        """Return the items that answer the guide's interview questions, by question number."""
        return {it.interview_question: it for it in self.free_text() if it.interview_question}


def _node_at(root: yaml.Node, loc: tuple) -> tuple[yaml.Node, str | None]:
    """Walk a composed YAML node along a pydantic error location; return the deepest node."""
    node, missing = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if getattr(k, "value", None) == part]
            if match:
                node = match[0]
            elif isinstance(part, str):
                missing = part  # a discriminator tag or a missing field: stay on this node
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            node = node.value[part]
    return node, missing


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _item_id(root: yaml.Node, loc: tuple) -> str | None:
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
        item, _ = _node_at(root, loc[:2])
        idn, _ = _node_at(item, ("id",))
        if isinstance(idn, yaml.ScalarNode) and idn is not item:
            return idn.value
    return None


def _field_name(loc: tuple, item_type: str | None) -> str:
    parts = (
        [str(p) for p in loc[2:] if p != item_type]
        if loc[:1] == ("items",)
        else list(map(str, loc))
    )
    return ".".join(parts) or "(item)"


def parse_file(path: Path) -> tuple[BankFile, yaml.Node]:
    """Parse and validate one topic file; raise BankError naming file, line and field."""
    text = path.read_text(encoding="utf-8")
    try:
        loader = _LOADER(text)  # one parse: the node tree (for line numbers) and the data
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BankError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            path=str(path),
            line=mark.line + 1 if mark else None,
        ) from exc
    if root is None or not isinstance(data, dict):
        raise BankError("expected a mapping with 'topic' and 'items'", path=str(path), line=1)
    try:
        bank_file = BankFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        node, _ = _node_at(root, loc)
        item_type = loc[2] if len(loc) > 2 and isinstance(loc[2], str) else None
        item_id = _item_id(root, loc)
        more = f" (+{exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        who = f"item {item_id}: " if item_id else ""
        raise BankError(
            f"{who}{err['msg']}{more}",
            path=str(path),
            line=_line(node),
            field=_field_name(loc, item_type),
        ) from exc
    if bank_file.topic != path.stem:
        node, _ = _node_at(root, ("topic",))
        raise BankError(
            f"topic {bank_file.topic!r} does not match the file name {path.stem!r}",
            path=str(path),
            line=_line(node),
            field="topic",
        )
    return bank_file, root


def load_sections(path: Path) -> list[Section]:
    """Load quizzes/sections.yaml (a list of {id, title, line}, or {sections: [...]})."""
    if not path.exists():
        raise BankError("sections file not found", path=str(path))
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise BankError(f"not valid YAML: {exc}", path=str(path)) from exc
    if isinstance(data, dict):
        data = data.get("sections")
    try:
        sections = TypeAdapter(list[Section]).validate_python(data)
    except ValidationError as exc:
        raise BankError(f"bad sections list: {exc.errors()[0]['msg']}", path=str(path)) from exc
    ids = [s.id for s in sections]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise BankError(f"section ids repeat: {dupes}", path=str(path))
    return sections


def _check_refs(item: Item, section_ids: set[str], path: str, root: yaml.Node, idx: int) -> None:
    def fail(msg: str, fld: str) -> None:
        node, _ = _node_at(root, ("items", idx, fld))
        raise UnknownReferenceError(
            f"item {item.id}: {msg}", path=path, line=_line(node), field=fld
        )

    if not item.id.startswith(f"{Path(path).stem}-"):
        fail(f"id must start with the topic '{Path(path).stem}-'", "id")
    if item.chapter not in CHAPTERS:
        fail(f"unknown chapter {item.chapter!r}", "chapter")
    if item.guide_section not in section_ids:
        fail(f"unknown guide section {item.guide_section!r}", "guide_section")
    if item.erratum is not None and item.erratum not in ERRATA:
        fail(f"unknown erratum {item.erratum}", "erratum")


def load_bank(
    bank_dir: Path | None = None, sections_path: Path | None = None, *, resolve_compute: bool = True
) -> Bank:
    """Load every quizzes/bank/*.yaml, check ids and references, resolve computed numbers."""
    from quizzes.config import get_settings  # settings only when the caller gives no paths

    bank_dir = Path(bank_dir or get_settings().bank_dir)
    sections_path = Path(sections_path or get_settings().sections_path)
    if not bank_dir.is_dir():
        raise BankError("bank directory not found", path=str(bank_dir))
    bank = Bank(sections=load_sections(sections_path))
    section_ids = {s.id for s in bank.sections}
    roots: dict[str, tuple[str, yaml.Node, int]] = {}
    for path in sorted(bank_dir.glob("*.yaml")):
        bank_file, root = parse_file(path)
        for idx, item in enumerate(bank_file.items):
            line = _line(_node_at(root, ("items", idx))[0])
            if item.id in bank.where:
                first = "{}:{}".format(*bank.where[item.id])
                raise DuplicateIdError(
                    f"duplicate id {item.id!r} (first defined at {first})",
                    path=str(path),
                    line=line,
                    field="id",
                )
            _check_refs(item, section_ids, str(path), root, idx)
            if resolve_compute and getattr(item, "compute", None) is not None:
                item = _resolve(item, str(path), root, idx)
            bank.items[item.id] = item
            bank.where[item.id] = (str(path), line)
            roots[item.id] = (str(path), root, idx)
    for item in bank.items.values():  # follow-ups may point to any file
        for ref in item.follow_ups:
            if ref not in bank.items:
                path, root, idx = roots[item.id]
                node, _ = _node_at(root, ("items", idx, "follow_ups"))
                raise UnknownReferenceError(
                    f"item {item.id}: unknown follow-up {ref!r}",
                    path=path,
                    line=_line(node),
                    field="follow_ups",
                )
    _check_interview(bank, str(bank_dir))
    return bank


def _check_interview(bank: Bank, bank_dir: str) -> None:
    """Each guide question Qn is answered by one item; a bank marking none (a fixture) is fine."""
    seen: dict[int, str] = {}
    for item in bank.free_text():
        n = item.interview_question
        if n is None:
            continue
        if n in seen:
            path, line = bank.where[item.id]
            raise DuplicateIdError(
                f"item {item.id}: interview question Q{n} is already answered by {seen[n]}",
                path=path,
                line=line,
                field="interview_question",
            )
        seen[n] = item.id
    missing = [f"Q{n}" for n in INTERVIEW_QUESTIONS if n not in seen]
    if seen and missing:
        raise UnknownReferenceError(
            f"no item answers interview question(s) {', '.join(missing)} "
            "(mark one free-text item with interview_question: N for each)",
            path=bank_dir,
            field="interview_question",
        )


def _resolve(item, path: str, root: yaml.Node, idx: int):
    c = item.compute
    try:
        value = compute.resolve(c)
    except ComputeError as exc:
        node, _ = _node_at(root, ("items", idx, "compute"))
        raise ComputeError(
            f"item {item.id}: {exc.message}", path=path, line=_line(node), field=exc.field
        ) from exc
    return item.model_copy(
        update={"answer": NumericAnswer(value=value, tolerance=c.tolerance, unit=c.unit)}
    )
