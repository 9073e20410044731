"""Sending digests: MIME messages, SMTP (STARTTLS, SSL or plain on a trusted relay), deliveries.

Every message is recorded (whole, with its Message-ID) together with the digest range it reports
(`Store.queue_digest`), then sent: marked `sending`, handed to the server, marked `sent`. A
temporary failure is retried `attempts` times and stays `failed` for the next run; a permanent one
(5xx) is `rejected` and never retried. A kill between handing over and marking resends the same
message with the same Message-ID, which mail systems show once. The SMTP user and password come
from the environment (SCHOOLAUDIT_SMTP_USER, SCHOOLAUDIT_SMTP_PASSWORD) and are never logged,
stored or put in a message.
"""
from __future__ import annotations

import email.policy
import logging
import os
import re
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from crawler import secrets
from records.model import DeliveryStatus, OutgoingMessage
from records.store import Store
from schoolaudit.config.settings import MailSection
from schoolaudit.digest import Digest

log = logging.getLogger(__name__)

USER_ENV, PASSWORD_ENV = "SCHOOLAUDIT_SMTP_USER", "SCHOOLAUDIT_SMTP_PASSWORD"


def build_message(digest: Digest, sender: str) -> EmailMessage:
    """multipart/alternative: the plain text, then the HTML with its thumbnails as related cid: parts."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = digest.subject
    message["From"] = sender
    message["To"] = formataddr((digest.recipient.name, digest.recipient.email))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="schoolaudit")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(digest.text, cte="quoted-printable")  # 7-bit clean for any relay
    message.add_alternative(digest.html, subtype="html", cte="quoted-printable")
    html_part = message.get_payload()[1]
    for cid, jpeg in digest.images.items():
        html_part.add_related(jpeg, maintype="image", subtype="jpeg", cid=f"<{cid}>",
                              filename=f"{cid.split('@')[0]}.jpg", disposition="inline")
    return message


class SmtpMailer:
    """Sends through the SMTP server of `[mail]`; log in when SCHOOLAUDIT_SMTP_USER is set."""

    def __init__(self, settings: MailSection):
        self.settings = settings

    def send(self, raw: bytes, recipient: str) -> None:
        s = self.settings
        context = ssl.create_default_context()
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout_seconds)
        try:
            if s.security == "starttls":
                smtp.starttls(context=context)
            user = os.environ.get(USER_ENV)
            if user:
                smtp.login(user, os.environ.get(PASSWORD_ENV, ""))
            smtp.sendmail(_address(s.sender), [recipient], raw)
        finally:
            _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; once the message was accepted, an error here (421 to QUIT) changes nothing."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class DryRunMailer:
    """Writes each message to `out_dir` as an .eml file instead of sending it."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.written: list[Path] = []

    def send(self, raw: bytes, recipient: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.@-]", "_", recipient)
        path = self.out_dir / f"{len(self.written) + 1:03d}-{stem}.eml"
        path.write_bytes(raw)
        self.written.append(path)


def _address(sender: str) -> str:
    match = re.search(r"<([^>]+)>", sender)
    return match.group(1) if match else sender


def _safe_error(exc: Exception) -> str:
    """The error to record: never the credentials, in any encoding a server or library echoes them back."""
    return secrets.redact(f"{type(exc).__name__}: {exc}")[:500]


def outgoing(digest: Digest, sender: str) -> OutgoingMessage:
    """The message of `digest` for its recipient, ready to record."""
    message = build_message(digest, sender)
    return OutgoingMessage(digest.recipient.email, digest.subject, message.as_bytes().decode("ascii"),
                           message["Message-ID"])


def _permanent(exc: Exception) -> bool:
    """A 5xx answer: the server will never take this message; retrying only repeats the refusal."""
    code = getattr(exc, "smtp_code", None)
    if code is None and isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = min((c for c, _ in exc.recipients.values()), default=None)
    return isinstance(code, int) and 500 <= code < 600


def deliver_pending(store: Store, mailer, settings: MailSection, sleep=time.sleep) -> tuple[int, int]:
    """Send every delivery not yet sent (this run's and earlier failures); return (sent, failed)."""
    sent = failed = 0
    for delivery in store.deliveries_to_send():
        error, status = None, DeliveryStatus.SENT
        for attempt in range(settings.attempts):
            if attempt:
                sleep(settings.retry_seconds * attempt)
            store.mark_delivery(delivery.id, DeliveryStatus.SENDING, attempted=True)
            try:
                mailer.send(delivery.message.encode("utf-8"), delivery.recipient)
                error, status = None, DeliveryStatus.SENT
                break
            except (OSError, smtplib.SMTPException) as exc:
                error = _safe_error(exc)
                status = DeliveryStatus.REJECTED if _permanent(exc) else DeliveryStatus.FAILED
                log.warning("sending %r to %s failed (attempt %d): %s", delivery.subject, delivery.recipient,
                            delivery.attempts + attempt + 1, error)
                if status is DeliveryStatus.REJECTED:
                    break
        store.mark_delivery(delivery.id, status, error)
        failed, sent = failed + bool(error), sent + (not error)
    return sent, failed
