"""Load PDF, text and Markdown files into documents and split them into chunks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from service.rag.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    RagError,
    UnsupportedTypeError,
)
from service.rag.markdown import sections, unwrap
from service.rag.pdftext import LimitError, read_pages

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md")
_MARKDOWN_SUFFIXES = (".md",)
# Paragraphs first, then lines (list items, unwrapped paragraphs), then sentences, then words.
_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?])\s+", " ", ""]


def _suffix(filename: str) -> str:
    return Path(filename).suffix.lower()


def check_type(filename: str) -> str:
    """Return the file's suffix if the loaders read it; else raise UnsupportedTypeError."""
    suffix = _suffix(filename)
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedTypeError(
            filename,
            f"unsupported file type {suffix or '(no extension)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}",
        )
    return suffix


def load_bytes(data: bytes, filename: str) -> list[Document]:
    """Turn one uploaded file into documents: one per PDF page, one for a text file."""
    suffix = check_type(filename)
    if not data.strip():
        raise EmptyDocumentError(filename, "the file is empty")
    if suffix == ".pdf":
        return pdf_documents(read_pages(data, filename), filename)
    return text_documents(decode_text(data, filename), filename)


def decode_text(data: bytes, filename: str) -> str:
    """Return a text file's content (UTF-8, else Latin-1); refuse binary or blank files."""
    if b"\x00" in data:
        raise CorruptDocumentError(filename, "contains NUL bytes: not a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Legacy single-byte files still load rather than fail on one odd character.
        text = data.decode("latin-1")
    if not text.strip():
        raise EmptyDocumentError(filename, "the file contains only whitespace")
    return text


def text_documents(text: str, filename: str) -> list[Document]:
    """Return a text file's one document."""
    return [Document(page_content=text, metadata={"source": filename, "page": None})]


def pdf_documents(pages: list[str], filename: str) -> list[Document]:
    """Return one document per PDF page that has text; refuse a PDF with none (a scan)."""
    docs = [
        Document(page_content=text, metadata={"source": filename, "page": number})
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]
    if not docs:
        raise EmptyDocumentError(
            filename, f"no extractable text in {len(pages)} page(s) (a scanned PDF needs OCR)"
        )
    return docs


def load_directory(path: Path | str) -> list[Document]:
    """Load every supported file under a directory (the notes library), sorted by path."""
    root = Path(path)
    if not root.is_dir():
        raise UnsupportedTypeError(str(root), "not a directory")
    docs: list[Document] = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        if file.suffix.lower() in SUPPORTED_SUFFIXES:
            docs.extend(load_bytes(file.read_bytes(), file.relative_to(root).as_posix()))
    return docs


def _markdown_sections(doc: Document) -> list[Document]:
    """Split a Markdown document at its headings, recording them in metadata."""
    out = []
    for part in sections(doc.page_content):
        meta = dict(doc.metadata)
        meta["title"] = part.title
        # "section" is the `##` heading (the unit the notes are organized by); text before
        # the first `##` belongs to the document's title.
        meta["section"] = part.headings[1] if len(part.headings) > 1 else part.title
        meta["headings"] = " > ".join(part.headings)
        out.append(Document(page_content=unwrap(part.text), metadata=meta))
    return out


def split_documents(
    docs: Iterable[Document],
    chunk_size: int = 800,
    chunk_overlap: int = 120,
    *,
    max_chunks: int | None = None,
) -> list[Document]:
    """Split documents into overlapping chunks; keep metadata and add a per-source "chunk".

    With `max_chunks`, stop with a LimitError as soon as there would be more.
    """
    if chunk_size <= 0 or not 0 <= chunk_overlap < chunk_size:
        raise RagError(
            "need chunk_size > 0 and 0 <= chunk_overlap < chunk_size, "
            f"got chunk_size={chunk_size}, chunk_overlap={chunk_overlap}"
        )
    chunks: list[Document] = []
    counters: dict[str, int] = {}
    for doc in docs:
        source = str(doc.metadata.get("source", ""))
        if _suffix(source) in _MARKDOWN_SUFFIXES:
            parts = _markdown_sections(doc)
        else:
            parts = [Document(page_content=unwrap(doc.page_content), metadata=doc.metadata)]
        for section in parts:
            # The heading path is prefixed to every chunk so that retrieval (and a reader
            # of a citation) sees which part of the note the text comes from.
            prefix = section.metadata.get("headings") or ""
            prefix = f"{prefix}\n" if prefix else ""
            size = max(chunk_size - len(prefix), chunk_size // 2)
            splitter = RecursiveCharacterTextSplitter(
                separators=_SEPARATORS,
                is_separator_regex=True,
                chunk_size=size,
                chunk_overlap=min(chunk_overlap, size // 2),
            )
            for text in splitter.split_text(section.page_content):
                meta = dict(section.metadata)
                meta["chunk"] = counters.get(source, 0)
                counters[source] = meta["chunk"] + 1
                chunks.append(Document(page_content=prefix + text, metadata=meta))
            if max_chunks is not None and len(chunks) > max_chunks:
                raise LimitError(source, "chunks", max_chunks, len(chunks), exact=False)
    return chunks
