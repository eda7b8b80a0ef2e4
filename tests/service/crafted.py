"""Build hostile PDFs in the test: tiny files that cost a naive parser CPU, memory or pages."""

from __future__ import annotations

import zlib

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_PAGE = (
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
    "/Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>"
)


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _flate(raw: bytes) -> bytes:
    data = zlib.compress(raw, 9)
    return b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)


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
