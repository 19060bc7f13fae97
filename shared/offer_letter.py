"""An offer letter as a PDF, made from the offer's terms (api-v1 "Interviews, offers"): pure code, no clock,
no I/O, the same bytes for the same letter.

Use (the offers work wires it; nothing calls it yet): whoever holds the offer builds the letter from records
it already has and attaches the bytes to the offer email and the portal, as `application/pdf`:

    from shared.offer_letter import OfferLetter, offer_letter_pdf

    letter = OfferLetter(company=division.name, candidate_name=candidate.name, role_title=requisition.title,
                         terms=offer_terms, timezone=division.timezone, issued_on=offered_at.date())
    pdf = offer_letter_pdf(letter, "zh-CN")  # or "en": the candidate's locale

What the letter holds is what `OfferLetter` names and nothing else: no email, address, ids or links (a portal
link carries a token; it belongs in the email, not in a file that gets forwarded). The PDF's metadata names
the company and the role, never the candidate, and its dates are fixed (reportlab's invariant mode), so no
creation time leaks and a letter made twice is byte-for-byte the same.

Fonts are reportlab's built-ins, so nothing is embedded or looked up on the machine: Helvetica for what its
Latin-1 encoding (cp1252) covers and Adobe's STSong-Light CID font for the rest (Chinese, also Cyrillic,
Greek and other scripts of GB 18030), switched per run of text, so a Chinese name reads right in an English
letter. Text in scripts neither covers (Arabic, emoji, ...) stays in the PDF's text but is drawn as missing
glyphs by most viewers. pypdf extracts the Chinese text of STSong-Light (tests/unit/test_offer_letter.py).
"""

from __future__ import annotations

import io
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import StringConstraints, field_validator
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

from shared.contracts.commands import IsoDate, Locale, OfferTerms
from shared.contracts.common import Name, Strict

LATIN, LATIN_BOLD, CJK = "Helvetica", "Helvetica-Bold", "STSong-Light"


class OfferLetter(Strict):
    """What an offer letter says: who offers which role to whom, on which terms. `timezone` (IANA, the
    division's) is the zone the expiry is shown in; `issued_on` is the letter's date, given by the caller
    (the module reads no clock), left out when None."""

    company: Name
    candidate_name: Name
    role_title: Name
    terms: OfferTerms
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    issued_on: IsoDate | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone, e.g. Europe/Berlin") from None
        return v


# The letter's words, by locale. {placeholders} are filled with the letter's (escaped) values.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Offer of employment",
        "meta_title": "Offer letter: {role}",
        "issued": "Date: {date}",
        "greeting": "Dear {name},",
        "intro": "{company} is pleased to offer you the position of {role}, on the terms below.",
        "salary_label": "Salary",
        "salary": "{currency} {amount} per {period}",
        "year": "year", "month": "month", "hour": "hour",
        "start_label": "Start date (choose one)",
        "start_label_one": "Start date",
        "expires_label": "Please answer by",
        "expires": "{when} ({zone})",
        "message_label": "A note from {company}",
        "closing": "To accept, choose your start date on your candidate portal before the offer expires. "
                   "You can also decline there, or send us a question.",
        "sign_off": "Kind regards,",
    },
    "zh-CN": {
        "title": "录用通知书",
        "meta_title": "录用通知书：{role}",
        "issued": "日期：{date}",
        "greeting": "{name}，您好：",
        "intro": "{company}很高兴向您发出{role}职位的录用邀请，条件如下。",
        "salary_label": "薪酬",
        "salary": "{period}{currency} {amount}",
        "year": "年薪 ", "month": "月薪 ", "hour": "时薪 ",
        "start_label": "入职日期（请选择其一）",
        "start_label_one": "入职日期",
        "expires_label": "请于以下时间前答复",
        "expires": "{when}（{zone}）",
        "message_label": "{company}的留言",
        "closing": "如接受录用，请在有效期内登录候选人门户选择入职日期；您也可以在门户中婉拒，或向我们提问。",
        "sign_off": "此致",
    },
}
WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh-CN": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}


