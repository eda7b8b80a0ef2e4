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
    data: bytes, filename: str, *, max_pages: int | None = None, max_chars: int | None = None
) -> list[str]:
    """Return the text of every page; refuse too many pages before extracting any text."""
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
