"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), keeping every message it accepts."""
from __future__ import annotations

import email
import email.policy
import re
import socket
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Inbox:
    """The aiosmtpd handler: `messages` are (envelope recipients, parsed message); `fail` refuses that many."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.raw: list[bytes] = []
        self.fail = 0
        self.reject = 0  # refuse that many messages for good (550)
        self.quit_answer: str | None = None  # e.g. "421 ..." after accepting, as some servers do
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        if self.fail:
            self.fail -= 1
            return "451 4.3.0 try again later"
        if self.reject:
            self.reject -= 1
            return "550 5.1.1 mailbox unavailable"
        self.raw.append(envelope.original_content or envelope.content)
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(self.raw[-1], policy=email.policy.default)))
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        return self.quit_answer or "221 Bye"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self, auth: bool = False):
        self.inbox = Inbox()
        kwargs = {"authenticator": self.inbox.authenticate, "auth_require_tls": False} if auth else {}
        self.port = _free_port()  # aiosmtpd needs a port number up front
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def use_server(config: Path, port: int, **digest) -> None:
    """Point the configuration's [mail] at the test server (plain SMTP on loopback, no waiting between retries)."""
    path = config / "settings.toml"
    text = path.read_text()
    text = re.sub(r'host = "smtp.example.org"', 'host = "127.0.0.1"', text)
    text = re.sub(r"port = 587", f"port = {port}", text)
    text = re.sub(r'security = "starttls"', 'security = "none"', text)
    text = re.sub(r"retry_seconds = 30", "retry_seconds = 0", text)
    for key, value in digest.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.MULTILINE)
    path.write_text(text)


def parts(message: email.message.EmailMessage) -> tuple[str, str, dict[str, bytes]]:
    """(plain text, HTML, {content-id: image bytes}) of a digest."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    images = {part["Content-ID"].strip("<>"): part.get_content() for part in message.walk()
              if part.get_content_maintype() == "image"}
    return text, html, images
