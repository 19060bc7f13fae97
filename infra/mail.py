"""`make mail`: the latest emails the local SMTP capture kept (infra/smtp_capture.py), decoded.

    python -m infra.mail [--dir var/mail] [--last N]

For each message, oldest of the N first: From, To, Reply-To, Subject and Date, the attachments by name and
type, then the text (the plain part; an HTML-only message with its tags removed).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from infra.smtp_capture import read_index

HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date")


def latest_files(directory: Path, n: int) -> list[Path]:
    """The .eml files of the `n` latest messages, oldest first: in the index's order, else by file name (the
    capture names files by the time they arrived)."""
    entries = read_index(directory)
    files = [directory / e["file"] for e in entries if (directory / e["file"]).exists()] if entries else sorted(
        directory.glob("*.eml"))
    return files[-n:] if n > 0 else []


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is not None:
        return part.get_content()
    part = msg.get_body(preferencelist=("html",))
    if part is not None:
        text = re.sub(r"(?is)<(script|style).*?</\1>", "", part.get_content())
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h\d>", "\n", text)
        return "(HTML only, tags removed)\n" + html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
    if msg.is_multipart():
        return "(no text part)"
    payload = msg.get_payload(decode=True)
    return payload.decode(msg.get_content_charset() or "utf-8", errors="replace") if payload else ""


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} kB"


def render(path: Path) -> str:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    lines = [f"--- {path.name}"]
    for name in HEADERS:
        if msg[name] is not None:
            lines.append(f"{name + ':':<10}{msg[name]}")
    attachments = [(part.get_filename() or "(no name)", part.get_content_type(),
                    len(part.get_payload(decode=True) or b"")) for part in msg.iter_attachments()]
    if attachments:
        lines.append("Attachments: " + "; ".join(f"{name} ({kind}, {_size(size)})"
                                                 for name, kind, size in attachments))
    lines += ["", _text(msg).rstrip(), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.mail", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="var/mail", help="the capture's directory (default var/mail)")
    parser.add_argument("--last", type=int, default=3, help="how many of the latest messages (default 3)")
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    files = latest_files(directory, args.last)
    if not files:
        print(f"no mail captured yet in {directory}/ (`make run` captures every email the platform sends there)")
        return 0
    total = len(read_index(directory)) or len(list(directory.glob("*.eml")))
    print(f"{len(files)} latest of {total} messages in {directory}/ (ARGS=\"--last N\" for more)\n")
    for path in files:
        print(render(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
