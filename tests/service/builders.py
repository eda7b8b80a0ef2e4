"""Build test inputs: small notes, PDFs (plain, encrypted, corrupt) and settings."""

from __future__ import annotations

import io
from pathlib import Path

NOTES = {
    "roles.md": """# IAM roles for ECS

## Execution role

The task execution role is used by the ECS agent to pull the image from ECR, fetch
secrets from Secrets Manager and write logs to CloudWatch before the container starts.

## Task role

The task role is what the application code itself may do, for example read an S3 bucket.
""",
    "health.md": """# Health checks

## ALB health check

The target group probes the /health path on port 8080. A target that fails the unhealthy
threshold of consecutive probes stops receiving traffic.
""",
}

GUIDE_MD = """# Deployment guide

## Circuit breaker

The deployment circuit breaker rolls a failed deployment back automatically when tasks
keep failing to start. Its failure threshold grows with the desired count.
"""


def write_notes(directory: Path) -> Path:
    """Write the small notes library into `directory` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str]) -> bytes:
    """Return a valid PDF with one text line per page (pypdf extracts it)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({_escape(text)}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def make_encrypted_pdf(text: str = "secret text") -> bytes:
    """Return a password-protected PDF."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([text]))))
    writer.encrypt(user_password="pw", owner_password="owner")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


CORRUPT_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> garbage \x00\x01\x02 trailer"
