"""A real local SMTP server (aiosmtpd) for tests that read the mail the service sends."""

from __future__ import annotations

import re
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """Collects every message the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.expected = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> EmailMessage:
        received = self.to(address)
        assert received, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
        return received[-1]

    def expect(self, n: int) -> None:
        """The test expects ``n`` more messages; checked when the test ends."""
        self.expected += n

    @staticmethod
    def link(message: EmailMessage, path: str) -> str:
        """The path (from ``path`` on) of the first link in the message that contains it."""
        body = message.get_content()
        match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", body)
        assert match, f"no {path} link in: {body}"
        return match.group(1)


def start_server() -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, mailbox
