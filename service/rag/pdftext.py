"""Read a PDF's text page by page, stopping at a page or character limit."""

from __future__ import annotations

import io

from service.rag.errors import CorruptDocumentError, EncryptedDocumentError, IngestError


class LimitError(IngestError):
    """Signal a file with more of something (pages, characters, chunks) than allowed."""

    def __init__(self, filename: str, what: str, limit: int, seen: int, exact: bool) -> None:
        self.what = what  # "pages", "characters" or "chunks"
        self.limit = limit
        self.seen = seen  # how many were counted when the reader stopped
        self.exact = exact  # False: the reader stopped early, there are more than `seen`
        count = f"{seen:,}" if exact else f"at least {seen:,}"
        super().__init__(filename, f"{count} {what}, at most {limit:,} allowed")


def read_pages(
    data: bytes,
    filename: str,
    *,
    max_pages: int | None = None,
    max_chars: int | None = None,
    max_page_bytes: int | None = None,
) -> list[str]:
    """Return the text of every page; refuse too many or too heavy pages before extracting."""
    # Imported here so that importing the package stays cheap (pypdf takes 0.2 s).
    from pypdf import PasswordType, PdfReader

    if b"%PDF-" not in data[:1024]:
        raise CorruptDocumentError(filename, "not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise EncryptedDocumentError(filename, "the PDF is password-protected")
        if max_pages is not None:
            # The declared /Count first (free), then the real page tree, which may disagree.
            declared = reader.root_object["/Pages"].get("/Count", 0)
            if isinstance(declared, int) and declared > max_pages:
                raise LimitError(filename, "pages", max_pages, int(declared), exact=True)
            if len(reader.pages) > max_pages:
                raise LimitError(filename, "pages", max_pages, len(reader.pages), exact=True)
        if max_page_bytes is not None:
            _check_page_contents(reader, filename, max_page_bytes)
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            total += len(pages[-1])
            if max_chars is not None and total > max_chars:
                raise LimitError(filename, "characters", max_chars, total, exact=False)
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # pypdf raises many types on malformed input
        raise CorruptDocumentError(filename, f"cannot parse the PDF: {exc}") from exc
    return pages


def _check_page_contents(reader, filename: str, max_page_bytes: int) -> None:
    """Refuse a page whose decoded content stream is over `max_page_bytes`.

    Text extraction runs at about 1 MB of content a second and one page cannot be interrupted,
    so a few KB of compressed stream (or one stream shared by many pages) would otherwise buy
    seconds of CPU. Decompressing to measure is cheap, and the memory limit bounds it.
    """
    for number, page in enumerate(reader.pages, start=1):
        contents = page.get_contents()
        size = len(contents.get_data()) if contents is not None else 0
        if size > max_page_bytes:
            raise LimitError(
                filename, f"bytes of content on page {number}", max_page_bytes, size, exact=True
            )
