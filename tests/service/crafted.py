"""Build hostile PDFs in the test: tiny files that cost a naive parser CPU, memory or pages.

The PDF writer is service/rag/samplepdf.py's and the stream helper the probe's; these
shapes are sized for the service tests' assertions.
"""

from __future__ import annotations

from bench.probe.pdfs import stream as _flate
from service.rag.samplepdf import assemble as _pdf

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_PAGE = (
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
    "/Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>"
)


def _text_ops(lines: int) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td " + b"(lorem ipsum dolor sit amet) Tj T* " * lines + b"ET"


def pages_sharing_one_stream(pages: int = 3, lines: int = 150_000) -> bytes:
    """Return a PDF whose pages all draw one compressed content stream (16 KB for 5 MB)."""
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    stream_id = 4 + pages
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        _FONT,
        *(_PAGE.format(stream_id).encode() for _ in range(pages)),
        _flate(_text_ops(lines)),
    ]
    return _pdf(objects)


def huge_single_page(lines: int = 150_000) -> bytes:
    """Return a one-page PDF of about 16 KB whose page holds millions of characters."""
    return pages_sharing_one_stream(1, lines)


def many_pages(pages: int, declared: int | None = None) -> bytes:
    """Return a PDF of `pages` tiny pages; `declared` makes its /Count lie."""
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    count = pages if declared is None else declared
    stream_id = 4 + pages
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        _FONT,
        *(_PAGE.format(stream_id).encode() for _ in range(pages)),
        _flate(_text_ops(1)),
    ]
    return _pdf(objects)


def inflating_stream(mb: int = 70) -> bytes:
    """Return a one-page PDF of about 70 KB whose content stream inflates to `mb` MB."""
    content = b"BT /F1 12 Tf 72 720 Td " + b" " * (mb << 20) + b"(x) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        _FONT,
        _PAGE.format(5).encode(),
        _flate(content),
    ]
    return _pdf(objects)
