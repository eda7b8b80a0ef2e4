"""Render an executed chapter to an HTML report that works with the network off."""

from __future__ import annotations

import shutil
from pathlib import Path

from workbook.coverage import ROOT

# npm-installed by `make system-deps` (tools/mermaid/package-lock.json pins the release).
MERMAID_JS = ROOT / "tools" / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
MERMAID_COPY = "mermaid.min.js"  # one copy beside the reports, shared by all of them
TEMPLATE_DIR = Path(__file__).with_name("report_template")
MERMAID_MISSING = (
    "Mermaid diagram, shown as source: the renderer was not bundled with this report "
    "(make system-deps installs it, then run the chapters again)."
)


class ReportError(RuntimeError):
    """A report cannot be rendered: the notebook is missing or is not a notebook."""


def bundle_mermaid(out_dir: Path, source: Path | None = MERMAID_JS) -> str | None:
    """Copy mermaid beside the reports in `out_dir`; return its relative name, None if absent."""
    if source is None or not source.is_file():
        return None
    target = out_dir / MERMAID_COPY
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        shutil.copyfile(source, target)
    return MERMAID_COPY


def render_html(nb_path: Path, *, mermaid_js: Path | None = MERMAID_JS) -> Path:
    """Render an executed notebook to an offline HTML file next to it; return its path."""
    # Quizzes show their static HTML form; diagrams render from the local mermaid copy, or
    # show their source with a note saying why when `mermaid_js` is absent.
    import nbformat
    from nbconvert import HTMLExporter

    if not nb_path.is_file():
        raise ReportError(f"no executed notebook at {nb_path}")
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except (ValueError, nbformat.reader.NotJSONError) as exc:
        raise ReportError(f"{nb_path} is not a notebook: {exc}") from exc
    # Without saved widget state nbconvert skips the live view and uses the text/html form.
    nb.metadata.pop("widgets", None)
    resources = {
        "metadata": {"name": nb_path.stem},
        "mermaid_script": bundle_mermaid(nb_path.parent, mermaid_js),
        "mermaid_missing": MERMAID_MISSING,
    }
    exporter = HTMLExporter(
        extra_template_paths=[str(TEMPLATE_DIR)], template_file="report.html.j2"
    )
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    target = nb_path.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target
