"""The far ends of the notification channels, on 127.0.0.1: an HTTP receiver (the webhook), an
SMTP server (aiosmtpd) with STARTTLS or implicit TLS and a login, and a port nobody listens on."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from webex_provisioner.sandbox.pki import TestPki


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HttpReceiver:
    """Answers every POST with ``status`` (after ``delay`` seconds) and keeps what it got."""

    def __init__(self, *, status: int = 200, delay: float = 0.0, pki: TestPki | None = None) -> None:
        self.status, self.delay = status, delay
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.scheme = "http"
        if pki is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(pki.cert_file, pki.key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}/hooks/s3cret-path"

    def bodies(self) -> list[str]:
        return [body.decode() for _, _, body in self.requests]

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, _, body in self.requests]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.refuse = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse:
            return "554 5.7.1 Message refused by policy"
        self.messages.append(envelope)
        return "250 OK"


class SmtpReceiver:
    """An SMTP server on 127.0.0.1: STARTTLS required (``implicit_tls``: SMTPS instead) when a
    ``pki`` is given, plain otherwise; a login ``user``/``password`` when given."""

    def __init__(
        self,
        *,
        pki: TestPki | None = None,
        implicit_tls: bool = False,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.mailbox = _Mailbox()
        self.logins: list[str] = []
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if pki is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(pki.cert_file, pki.key_file)
            kwargs = (
                {"ssl_context": context}
                if implicit_tls
                else {"tls_context": context, "require_starttls": True}
            )
        if user is not None:
            # aiosmtpd does not count implicit TLS as TLS for AUTH: require it of STARTTLS only
            kwargs.update(
                authenticator=self._authenticator(user, password or ""),
                auth_require_tls=pki is not None and not implicit_tls,
            )
        else:
            kwargs.update(auth_require_tls=False)
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()

    def _authenticator(self, user: str, password: str) -> Any:
        def check(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                user.encode(),
                password.encode(),
            )
            self.logins.append(data.login.decode() if isinstance(data, LoginPassword) else "?")
            return AuthResult(success=ok, handled=False)

        return check

    def sources(self) -> list[str]:
        """Each message received, as its decoded text parts (subject, text, HTML) joined."""
        texts = []
        for envelope in self.mailbox.messages:
            raw = envelope.original_content or b""
            mail = message_from_bytes(raw, policy=policy.default)
            parts = [str(mail["Subject"])]
            parts += [
                str(part.get_content()) for part in mail.walk() if part.get_content_maintype() == "text"
            ]
            texts.append("\n".join(parts).replace("\r\n", "\n"))
        return texts

    def close(self) -> None:
        self._controller.stop()
