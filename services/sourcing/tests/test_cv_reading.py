"""Reading a CV (services/sourcing/cv_reading.py) on real files made by reportlab and python-docx: text from
PDF, Word and plain text; encrypted, scanned, damaged and endless files end as unreadable with a reason; skills
found against a vocabulary as whole words in any script around them; years of experience in English and
Chinese."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from services.sourcing import cv_reading as cv
from shared import documents

SHIPPED = cv.parse_vocabulary((Path(cv.__file__).parent / "skills.txt").read_text(encoding="utf-8"))


def a_pdf(*pages: list[str], encrypt=None) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=encrypt)
    for lines in pages:
        for i, line in enumerate(lines):
            c.drawString(72, 720 - 16 * i, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def a_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_a_pdf_is_read_page_by_page():
    data = a_pdf(["Ann Example", "Python and Kubernetes"], ["8 years of experience with PostgreSQL"])
    reading = cv.read_text(data, documents.PDF)
    assert reading.status == cv.EXTRACTED and reading.reason is None
    assert "Python and Kubernetes" in reading.text and "PostgreSQL" in reading.text


def test_a_word_document_is_read_with_its_tables():
    data = a_docx(["Ann Example", "Barista"], table=[["Skills", "Latte Art, HACCP"], ["Languages", "Mandarin"]])
    reading = cv.read_text(data, documents.DOCX)
    assert reading.status == cv.EXTRACTED
    assert "Barista" in reading.text and "Latte Art, HACCP" in reading.text and "Mandarin" in reading.text


def test_plain_text_follows_its_byte_order_mark():
    reading = cv.read_text(b"\xff\xfe" + "张伟 Python 六年".encode("utf-16-le"), documents.TXT)
    assert reading == cv.Reading(cv.EXTRACTED, "张伟 Python 六年")


def test_a_pdf_protected_by_an_owner_password_only_opens_with_the_empty_one():
    enc = pdfencrypt.StandardEncryption("", ownerPassword="owner-secret", canPrint=0, canCopy=0)
    reading = cv.read_text(a_pdf(["Rust and Go"], encrypt=enc), documents.PDF)
    assert reading.status == cv.EXTRACTED and "Rust and Go" in reading.text


def test_a_pdf_with_a_user_password_is_unreadable_encrypted():
    reading = cv.read_text(a_pdf(["Rust and Go"], encrypt="user-secret"), documents.PDF)
    assert reading == cv.Reading(cv.UNREADABLE, "", cv.ENCRYPTED)


def test_a_scanned_image_a_damaged_file_and_too_many_pages_are_unreadable_with_their_reason():
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.rect(72, 72, 400, 600, fill=1)  # a "scan": marks on the page, no text
    c.save()
    assert cv.read_text(buf.getvalue(), documents.PDF).reason == cv.NO_TEXT
    whole = a_pdf(["Python"])
    assert cv.read_text(whole[: len(whole) // 3], documents.PDF).reason == cv.DAMAGED
    assert cv.read_text(b"PK\x03\x04 not really a zip", documents.DOCX).reason == cv.DAMAGED
    long = a_pdf(*[[f"page {i}"] for i in range(5)])
    assert cv.read_text(long, documents.PDF, max_pages=4).reason == cv.TOO_MANY_PAGES
    assert cv.read_text(long, documents.PDF, max_pages=5).status == cv.EXTRACTED
    assert cv.read_text(b"\xff\xfe\x00", documents.TXT).reason == cv.DAMAGED  # a BOM and an odd byte


def test_skills_are_whole_words_case_insensitive_in_the_vocabulary_spelling():
    vocab = cv.vocabulary(SHIPPED, ["Latte Art", "Machine Learning"])
    text = ("Ann Example. I write PYTHON daily, some c++ and C#; services in .net and node.js.\n"
            "Also machine   learning, and latte art on weekends. I like javascripting and Golf.")
    found = cv.find_skills(text, vocab)
    assert found[:2] == ["Python", "C++"]
    assert {"C#", ".NET", "Node.js", "Machine Learning", "Latte Art"} <= set(found)
    # Not found: "Java" inside "javascripting", "Go" inside "Golf", C alone (only C++ and C# are there),
    # JavaScript (only "javascripting"), "Learning" is no skill of its own here.
    assert not {"Java", "JavaScript", "Go", "C", "R"} & set(found)


def test_skills_next_to_chinese_text_and_punctuation_are_found():
    vocab = cv.vocabulary(SHIPPED, [])
    found = cv.find_skills("熟悉Python和Java，精通C++与Kubernetes。会用ASP.NET（三年）", vocab)
    assert {"Python", "Java", "C++", "Kubernetes", "ASP.NET"} <= set(found)
    assert ".NET" not in found  # part of ASP.NET, not a skill named on its own


def test_short_skills_match_only_as_spelled():
    vocab = ["C", "R", "Go"]
    assert cv.find_skills("Statistics in R, systems in C and Go.", vocab) == ["R", "C", "Go"]
    assert cv.find_skills("go for it, a c grade, r u there", vocab) == []


def test_the_vocabulary_merges_the_shipped_list_and_requisitions_once_each():
    vocab = cv.vocabulary(["Python", "Docker"], ["python", " Latte   Art ", "Docker"])
    assert vocab == ["Python", "Docker", "Latte Art"]
    assert 150 <= len(SHIPPED) <= 300 and "Kubernetes" in SHIPPED and all(not s.startswith("#") for s in SHIPPED)


@pytest.mark.parametrize("text, years", [
    ("6 years", 6.0),
    ("6+ years of experience in retail", 6.0),
    ("Over 4.5 yrs as a barista; 2 years at Acme", 4.5),
    ("six years of experience", 6.0),
    ("六年工作经验", 6.0),
    ("6年以上经验", 6.0),
    ("十二年经验", 12.0),
    ("二十年", 20.0),
    ("2016年加入公司，3年级时学了编程，3年前毕业", None),
    ("born 1990, I was 30 years old 2 years ago", None),
    ("No figure here", None),
])
def test_years_stated_in_english_and_chinese(text, years):
    assert cv.find_years(text) == years
