"""A file's type is read from its bytes (shared/documents.py): real PDF and Word files made by their
libraries are recognised; a renamed image, an executable, a plain ZIP, a zip bomb and binary junk are not."""

from __future__ import annotations

import io
import zipfile

import docx
from reportlab.pdfgen import canvas

from shared import documents


def a_pdf(text: str = "Python and Kubernetes, 6 years") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.save()
    return buf.getvalue()


def a_docx(text: str = "Python and Kubernetes") -> bytes:
    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_real_pdf_docx_and_text_are_recognised_by_content():
    assert documents.content_type_of(a_pdf()) == documents.PDF
    assert documents.content_type_of(a_docx()) == documents.DOCX
    assert documents.content_type_of(b"Ada Lovelace\nPython, 6 years\n") == documents.TXT
    assert documents.content_type_of("简历：张伟，Python 六年".encode()) == documents.TXT
    assert documents.content_type_of(b"\xff\xfe" + "CV of Ada".encode("utf-16-le")) == documents.TXT


def test_other_files_are_refused_whatever_their_name():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
    elf = b"\x7fELF\x02\x01\x01" + bytes(100)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("cv.txt", "Python")
    assert documents.content_type_of(png) is None
    assert documents.content_type_of(elf) is None
    assert documents.content_type_of(buf.getvalue()) is None  # a ZIP that is not a Word document
    assert documents.content_type_of(b"") is None
    assert documents.content_type_of(b"   \n") is None
    assert documents.content_type_of(bytes(range(256)) * 4) is None
    assert documents.content_type_of(b"\x01\x02\x03 mostly control \x04\x05\x06\x07\x08") is None


def test_a_zip_bomb_dressed_as_a_word_document_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<Types><Override ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/padding.bin", bytes(120 * 1024 * 1024))
    data = buf.getvalue()
    assert len(data) < 1024 * 1024
    assert documents.content_type_of(data) is None


def test_text_of_follows_the_byte_order_mark():
    assert documents.text_of(b"\xff\xfe" + "Rust".encode("utf-16-le")) == "Rust"
    assert documents.text_of(b"Go") == "Go"
