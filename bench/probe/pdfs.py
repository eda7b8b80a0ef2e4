"""Write crafted PDFs as raw bytes: small files that cost a parser a lot (no dependencies)."""

from __future__ import annotations

import zlib

from service.rag.samplepdf import assemble

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
LINE = b"BT /F1 10 Tf 56 700 Td (Amazon ECS keeps the desired count of tasks running) Tj ET\n"


def stream(data: bytes, *, compress: bool = True) -> bytes:
    """Return a stream object (FlateDecode at the highest level unless told otherwise)."""
    if not compress:
        return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)
    packed = zlib.compress(data, 9)
    return b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed)


def _page(contents: int, parent: int = 2, font: int = 3) -> bytes:
    return (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (parent, font, contents)
    )


def shared_stream(pages: int = 3, megabytes: float = 5.0) -> bytes:
    """Return a PDF whose pages all draw one content stream of `megabytes` (a few KB packed)."""
    content = LINE * int(megabytes * 1e6 / len(LINE))
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        FONT,
        stream(content),
        *(_page(4) for _ in range(pages)),
    ]
    return assemble(objects)


def expanding_page(megabytes: float = 14.0) -> bytes:
    """Return a one-page PDF whose ~16 KB content stream inflates to `megabytes` of text."""
    # Long strings keep the operator count far below pypdf's per-stream token budget, so the
    # cost is in the text extracted, split and embedded; a 4-byte period packs about 1000:1.
    line = b"(" + b"ECS " * 2500 + b") Tj T*\n"
    content = b"BT /F1 10 Tf 12 TL 56 790 Td\n" + line * int(megabytes * 1e6 / len(line)) + b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
        FONT,
        stream(content),
        _page(4),
    ]
    return assemble(objects)


def many_pages(pages: int = 55_000) -> bytes:
    """Return a PDF of `pages` pages sharing one short content stream and inherited resources."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> >>" % (kids, pages),
        FONT,
        stream(LINE, compress=False),
        *(b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>" for _ in range(pages)),
    ]
    return assemble(objects)


def nested_pages(depth: int = 5_000) -> bytes:
    """Return a PDF whose page tree is `depth` Pages nodes deep above its one page."""
    # Objects: 1 catalog, 2 font, 3 content, 4 the page, then the Pages chain from 5 up;
    # the catalog points at the top of the chain, each node's only kid is the node below.
    top = 4 + depth
    objects = [
        b"<< /Type /Catalog /Pages %d 0 R >>" % top,
        FONT,
        stream(LINE, compress=False),
        _page(3, parent=5, font=2),
    ]
    for level in range(depth):
        number = 5 + level
        kid = 4 if level == 0 else number - 1
        parent = b" /Parent %d 0 R" % (number + 1) if number < top else b""
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (kid, parent))
    return assemble(objects)


def nested_arrays(depth: int = 50_000) -> bytes:
    """Return a one-page PDF whose page dictionary holds arrays nested `depth` deep."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
        FONT,
        stream(LINE, compress=False),
        _page(4).replace(b">>", b" /Probe " + b"[" * depth + b"]" * depth + b" >>", 1),
    ]
    return assemble(objects)


def cyclic_tree() -> bytes:
    """Return a PDF whose Pages node lists itself among its kids (a loop in the page tree)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [5 0 R 2 0 R] /Count 2 >>",
        FONT,
        stream(LINE, compress=False),
        _page(4),
    ]
    return assemble(objects)


def lying_count(count: int = 10**9) -> bytes:
    """Return a one-page PDF whose page tree claims `count` pages."""
    return shared_stream(pages=1, megabytes=0.001).replace(b"/Count 1", b"/Count %d" % count)


def bad_length() -> bytes:
    """Return a PDF whose content stream declares a Length far past the end of the file."""
    return shared_stream(pages=1, megabytes=0.01).replace(b"/Length ", b"/Length 99999999", 1)


def truncated() -> bytes:
    """Return the first half of a valid PDF."""
    pdf = shared_stream(pages=2, megabytes=0.05)
    return pdf[: len(pdf) // 2]


def encrypted_marker() -> bytes:
    """Return a PDF whose trailer names an Encrypt dictionary with an unknown filter."""
    pdf = shared_stream(pages=1, megabytes=0.001)
    return pdf.replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt << /Filter /Probe /V 9 >>")


def bomb_sizes(pdf: bytes) -> tuple[int, int]:
    """Return (file size, bytes its FlateDecode streams inflate to) for a figure's note."""
    inflated = 0
    start = 0
    while (i := pdf.find(b">>\nstream\n", start)) >= 0:
        end = pdf.find(b"\nendstream", i)
        if end < 0:
            break
        data = pdf[i + 10 : end]
        try:
            inflated += len(zlib.decompress(data))
        except zlib.error:
            inflated += len(data)
        start = end + 1
    return len(pdf), inflated