def offer_letter_pdf(letter: OfferLetter, locale: Locale) -> bytes:
    """The letter as PDF bytes (A4), in `locale` ("en" or "zh-CN")."""
    if locale not in TEXT:
        raise ValueError(f"unknown locale {locale!r}")
    _register_fonts()
    text, terms = TEXT[locale], letter.terms
    company, role = _one_line(letter.company), _one_line(letter.role_title)
    styles = _styles(locale)

    def para(words: str, style: str = "body", **values: str) -> Paragraph:
        # Values are escaped (a name like "A & <B>" is text, not markup) before the fonts are switched.
        filled = escape(words).format(**{k: escape(v) for k, v in values.items()})
        return Paragraph(_fonts(filled, bold=style in ("company", "label")), styles[style])

    story = [para("{company}", "company", company=company), para(text["title"], "title")]
    if letter.issued_on is not None:
        story.append(para(text["issued"], "small", date=_day(letter.issued_on, locale)))
    story += [
        Spacer(1, 4 * mm),
        para(text["greeting"], name=_one_line(letter.candidate_name)),
        para(text["intro"], company=company, role=role),
        para(text["salary_label"], "label"),
        para(text["salary"], currency=terms.salary.currency, amount=_amount(terms.salary.amount),
             period=text[terms.salary.period]),
        para(text["start_label"] if len(terms.start_date_options) > 1 else text["start_label_one"], "label"),
        ListFlowable([ListItem(para("{day}", day=_day(d, locale)), leftIndent=12)
                      for d in terms.start_date_options], bulletType="bullet", start="–", leftIndent=12,
                     bulletFontName=LATIN),
        para(text["expires_label"], "label"),
        para(text["expires"], when=_instant(terms, letter.timezone), zone=letter.timezone),
    ]
    if terms.message:
        story.append(para(text["message_label"], "label", company=company))
        # The sender's line breaks are kept; each line is its own paragraph (blank lines skipped).
        story += [para("{line}", line=_one_line(line)) for line in terms.message.splitlines() if line.strip()]
    story += [Spacer(1, 4 * mm), para(text["closing"]), Spacer(1, 4 * mm), para(text["sign_off"]),
              para("{company}", company=company)]

    out = io.BytesIO()
    # invariant: fixed creation and modification dates and document id (the same letter, the same bytes).
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, invariant=1, title=_one_line(text["meta_title"].format(role=role)),
                            author=company, subject="", keywords="", creator="hireloop", lang=locale)
    doc.build(story)
    return out.getvalue()


def _register_fonts() -> None:
    # reportlab's font registry is process-wide; registering STSong-Light once is enough and cheap.
    if CJK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))


def _styles(locale: str) -> dict[str, ParagraphStyle]:
    # CJK wrapping breaks between any two characters (Chinese has no spaces); English wraps at spaces.
    wrap = "CJK" if locale == "zh-CN" else None
    body = ParagraphStyle("body", fontName=LATIN, fontSize=11, leading=16, spaceAfter=4, wordWrap=wrap)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=12),
        "label": ParagraphStyle("label", parent=body, fontName=LATIN_BOLD, spaceBefore=8, spaceAfter=2),
        "company": ParagraphStyle("company", parent=body, fontName=LATIN_BOLD, fontSize=16, leading=20),
        "title": ParagraphStyle("title", parent=body, fontSize=13, leading=18, spaceAfter=6),
    }


def _latin(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _fonts(markup: str, bold: bool = False) -> str:
    """Escaped text with each run Helvetica cannot draw wrapped in STSong-Light (which has no bold)."""
    out, run = [], []
    for ch in markup:
        if _latin(ch):
            if run:
                out.append(f'<font name="{CJK}">{"".join(run)}</font>')
                run = []
            out.append(ch)
        else:
            run.append(ch)
    if run:
        out.append(f'<font name="{CJK}">{"".join(run)}</font>')
    return "".join(out)


def _one_line(value: str) -> str:
    # Control characters (a newline in a name, a tab, a bidi override) become spaces: one plain line.
    return " ".join("".join(" " if unicodedata.category(c).startswith("C") else c for c in value).split())


def _amount(value: float) -> str:
    """85000.0 as "85,000", 22.5 as "22.50", 12.345 as "12.345": grouped, exact, cents when there are any."""
    number = Decimal(repr(value))
    if number == number.to_integral_value():
        return f"{int(number):,}"
    whole, fraction = f"{number:,f}".split(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _day(day: date, locale: str) -> str:
    # ISO first (unambiguous in every country), the weekday after it in the letter's language.
    weekday = WEEKDAYS[locale][day.weekday()]
    return f"{day.isoformat()} ({weekday})" if locale == "en" else f"{day.isoformat()}（{weekday}）"


def _instant(terms: OfferTerms, timezone: str) -> str:
    local: datetime = terms.expires_at.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M")
