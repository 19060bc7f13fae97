"""Reading a CV (issue 18): its text (PDF with pypdf, Word with python-docx, plain text), the skills of a
vocabulary it names and the years of experience it states. Pure: bytes in, results out, no I/O (the shell
reads the file from GridFS and the shipped vocabulary, services/sourcing/skills.txt, and stores the result).

Whatever a file does to a reader ends as an `unreadable` reading with a reason, never as an exception:
- `encrypted`: a PDF that an empty password does not open,
- `too_many_pages`: a PDF longer than MAX_PAGES (no CV is; a generated monster would hold the worker),
- `no_text`: nothing to read (a scanned image, an empty document),
- `damaged`: the library could not parse it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from shared import documents
from shared.contracts.common import normalize_skill

MAX_PAGES = 50
# Text kept and searched: a long CV is ~20,000 characters; more is padding or an attack on the searches.
MAX_TEXT_CHARS = 200_000
EXTRACTED, UNREADABLE = "extracted", "unreadable"
ENCRYPTED, TOO_MANY_PAGES, NO_TEXT, DAMAGED = "encrypted", "too_many_pages", "no_text", "damaged"
# Years anyone states: more is a date or a typo.
MAX_YEARS = 60


@dataclass(frozen=True)
class Reading:
    status: str  # extracted | unreadable
    text: str = ""
    reason: str | None = None


def _unreadable(reason: str) -> Reading:
    return Reading(UNREADABLE, "", reason)


def read_text(data: bytes, content_type: str, max_pages: int = MAX_PAGES) -> Reading:
    """The text of a file of an accepted type (shared/documents.py), or why it has none."""
    try:
        if content_type == documents.PDF:
            text = _pdf_text(data, max_pages)
        elif content_type == documents.DOCX:
            text = _docx_text(data)
        elif content_type == documents.TXT:
            text = documents.text_of(data)
        else:
            return _unreadable(DAMAGED)
    except _Unreadable as exc:
        return _unreadable(exc.reason)
    except Exception:  # noqa: BLE001 - a hostile or broken file may raise anything inside a parser
        return _unreadable(DAMAGED)
    text = _tidy(text)[:MAX_TEXT_CHARS]
    return Reading(EXTRACTED, text) if text.strip() else _unreadable(NO_TEXT)


class _Unreadable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _pdf_text(data: bytes, max_pages: int) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are "encrypted" with an empty user password (printing or copying restrictions): they open.
        try:
            opened = reader.decrypt("")
        except Exception:  # noqa: BLE001 - an unsupported scheme is as closed as a password
            raise _Unreadable(ENCRYPTED) from None
        if not opened:
            raise _Unreadable(ENCRYPTED)
    if len(reader.pages) > max_pages:
        raise _Unreadable(TOO_MANY_PAGES)
    parts, size = [], 0
    for page in reader.pages:
        part = page.extract_text() or ""
        parts.append(part)
        size += len(part)
        if size > MAX_TEXT_CHARS:
            break
    return "\n".join(parts)


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend(_table_lines(table))
    return "\n".join(lines)


def _table_lines(table) -> list[str]:
    """A table row by row (cells separated by tabs), nested tables after their row."""
    lines = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            cells.append(cell.text)
            for inner in cell.tables:
                lines.extend(_table_lines(inner))
        lines.append("\t".join(cells))
    return lines


def _tidy(text: str) -> str:
    # NULs and other controls (a PDF's odd glyphs) out; lines kept.
    return "".join(ch if ch >= " " or ch in "\t\n" else " " for ch in text)


# ----------------------------------------------------------------------------------------------------
# Skills

# What may not touch a skill on either side for it to count as a word: Latin letters and digits, and the
# characters skills end or start with (C++, C#, .NET). Chinese (or any other script) around a skill is a
# boundary: "熟悉Python和Java" names both.
_WORDISH = r"0-9A-Za-z_\u00c0-\u024f"


def vocabulary(shipped: Iterable[str], requisition_skills: Iterable[str]) -> list[str]:
    """The group's vocabulary: the shipped list, then every requisition's skills; each once by its
    normalised form (the first spelling wins)."""
    seen: dict[str, str] = {}
    for skill in [*shipped, *requisition_skills]:
        key = normalize_skill(skill)
        if key:
            seen.setdefault(key, " ".join(skill.split()))
    return list(seen.values())


def parse_vocabulary(text: str) -> list[str]:
    """A vocabulary file: one skill per line, `#` starts a comment line."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=8192)
