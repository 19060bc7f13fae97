"""Files people send (CVs and other documents): what type a file is, read from its bytes, never from its name
or the type a browser declared. Used by the gateway (an early 413/422 before anything travels) and by sourcing
(the authority, before anything is stored). Pure: no I/O.

Accepted: PDF, Word (DOCX) and plain text, up to MAX_DOCUMENT_BYTES (api-v1 "Careers, documents")."""

from __future__ import annotations

import io
import zipfile

from shared.contracts.commands import MAX_DOCUMENT_BYTES

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TXT = "text/plain"
ACCEPTED = (PDF, DOCX, TXT)
EXTENSION = {PDF: ".pdf", DOCX: ".docx", TXT: ".txt"}
__all__ = ["ACCEPTED", "DOCX", "EXTENSION", "MAX_DOCUMENT_BYTES", "PDF", "TXT", "content_type_of"]

# A PDF's header may follow up to 1 KiB of other bytes (ISO 32000-1, 7.5.2); readers accept that, so do we.
_PDF_HEADER_WITHIN = 1024
# A zip bomb's central directory claims a huge size: a real CV's document part is far below this.
_DOCX_MAX_UNCOMPRESSED = 100 * 1024 * 1024
# Text must be mostly printable: control characters other than whitespace mean a binary file.
_TEXT_MAX_CONTROL_SHARE = 0.01


def content_type_of(data: bytes) -> str | None:
    """The accepted type `data` is by its content, or None when it is none of them (an executable, an image,
    a ZIP that is not a Word document, a spreadsheet, text in no Unicode encoding, an empty file...)."""
    if not data:
        return None
    if b"%PDF-" in data[:_PDF_HEADER_WITHIN]:
        return PDF
    if data[:4] == b"PK\x03\x04":
        return DOCX if _is_docx(data) else None
    return TXT if _is_text(data) else None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                return False
            if sum(info.file_size for info in archive.infolist()) > _DOCX_MAX_UNCOMPRESSED:
                return False
            types = archive.read("[Content_Types].xml")
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return False
    return b"wordprocessingml.document.main+xml" in types


def _is_text(data: bytes) -> bool:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                return False
            break
    else:
        if b"\x00" in data:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
    if not text.strip():
        return False
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return control <= len(text) * _TEXT_MAX_CONTROL_SHARE


def text_of(data: bytes) -> str:
    """The text of a file `content_type_of` called TXT (its BOM decides the encoding, else UTF-8)."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding)
    return data.decode("utf-8")
