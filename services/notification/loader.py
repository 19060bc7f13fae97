"""Loads the notice templates: files under templates/<locale>/<kind>.txt (rendered by domain.render)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "en"


@lru_cache(maxsize=64)
def template_text(locale: str, kind: str) -> str:
    """The template of `kind` in `locale`, falling back to English when a locale lacks it."""
    if "/" in kind or "/" in locale or kind.startswith(".") or locale.startswith("."):
        raise ValueError(f"bad template name {locale}/{kind}")
    path = TEMPLATE_DIR / locale / f"{kind}.txt"
    if not path.is_file():
        path = TEMPLATE_DIR / DEFAULT_LOCALE / f"{kind}.txt"
    return path.read_text(encoding="utf-8")


def locales() -> list[str]:
    return sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir())
