"""`make mail` (infra/mail.py): the latest captured emails, decoded, from .eml files written by the capture's
own writer (infra/smtp_capture.py) and one message built by the notification service's sender."""

from __future__ import annotations

from email.message import EmailMessage

from infra.mail import main
from infra.smtp_capture import _CaptureHandler
from services.notification.sender import SmtpSender


def capture(directory, msg: EmailMessage, to: list[str]) -> None:
    directory.mkdir(exist_ok=True)
    _CaptureHandler(directory).save("no-reply@hireloop.local", to, msg.as_bytes())


def offer() -> EmailMessage:
    sender = SmtpSender("smtp://127.0.0.1:1025", "hireloop <no-reply@hireloop.local>")
    return sender.build_message({"_id": "ntc_offer1", "recipient": "li.wei@example.com", "kind": "offer",
                                 "subject": "Your offer — Data engineer", "reply_to": "hr-retail@example.com",
                                 "body": "Interview average: 4.3 / 5\nMatch: 87 %\nNext: sign by Friday (中文)"})


def test_the_latest_messages_are_printed_decoded_oldest_first(tmp_path, capsys):
    mail = tmp_path / "mail"
    first = EmailMessage()
    first["From"], first["To"], first["Subject"] = "a@example.com", "b@example.com", "too old to be shown"
    first.set_content("old")
    capture(mail, first, ["b@example.com"])

    with_files = EmailMessage()
    with_files["From"] = "hireloop <no-reply@hireloop.local>"
    with_files["To"] = "hr-retail@example.com, group-hr@example.com"
    with_files["Subject"] = "Weekly report — Café division"
    with_files["Date"] = "Fri, 04 Dec 2026 20:00:00 +0000"
    with_files.set_content("The report is attached.")
    with_files.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="funnel.csv")
    with_files.add_attachment(b"%PDF-1.4 " + b"x" * 2000, maintype="application", subtype="pdf",
                              filename="résumé.pdf")
    capture(mail, with_files, ["hr-retail@example.com", "group-hr@example.com"])
    capture(mail, offer(), ["li.wei@example.com"])

    assert main(["--dir", str(mail), "--last", "2"]) == 0
    out = capsys.readouterr().out
    assert "too old to be shown" not in out and '"notice_id"' not in out and "=?utf-8?" not in out
    report, offer_text = out.split("\n--- ")[1:]
    assert "To:       hr-retail@example.com, group-hr@example.com" in report
    assert "Subject:  Weekly report — Café division" in report
    assert "Date:     Fri, 04 Dec 2026 20:00:00 +0000" in report
    assert "Attachments: funnel.csv (text/csv, 8 B); résumé.pdf (application/pdf, 2.0 kB)" in report
    assert "The report is attached." in report and "%PDF" not in report
    assert "From:     hireloop <no-reply@hireloop.local>" in offer_text
    assert "To:       li.wei@example.com" in offer_text
    assert "Reply-To: hr-retail@example.com" in offer_text
    assert "Subject:  Your offer — Data engineer" in offer_text
    assert "Date:     " in offer_text and "Attachments" not in offer_text
    assert "Interview average: 4.3 / 5\nMatch: 87 %\nNext: sign by Friday (中文)" in offer_text


def test_an_html_only_message_is_shown_as_text(tmp_path, capsys):
    mail = tmp_path / "mail"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "html"
    msg.set_content("<html><style>p{color:red}</style><p>Hello &amp; welcome</p><p>Line two</p></html>",
                    subtype="html")
    capture(mail, msg, ["b@example.com"])
    assert main(["--dir", str(mail)]) == 0
    out = capsys.readouterr().out
    assert "(HTML only, tags removed)\nHello & welcome\nLine two" in out and "color:red" not in out


def test_no_mail_yet_says_so(tmp_path, capsys):
    assert main(["--dir", str(tmp_path / "mail")]) == 0
    assert capsys.readouterr().out.startswith(f"no mail captured yet in {tmp_path / 'mail'}/")
