"""The offer letter PDF (shared/offer_letter.py), read back with pypdf as a candidate's viewer would: the
terms in both languages, nothing but the letter's own data, the same bytes every time."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from shared.contracts.commands import OfferTerms
from shared.errors import Invalid
from shared.offer_letter import OfferLetter, offer_letter_pdf
from shared.validation import parse

TERMS = {"salary": {"amount": 360000, "currency": "CNY", "period": "year"},
         "start_date_options": ["2027-01-04", "2027-02-01", "2027-03-01"],
         "expires_at": "2026-12-20T10:00:00Z", "message": "欢迎加入！\n\nBring your own mug."}
LETTER = {"company": "Hireloop 零售", "candidate_name": "张伟", "role_title": "Store manager",
          "timezone": "Asia/Shanghai", "issued_on": "2026-12-10"}


def letter(terms: dict | None = None, **fields) -> OfferLetter:
    return parse(OfferLetter, {**LETTER, "terms": {**TERMS, **(terms or {})}, **fields})


def read(pdf: bytes) -> tuple[str, dict]:
    """The PDF's text (whitespace folded to single spaces) and its document information."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), dict(reader.metadata or {})


def test_the_english_letter_states_the_terms():
    assert offer_letter_pdf(letter(), "en").startswith(b"%PDF-")
    text, _ = read(offer_letter_pdf(letter(), "en"))
    assert "Offer of employment" in text
    assert "Dear 张伟," in text  # a Chinese name in an English letter is drawn in the CJK font, and read back
    assert "Hireloop 零售 is pleased to offer you the position of Store manager" in text
    assert "CNY 360,000 per year" in text
    for day in ("2027-01-04 (Monday)", "2027-02-01 (Monday)", "2027-03-01 (Monday)"):
        assert f"– {day}" in text  # one item each
    assert "2026-12-20 18:00 (Asia/Shanghai)" in text  # 10:00 UTC in the division's zone
    assert "欢迎加入！" in text and "Bring your own mug." in text
    assert "Date: 2026-12-10 (Thursday)" in text


def test_the_chinese_letter_states_the_terms_and_pypdf_reads_its_chinese():
    text, _ = read(offer_letter_pdf(letter(), "zh-CN"))
    assert "录用通知书" in text
    assert "张伟，您好：" in text
    assert "Hireloop 零售很高兴向您发出Store manager职位的录用邀请" in text
    assert "年薪 CNY 360,000" in text
    assert "入职日期（请选择其一）" in text
    for day in ("2027-01-04（星期一）", "2027-02-01（星期一）", "2027-03-01（星期一）"):
        assert day in text
    assert "2026-12-20 18:00（Asia/Shanghai）" in text
    assert "Offer of employment" not in text and "Dear" not in text


@pytest.mark.parametrize(("salary", "en", "zh"), [
    ({"amount": 85000.0, "currency": "EUR", "period": "year"}, "EUR 85,000 per year", "年薪 EUR 85,000"),
    ({"amount": 22.5, "currency": "GBP", "period": "hour"}, "GBP 22.50 per hour", "时薪 GBP 22.50"),
    ({"amount": 12.345, "currency": "KWD", "period": "month"}, "KWD 12.345 per month", "月薪 KWD 12.345"),
    ({"amount": 1_200_000_000, "currency": "VND", "period": "year"}, "VND 1,200,000,000 per year",
     "年薪 VND 1,200,000,000"),
])
def test_the_salary_is_written_exactly_with_its_currency_and_period(salary, en, zh):
    assert en in read(offer_letter_pdf(letter({"salary": salary}), "en"))[0]
    assert zh in read(offer_letter_pdf(letter({"salary": salary}), "zh-CN"))[0]


def test_the_same_letter_is_the_same_bytes_and_its_metadata_carries_no_time_and_no_candidate():
    for locale in ("en", "zh-CN"):
        first, again = offer_letter_pdf(letter(), locale), offer_letter_pdf(letter(), locale)
        assert first == again
        _, info = read(first)
        dates = {info.get("/CreationDate"), info.get("/ModDate")}
        assert dates == {"D:20000101000000+00'00'"}  # reportlab's invariant date, not today's
        assert "张伟" not in " ".join(str(v) for v in info.values())
        assert info["/Author"] == "Hireloop 零售" and "Store manager" in info["/Title"]
    assert offer_letter_pdf(letter(), "en") != offer_letter_pdf(letter(candidate_name="李娜"), "en")


def test_the_letter_holds_only_what_it_is_given():
    text, _ = read(offer_letter_pdf(letter({"message": None}, issued_on=None), "en"))
    assert "A note from" not in text and "Date:" not in text
    assert "Start date (choose one)" in text
    single, _ = read(offer_letter_pdf(letter({"start_date_options": ["2027-01-04"]}), "en"))
    assert "Start date – 2027-01-04 (Monday)" in single and "choose one" not in single
    utc, _ = read(offer_letter_pdf(letter(timezone="UTC"), "en"))
    assert "2026-12-20 10:00 (UTC)" in utc


def test_what_people_type_is_text_not_markup_and_stays_on_its_line():
    odd = letter({"message": "Salary <b>not</b> negotiable & final; <font name='Courier'>x</font>"},
                 candidate_name="Ann\nO'Neil\t<script>", company="A & B <Ltd>")
    text, info = read(offer_letter_pdf(odd, "en"))
    assert "Salary <b>not</b> negotiable & final; <font name='Courier'>x</font>" in text
    assert "Dear Ann O'Neil <script>," in text
    assert "A & B <Ltd> is pleased" in text and info["/Author"] == "A & B <Ltd>"


def test_a_long_message_runs_onto_more_pages_in_both_languages():
    words = " ".join(f"word{i}" for i in range(330))[:2000]
    unbroken = "好" * 2000  # Chinese has no spaces: it wraps between characters
    for locale, message in (("en", words), ("zh-CN", unbroken), ("en", "x" * 2000)):
        pdf = offer_letter_pdf(letter({"message": message}), locale)
        text, _ = read(pdf)
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
        assert re.sub(r"\s", "", message) in re.sub(r"\s", "", text)


def test_a_letter_with_a_bad_zone_or_locale_is_refused():
    with pytest.raises(Invalid) as zone:
        letter(timezone="Mars/Olympus")
    assert zone.value.field == "timezone"
    with pytest.raises(Invalid) as terms:
        letter({"start_date_options": []})
    assert terms.value.field == "terms.start_date_options"
    with pytest.raises(ValueError):
        offer_letter_pdf(letter(), "fr")
    assert isinstance(letter().terms, OfferTerms)