def _pattern(skill: str) -> re.Pattern:
    words = [re.escape(w) for w in skill.split()]
    body = r"\s+".join(words)
    # Before: no letter or digit, no "." (".NET" in "ASP.NET", "js" in "Node.js"), no + or #.
    before = rf"(?<![{_WORDISH}+#.])" if re.match(rf"[{_WORDISH}.]", skill) else ""
    # After: no letter or digit, no + or # (C is not C++ or C#), no ".x" (Node is not Node.js).
    after = rf"(?![{_WORDISH}+#]|\.[{_WORDISH}])" if re.search(rf"[{_WORDISH}+#]$", skill) else ""
    # One- and two-letter skills (C, R, Go) are everyday words in any case but their own: match as spelled.
    flags = 0 if len(skill) <= 2 else re.IGNORECASE
    return re.compile(before + body + after, flags)


def find_skills(text: str, vocabulary: Iterable[str]) -> list[str]:
    """The vocabulary's skills the text names (as the vocabulary spells them), in the order the text first
    names them. Case-insensitive, whole words, any spacing inside a multi-word skill."""
    text = text[:MAX_TEXT_CHARS]
    found: dict[str, tuple[int, str]] = {}
    for skill in vocabulary:
        key = normalize_skill(skill)
        if not key or key in found:
            continue
        m = _pattern(" ".join(skill.split())).search(text)
        if m:
            found[key] = (m.start(), skill)
    return [skill for _, skill in sorted(found.values(), key=lambda p: p[0])]


# ----------------------------------------------------------------------------------------------------
# Years of experience

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
                 "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20}
_EN_YEARS = re.compile(
    r"(?<![\w.])(\d{1,2}(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")\s*\+?\s*(?:years?|yrs?)\b(?!\s+(?:old|ago))",
    re.IGNORECASE)
# "6年", "6年以上", "6 年经验"; not "2016年" (a date), "3年级" (a school grade), "3年前" (ago).
_ZH_DIGIT_YEARS = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s*\+?\s*(?:多)?\s*年(?![级前\d])")
_ZH_NUMERALS = "零一二两三四五六七八九十"
_ZH_WORD_YEARS = re.compile(rf"(?<![{_ZH_NUMERALS}〇百千])([{_ZH_NUMERALS}]{{1,3}})(?:多)?年(?![级前])")
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _chinese_number(text: str) -> int | None:
    """一..九十九 ("十二" 12, "二十" 20, "二十五" 25); None for anything else."""
    if "十" not in text:
        return _ZH_DIGITS.get(text) if len(text) == 1 else None
    tens, _, units = text.partition("十")
    if "十" in units:
        return None
    t = 1 if not tens else _ZH_DIGITS.get(tens)
    u = 0 if not units else _ZH_DIGITS.get(units)
    return None if t is None or u is None else t * 10 + u


def find_years(text: str) -> float | None:
    """The most years of experience the text states ("6 years", "6+ years of experience", "six years",
    "六年", "6年以上"), or None when it states none."""
    text = text[:MAX_TEXT_CHARS]
    values: list[float] = []
    for m in _EN_YEARS.finditer(text):
        word = m.group(1).lower()
        values.append(float(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else float(word))
    values.extend(float(m.group(1)) for m in _ZH_DIGIT_YEARS.finditer(text))
    for m in _ZH_WORD_YEARS.finditer(text):
        n = _chinese_number(m.group(1))
        if n is not None:
            values.append(float(n))
    values = [v for v in values if 0 < v <= MAX_YEARS]
    return max(values) if values else None
