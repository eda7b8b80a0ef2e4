"""Execute the chapter notebooks with papermill and render an HTML report for each."""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from workbook.coverage import NOTEBOOK_DIR, ROOT, chapter_files
from workbook.report import MERMAID_JS, render_html

BUILD_DIR = ROOT / "build" / "notebooks"
KERNEL_NAME = "ecs-workbook"  # a kernelspec whose python is this venv's python
DEFAULT_PARAMETERS = {"BACKEND": "moto"}


class NotebookRunError(RuntimeError):
    """A chapter filter matched nothing, or a kernel could not be set up."""


@dataclass
class ChapterResult:
    """How one chapter's run went."""

    chapter: str
    path: Path
    output: Path
    status: str  # "ok" or "failed"
    seconds: float
    error: str = ""
    html: Path | None = None

    @property
    def ok(self) -> bool:
        """Return True when every cell ran."""
        return self.status == "ok"


def select(chapters: list[str] | None = None, notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """Return the chapter notebooks, filtered by number ("03") or name fragment ("iam")."""
    files = chapter_files(notebook_dir)
    if not chapters:
        return files
    chosen = [p for p in files if any(p.name.startswith(c) or c in p.stem for c in chapters)]
    if not chosen:
        known = ", ".join(p.stem for p in files) or "none"
        raise NotebookRunError(f"no chapter matches {chapters}; chapters present: {known}")
    return chosen


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Install (once) a kernelspec running this interpreter, named `name`; return the name."""
    # Two test workers may ask at once: one installs while the other waits on the lock.
    lock_path = Path(sys.prefix) / f".{name}-kernel.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_kernel(name)


def _install_kernel(name: str) -> str:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return name
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    # Into the venv's own share/jupyter: JupyterLab from this venv offers it too.
    install(
        kernel_name=name,
        display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (ecs-workbook)",
        prefix=sys.prefix,
    )
    spec = KernelSpecManager().get_kernel_spec(name)
    if Path(spec.argv[0]).resolve() != Path(sys.executable).resolve():
        raise NotebookRunError(f"kernel {name!r} runs {spec.argv[0]}, not {sys.executable}")
    return name


def _first_error(nb_path: Path) -> str:
    """Return the first error output of an executed notebook (ename: evalue), if any."""
    try:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"{out.get('ename')}: {out.get('evalue')}"[:500]
    return ""


# A chapter starts its own emulator: an endpoint inherited from the caller (a test session's
# moto, `make run`'s, `workbook stack emulator`'s) would mix its state with the chapter's.
ISOLATED_VARIABLES = ("AWS_ENDPOINT_URL", "WORKBOOK_MOTO_PORT")


def chapter_environment() -> dict[str, str]:
    """Return this process's environment without an inherited AWS endpoint (for a kernel)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_VARIABLES)}


@contextlib.contextmanager
def _isolated_environment(keep_endpoint: bool):
    saved = {k: v for k, v in os.environ.items() if k.startswith(ISOLATED_VARIABLES)}
    if not keep_endpoint:
        for key in saved:
            del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def run_chapter(
    path: Path,
    out_dir: Path = BUILD_DIR,
    *,
    kernel: str = KERNEL_NAME,
    parameters: dict | None = None,
    timeout: int = 600,
    shared_emulator: bool = False,
) -> ChapterResult:
    """Execute one chapter with papermill into `out_dir`; never raises for a failing cell.

    The kernel gets its own moto server unless `shared_emulator` keeps AWS_ENDPOINT_URL.
    """
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    started = time.perf_counter()
    status, error = "ok", ""
    try:
        with _isolated_environment(shared_emulator):
            pm.execute_notebook(
                str(path),
                str(output),
                parameters={**DEFAULT_PARAMETERS, **(parameters or {})},
                kernel_name=kernel,
                cwd=str(path.parent),  # so ../notes and ../Dockerfile resolve as in JupyterLab
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout,
                # Written once at the end (failed or not), not after every cell: rewriting the
                # whole notebook per cell made a long chapter's saves quadratic.
                request_save_on_cell_execute=False,
            )
    except Exception as exc:  # papermill raises PapermillExecutionError for a failing cell
        status = "failed"
        error = _first_error(output) or f"{type(exc).__name__}: {exc}"[:500]
    seconds = time.perf_counter() - started
    return ChapterResult(path.name[:2], path, output, status, seconds, error)


def write_index(results: list[ChapterResult], out_dir: Path = BUILD_DIR) -> Path:
    """Write index.html: one row per chapter with its status, time and report link."""
    rows = []
    for r in results:
        title = _title(r.path)
        link = f'<a href="{r.html.name}">{html.escape(title)}</a>' if r.html else html.escape(title)
        colour = "#1a7f37" if r.ok else "#cf222e"
        rows.append(
            f"<tr><td>{r.chapter}</td><td>{link}</td>"
            f'<td style="color:{colour}">{r.status}</td><td>{r.seconds:.1f}</td>'
            f"<td>{html.escape(r.error)}</td></tr>"
        )
    total = sum(r.seconds for r in results)
    page = (
        "<!doctype html><meta charset='utf-8'><title>ecs-workbook chapters</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}</style>"
        "<h1>ecs-workbook: executed chapters</h1>"
        f"<p>{sum(r.ok for r in results)} of {len(results)} chapters ran; {total:.1f} s in all. "
        "Backend: moto (emulated AWS); model outputs are labelled in each chapter.</p>"
        "<table><tr><th>chapter</th><th>title</th><th>status</th><th>seconds</th>"
        "<th>first error</th></tr>" + "".join(rows) + "</table>"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _title(path: Path) -> str:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"]["workbook"]
        return f"{meta['chapter']} · {meta['title']}"
    except (OSError, ValueError, KeyError):
        return path.stem


def results_table(results: list[ChapterResult]) -> Table:
    """Return a rich table of chapter, status and seconds (plus the first error)."""
    table = Table(title="Chapters")
    for col, justify in (("chapter", "left"), ("status", "left"), ("seconds", "right")):
        table.add_column(col, justify=justify)
    table.add_column("first error", overflow="fold")
    for r in results:
        colour = "green" if r.ok else "red"
        table.add_row(_title(r.path), f"[{colour}]{r.status}", f"{r.seconds:.1f}", r.error)
    table.add_row("total", "", f"{sum(r.seconds for r in results):.1f}", "", style="bold")
    return table


def run_all(
    chapters: list[str] | None = None,
    *,
    out_dir: Path = BUILD_DIR,
    parameters: dict | None = None,
    html_reports: bool = True,
    console: Console | None = None,
) -> list[ChapterResult]:
    """Execute the selected chapters in order, render reports, print the table."""
    console = console or Console()
    if html_reports and not MERMAID_JS.is_file():
        console.print(
            f"[yellow]mermaid is not installed ({MERMAID_JS}): the reports show diagrams as "
            "source; `make system-deps` installs it[/]"
        )
    kernel = ensure_kernel()
    results = []
    for path in select(chapters):
        console.print(f"[dim]running {path.name} ...[/]")
        result = run_chapter(path, out_dir, kernel=kernel, parameters=parameters)
        if html_reports and result.output.exists():
            result.html = render_html(result.output)
        results.append(result)
    if html_reports:
        index = write_index(results, out_dir)
        console.print(f"reports: {index}")
    console.print(results_table(results))
    return results


CLEAN_DIR = BUILD_DIR / "clean"
SOLUTION_TAG = "solution"  # a cell holding a worked answer (a chapter may keep one collapsed)
_SOLUTION_CALL = "show_solution("


def clean_notebook(nb: dict) -> dict:
    """Return a self-test copy of a chapter: prose and exercises kept; outputs, solutions gone."""
    import copy

    nb = copy.deepcopy(nb)
    kept = []
    for cell in nb["cells"]:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            lines = [line for line in cell["source"].split("\n") if _SOLUTION_CALL not in line]
            cell["source"] = "\n".join(lines).rstrip("\n")
        cell.get("metadata", {}).pop("execution", None)
        cell.get("metadata", {}).pop("papermill", None)
        kept.append(cell)
    nb["cells"] = kept
    for key in ("widgets", "papermill"):
        nb.get("metadata", {}).pop(key, None)
    return nb


def clean(
    chapters: list[str] | None = None,
    out_dir: Path = CLEAN_DIR,
    notebook_dir: Path = NOTEBOOK_DIR,
) -> list[Path]:
    """Write a self-test copy of each selected chapter into `out_dir`; return their paths."""
    import nbformat

    if out_dir.resolve() == notebook_dir.resolve():
        raise NotebookRunError(f"the clean copies would overwrite the chapters in {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in select(chapters, notebook_dir):
        nb = clean_notebook(nbformat.read(path, as_version=4))
        target = out_dir / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written


app = typer.Typer(help="Execute the chapter notebooks and build their HTML reports.")


ChapterArg = Annotated[
    list[str] | None,
    typer.Argument(help="Chapters to run: '03', 'iam'; all if none."),
]
BackendOpt = Annotated[str, typer.Option(help="The BACKEND parameter given to every chapter.")]
OutOpt = Annotated[Path, typer.Option(help="Where executed notebooks and reports go.")]
HtmlOpt = Annotated[bool, typer.Option("--html/--no-html", help="Render HTML reports.")]
CoverageOut = Annotated[
    Path,
    typer.Option(help="File to write (a README with coverage markers is updated between them)."),
]


@app.command("run")
def run(
    chapters: ChapterArg = None,
    backend: BackendOpt = "moto",
    out: OutOpt = BUILD_DIR,
    html_reports: HtmlOpt = True,
) -> None:
    """Execute chapters with papermill (BACKEND=moto); exit 1 if any chapter failed."""
    try:
        results = run_all(
            chapters, out_dir=out, parameters={"BACKEND": backend}, html_reports=html_reports
        )
    except NotebookRunError as exc:
        raise typer.BadParameter(str(exc)) from exc
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@app.command("clean")
def clean_cmd(chapters: ChapterArg = None, out: OutOpt = CLEAN_DIR) -> None:
    """Write self-test copies of the chapters: prose and exercises, no outputs or solutions."""
    try:
        written = clean(chapters, out)
    except NotebookRunError as exc:
        raise typer.BadParameter(str(exc)) from exc
    Console().print(f"wrote {len(written)} self-test chapter(s) to {out}")


@app.command("coverage")
def coverage_cmd(out: CoverageOut = ROOT / "build" / "coverage.md") -> None:
    """Write the guide section -> chapter -> quiz item table as markdown."""
    from workbook import coverage

    rows = coverage.coverage_rows()
    path = coverage.write(out, rows)
    missing = coverage.unclaimed(rows)
    Console().print(f"wrote {path}: {len(rows)} sections, {len(missing)} not yet in a chapter")


if __name__ == "__main__":
    app()
