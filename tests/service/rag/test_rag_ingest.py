"""Test loading files into documents and splitting them into chunks."""

from __future__ import annotations

import io

import pytest
from langchain_core.documents import Document
from pypdf import PdfReader, PdfWriter

from service.rag.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    IngestError,
    RagError,
    UnsupportedTypeError,
)
from service.rag.ingest import SUPPORTED_SUFFIXES, load_bytes, load_directory, split_documents
from service.rag.samplepdf import text_pdf


def encrypted(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_pdf_gives_one_document_per_page_with_1_based_page_numbers():
    data = text_pdf(["Fargate runs tasks.", "The ALB checks /health."])
    docs = load_bytes(data, "guide.pdf")
    assert [d.metadata for d in docs] == [
        {"source": "guide.pdf", "page": 1},
        {"source": "guide.pdf", "page": 2},
    ]
    assert "ALB checks /health" in docs[1].page_content


def test_pdf_pages_without_text_are_skipped():
    docs = load_bytes(text_pdf(["", "Only page two has text."]), "a.pdf")
    assert [d.metadata["page"] for d in docs] == [2]


@pytest.mark.parametrize("name", ["notes.txt", "NOTES.MD"])
def test_text_and_markdown_give_one_document_without_page(name):
    docs = load_bytes("héllo wörld\n".encode(), name)
    assert len(docs) == 1
    assert docs[0].metadata == {"source": name, "page": None}
    assert docs[0].page_content.startswith("héllo wörld")


def test_text_with_bom_and_latin1_still_loads():
    assert load_bytes(b"\xef\xbb\xbfhello", "a.txt")[0].page_content == "hello"
    assert load_bytes("café".encode("latin-1"), "b.txt")[0].page_content == "café"


def test_supported_suffixes_are_the_three_formats():
    assert set(SUPPORTED_SUFFIXES) == {".pdf", ".txt", ".md"}


@pytest.mark.parametrize(
    ("data", "name", "error", "words"),
    [
        (b"hello", "slides.pptx", UnsupportedTypeError, "unsupported file type '.pptx'"),
        (b"hello", "README", UnsupportedTypeError, "no extension"),
        (b"", "empty.txt", EmptyDocumentError, "empty"),
        (b"  \n\t ", "blank.md", EmptyDocumentError, "empty"),
        (b"", "empty.pdf", EmptyDocumentError, "empty"),
        (b"\x00\x01binary", "data.txt", CorruptDocumentError, "NUL"),
        (b"just text", "fake.pdf", CorruptDocumentError, "not a PDF"),
        (b"%PDF-1.4\n1 0 obj garbage", "broken.pdf", CorruptDocumentError, "cannot parse"),
    ],
)
def test_bad_input_raises_a_typed_error_naming_the_file(data, name, error, words):
    with pytest.raises(error) as info:
        load_bytes(data, name)
    assert isinstance(info.value, IngestError)
    assert isinstance(info.value, RagError)
    assert name in str(info.value)
    assert words in str(info.value)


def test_truncated_pdf_is_corrupt():
    data = text_pdf(["Some text that will be cut off."])
    with pytest.raises(CorruptDocumentError, match=r"cut.pdf"):
        load_bytes(data[: len(data) // 3], "cut.pdf")


def test_pdf_without_any_text_is_empty():
    with pytest.raises(EmptyDocumentError, match=r"scan.pdf.*no extractable text"):
        load_bytes(text_pdf(["", ""]), "scan.pdf")


def test_password_protected_pdf_is_refused():
    data = encrypted(text_pdf(["secret text"]), user_password="s3cret")
    with pytest.raises(EncryptedDocumentError, match=r"locked.pdf.*password"):
        load_bytes(data, "locked.pdf")


def test_pdf_with_only_an_owner_password_opens():
    data = encrypted(text_pdf(["readable text"]), user_password="")
    assert "readable text" in load_bytes(data, "owner.pdf")[0].page_content


def test_load_directory_reads_supported_files_sorted_with_relative_sources(notes_dir):
    (notes_dir / "ignored.csv").write_text("a,b")
    (notes_dir / "sub").mkdir()
    (notes_dir / "sub" / "extra.md").write_text("# Extra\n\ntext")
    sources = [d.metadata["source"] for d in load_directory(notes_dir)]
    assert sources == ["alb.md", "deploy.md", "fargate.md", "logs.txt", "sub/extra.md"]


def test_load_directory_rejects_a_missing_directory(tmp_path):
    with pytest.raises(IngestError, match="not a directory"):
        load_directory(tmp_path / "nope")


def test_markdown_chunks_carry_section_and_heading_prefix(notes_dir):
    chunks = split_documents(load_directory(notes_dir))
    pricing = [c for c in chunks if c.metadata.get("section") == "Pricing"]
    assert [c.metadata["source"] for c in pricing] == ["alb.md", "fargate.md"]
    chunk = pricing[1]
    assert chunk.metadata["title"] == "Fargate"
    assert chunk.page_content.startswith("Fargate > Pricing\n")
    # hard-wrapped prose is unwrapped into whole sentences
    assert "with a one-minute minimum." in chunk.page_content


def test_markdown_headings_inside_code_fences_do_not_split():
    text = "# T\n\n## Real\n\n```bash\n# a comment, not a heading\nls\n```\nafter\n"
    chunks = split_documents(load_bytes(text.encode(), "c.md"))
    assert {c.metadata["section"] for c in chunks} == {"Real"}
    assert "# a comment, not a heading" in chunks[0].page_content


def test_split_keeps_metadata_and_numbers_chunks_per_source():
    page_text = "Fargate runs containers without servers. " * 60
    docs = load_bytes(text_pdf([page_text, page_text], width=2000), "big.pdf")
    chunks = split_documents(docs, chunk_size=300, chunk_overlap=50)
    assert len(chunks) > 4
    assert all(len(c.page_content) <= 300 for c in chunks)
    assert [c.metadata["chunk"] for c in chunks] == list(range(len(chunks)))
    assert {c.metadata["page"] for c in chunks} == {1, 2}
    assert all(c.metadata["source"] == "big.pdf" for c in chunks)


def test_split_keeps_custom_metadata_of_plain_documents():
    doc = Document(page_content="one. " * 200, metadata={"source": "x.txt", "page": None, "k": 7})
    chunks = split_documents([doc], chunk_size=100, chunk_overlap=10)
    assert all(c.metadata["k"] == 7 and c.metadata["page"] is None for c in chunks)


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (100, 100), (100, -1)])
def test_split_rejects_bad_sizes(size, overlap):
    with pytest.raises(RagError, match="chunk_size"):
        split_documents([], chunk_size=size, chunk_overlap=overlap)
