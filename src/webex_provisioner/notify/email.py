"""``EmailNotifier``: a notice as an e-mail (plain text and HTML) through an SMTP server.

``smtp://`` upgrades with STARTTLS before anything else is sent (``notify.email.starttls``, on
by default), ``smtps://`` is TLS from the start; the login, when configured, happens only after.
A server that refuses, fails TLS, or does not answer within ``notify.timeout`` raises
``NotificationError`` with the SMTP code and what to check; the password is never shown.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from webex_provisioner.config.notify import EmailChannel
from webex_provisioner.errors import NotificationError
from webex_provisioner.model.notifications import OutboundMessage

CHANNEL = "email"


class EmailNotifier:
    """Sends each message to ``notify.email.to`` from ``notify.email.from``."""

    channel = CHANNEL

    def __init__(self, config: EmailChannel, *, timeout: float, context: ssl.SSLContext) -> None:
        self._config = config
        self._timeout = timeout
        self._context = context
        self._where = f"{config.host}:{config.port}"

    def __repr__(self) -> str:
        return f"EmailNotifier({self._where!r})"

    def mail(self, message: OutboundMessage) -> EmailMessage:
        """The e-mail of ``message``: text, with an HTML alternative."""
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self._config.sender
        mail["To"] = ", ".join(self._config.to)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(domain=self._config.sender.rpartition("@")[2])
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: OutboundMessage) -> None:
        mail = self.mail(message)
        try:
            with self._connect() as smtp:
                if self._config.username is not None and self._config.password is not None:
                    smtp.login(self._config.username, self._config.password.get_secret_value())
                smtp.send_message(mail)
        except smtplib.SMTPException as exc:
            raise NotificationError(CHANNEL, self._refused(exc)) from exc
        except ssl.SSLError as exc:
            raise NotificationError(
                CHANNEL,
                f"the TLS handshake with the SMTP server {self._where} failed "
                f"({exc.reason or 'no reason given'}); set notify.ca_file to the PEM file of the CA "
                "that signed its certificate",
            ) from exc
        except TimeoutError as exc:
            raise NotificationError(
                CHANNEL,
                f"the SMTP server {self._where} did not answer within {self._timeout:g}s; tried again later",
            ) from exc
        except OSError as exc:
            raise NotificationError(
                CHANNEL,
                f"the SMTP server {self._where} could not be reached ({exc.strerror or type(exc).__name__}); "
                "check notify.email.smtp and that the server is up",
            ) from exc

    def close(self) -> None:
        """Nothing held between messages: each opens its own SMTP session."""

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        if config.implicit_tls:
            return smtplib.SMTP_SSL(config.host, config.port, timeout=self._timeout, context=self._context)
        smtp = smtplib.SMTP(config.host, config.port, timeout=self._timeout)
        try:
            if config.starttls:
                smtp.starttls(context=self._context)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _refused(self, exc: smtplib.SMTPException) -> str:
        where = f"the SMTP server {self._where}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return (
                f"{where} refused the login of {self._config.username} ({exc.smtp_code}); check "
                "notify.email.username and notify.email.password"
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return f"{where} does not offer STARTTLS (or AUTH); use smtps:// or a server that does"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = ", ".join(f"{to}: {code}" for to, (code, _text) in exc.recipients.items())
            return f"{where} refused the recipients ({codes}); check notify.email.to"
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = _reply(exc.smtp_error)
            return (
                f"{where} refused the message ({exc.smtp_code} {reply}); check notify.email.from and "
                "the server log"
            )
        return f"{where} failed: {type(exc).__name__}; it is tried again later"


def _reply(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:200]
