"""A real HTTP server in a thread that receives webhooks and checks their signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    event: str
    delivery: str
    signature_ok: bool
    body: dict
    path: str


@dataclass
class Receiver:
    """What the server answers (``status``; ``hang`` never answers until the test ends) and
    every request it got."""

    secret: str
    status: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def deliveries(self) -> list[str]:
        return [r.delivery for r in self.received]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(receiver.secret.encode(), raw,
                                            hashlib.sha256).hexdigest()
            receiver.received.append(Received(
                event=self.headers.get("X-Discuss-Event", ""),
                delivery=self.headers.get("X-Discuss-Delivery", ""),
                signature_ok=hmac.compare_digest(
                    expected, self.headers.get("X-Discuss-Signature", "")),
                body=json.loads(raw), path=self.path))
            if receiver.hang:
                receiver.release.wait(30)
                return
            self.send_response(receiver.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            """Print nothing per request: the test output stays readable."""

    return Handler


def start_receiver(secret: str) -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/discuss?x=1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
