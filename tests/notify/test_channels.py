"""The three channels pass the ``Notifier`` contract against real far ends on 127.0.0.1: the
webhook against an HTTP(S) receiver, e-mail against an SMTP server (STARTTLS with a login, and
SMTPS), Webex against the emulator's /v1/messages; and what each sends, exactly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import WEBEX_TOKEN
from tests.notify.receivers import HttpReceiver, SmtpReceiver, free_port
from webex_provisioner.config.notify import EmailChannel, WebexChannel, WebhookChannel
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.errors import NotificationError
from webex_provisioner.notify import EmailNotifier, WebexSpaceNotifier, WebhookNotifier
from webex_provisioner.notify.tls import tls_context
from webex_provisioner.ports import Notifier
from webex_provisioner.sandbox.demo import ORG_ID
from webex_provisioner.sandbox.pki import TestPki, make_test_pki
from webex_provisioner.testing.contracts.notify import HELD, NotifierContract

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]

HOOK_TOKEN = "hook-token-7d1e2a"
SMTP_PASSWORD = "smtp-password-4b9c0f"
TIMEOUT = 2.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


def webhook(url: str, pki: TestPki) -> WebhookNotifier:
    config = WebhookChannel(url=url, headers={"Authorization": f"Bearer {HOOK_TOKEN}"})
    return WebhookNotifier(config, timeout=TIMEOUT, verify=tls_context(pki.ca_file))


class TestWebhook(NotifierContract):
    """The webhook over HTTPS, trusting the sandbox CA."""

    @pytest.fixture
    def receiver(self, pki: TestPki) -> Iterator[HttpReceiver]:
        server = HttpReceiver(pki=pki)
        yield server
        server.close()

    @pytest.fixture
    def notifier(self, receiver: HttpReceiver, pki: TestPki) -> Iterator[Notifier]:
        made = webhook(receiver.url, pki)
        yield made
        made.close()

    @pytest.fixture
    def received(self, receiver: HttpReceiver) -> Callable[[], list[str]]:
        return receiver.bodies

    @pytest.fixture
    def refusing_notifier(self, pki: TestPki) -> Iterator[Notifier]:
        server = HttpReceiver(status=503, pki=pki)
        yield webhook(server.url, pki)
        server.close()

    @pytest.fixture
    def unreachable_notifier(self, pki: TestPki) -> Notifier:
        return webhook(f"https://127.0.0.1:{free_port()}/hook", pki)

    @pytest.fixture
    def secrets(self) -> Sequence[str]:
        return (HOOK_TOKEN, "s3cret-path")

    @pytest.fixture
    def timeout(self) -> float:
        return TIMEOUT


def test_the_webhook_posts_the_json_body_with_its_headers(pki: TestPki) -> None:
    """The body is the message's payload as JSON; the configured headers are sent."""
    receiver = HttpReceiver(pki=pki)
    try:
        webhook(receiver.url, pki).send(HELD)
        ((path, headers, body),) = receiver.requests
    finally:
        receiver.close()
    assert path == "/hooks/s3cret-path"
    assert headers["Authorization"] == f"Bearer {HOOK_TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == dict(HELD.payload)


def test_a_webhook_that_does_not_answer_in_time_fails_within_the_timeout(pki: TestPki) -> None:
    """A receiver slower than notify.timeout: NotificationError after the timeout, not later."""
    receiver = HttpReceiver(delay=TIMEOUT + 3, pki=pki)
    try:
        with pytest.raises(NotificationError, match=r"did not answer within 2s") as raised:
            webhook(receiver.url, pki).send(HELD)
    finally:
        receiver.close()
    assert "s3cret-path" not in raised.value.message and HOOK_TOKEN not in raised.value.message


def test_a_webhook_whose_certificate_is_not_trusted_fails_saying_so(pki: TestPki, tmp_path: Path) -> None:
    """Without notify.ca_file, the sandbox certificate is refused: nothing is sent."""
    receiver = HttpReceiver(pki=pki)
    try:
        config = WebhookChannel(url=receiver.url)
        with pytest.raises(NotificationError, match="certificate is not trusted"):
            WebhookNotifier(config, timeout=TIMEOUT).send(HELD)
    finally:
        receiver.close()
    assert receiver.requests == []


def email(port: int, pki: TestPki, *, scheme: str = "smtp", password: str = SMTP_PASSWORD) -> EmailNotifier:
    config = EmailChannel.model_validate(
        {
            "smtp": f"{scheme}://127.0.0.1:{port}",
            "username": "notifier",
            "password": password,
            "from": "webex-provisioner@example.com",
            "to": ["identity-team@example.com", "oncall@example.com"],
        }
    )
    return EmailNotifier(config, timeout=TIMEOUT, context=tls_context(pki.ca_file))


class TestEmail(NotifierContract):
    """E-mail with STARTTLS (required by the server) and a login."""

    @pytest.fixture
    def server(self, pki: TestPki) -> Iterator[SmtpReceiver]:
        made = SmtpReceiver(pki=pki, user="notifier", password=SMTP_PASSWORD)
        yield made
        made.close()

    @pytest.fixture
    def notifier(self, server: SmtpReceiver, pki: TestPki) -> Notifier:
        return email(server.port, pki)

    @pytest.fixture
    def received(self, server: SmtpReceiver) -> Callable[[], list[str]]:
        return server.sources

    @pytest.fixture
    def refusing_notifier(self, server: SmtpReceiver, pki: TestPki) -> Notifier:
        return email(server.port, pki, password="not-the-password")

    @pytest.fixture
    def unreachable_notifier(self, pki: TestPki) -> Notifier:
        return email(free_port(), pki)

    @pytest.fixture
    def secrets(self) -> Sequence[str]:
        return (SMTP_PASSWORD, "not-the-password")

    @pytest.fixture
    def timeout(self) -> float:
        return TIMEOUT


def test_an_email_has_text_and_html_for_every_recipient_after_starttls(pki: TestPki) -> None:
    """One message to each address of notify.email.to, from notify.email.from, with the subject,
    a text part and an HTML part, sent after STARTTLS and the login."""
    server = SmtpReceiver(pki=pki, user="notifier", password=SMTP_PASSWORD)
    try:
        email(server.port, pki).send(HELD)
        (envelope,) = server.mailbox.messages
        (source,) = server.sources()
    finally:
        server.close()
    assert envelope.mail_from == "webex-provisioner@example.com"
    assert envelope.rcpt_tos == ["identity-team@example.com", "oncall@example.com"]
    assert server.logins == ["notifier"]
    assert HELD.subject in source and HELD.text.strip() in source and HELD.html in source


def test_smtps_delivers_over_tls_from_the_first_byte(pki: TestPki) -> None:
    """smtps:// (implicit TLS, no STARTTLS) delivers too."""
    server = SmtpReceiver(pki=pki, implicit_tls=True, user="notifier", password=SMTP_PASSWORD)
    try:
        email(server.port, pki, scheme="smtps").send(HELD)
        assert len(server.mailbox.messages) == 1
    finally:
        server.close()


def test_an_smtp_server_that_refuses_the_message_fails_with_its_code(pki: TestPki) -> None:
    """A 5xx answer to the message is a NotificationError with the SMTP code."""
    server = SmtpReceiver(pki=pki, user="notifier", password=SMTP_PASSWORD)
    server.mailbox.refuse = True
    try:
        with pytest.raises(NotificationError, match=r"refused the message \(554"):
            email(server.port, pki).send(HELD)
    finally:
        server.close()


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(pki: TestPki) -> None:
    """A server without STARTTLS gets no message and no password: the send fails saying so."""
    server = SmtpReceiver(user="notifier", password=SMTP_PASSWORD)  # plain, no TLS offered
    try:
        with pytest.raises(NotificationError, match="does not offer STARTTLS") as raised:
            email(server.port, pki).send(HELD)
    finally:
        server.close()
    assert server.mailbox.messages == [] and server.logins == []
    assert SMTP_PASSWORD not in raised.value.message


class TestWebexSpace(NotifierContract):
    """A message in a Webex space, on the emulator."""

    ROOM = "Y2lzY29zcGFyazovL3VzL1JPT00vb3BzLXNwYWNl"

    @pytest.fixture
    def notifier(self, emulator: EmulatorServer) -> Iterator[Notifier]:
        made = WebexSpaceNotifier(
            WebexChannel(room_id=self.ROOM, token=WEBEX_TOKEN), base_url=emulator.url, timeout=TIMEOUT
        )
        yield made
        made.close()

    @pytest.fixture
    def received(self, emulator: EmulatorServer) -> Callable[[], list[str]]:
        return lambda: [m["markdown"] for m in emulator.messages(self.ROOM)]

    @pytest.fixture
    def refusing_notifier(self, emulator: EmulatorServer) -> Notifier:
        config = WebexChannel(room_id=self.ROOM, token="revoked-bot-token-91ac")
        return WebexSpaceNotifier(config, base_url=emulator.url, timeout=TIMEOUT)

    @pytest.fixture
    def unreachable_notifier(self) -> Notifier:
        config = WebexChannel(room_id=self.ROOM, token=WEBEX_TOKEN)
        return WebexSpaceNotifier(config, base_url=f"http://127.0.0.1:{free_port()}", timeout=TIMEOUT)

    @pytest.fixture
    def secrets(self) -> Sequence[str]:
        return (WEBEX_TOKEN, "revoked-bot-token-91ac")

    @pytest.fixture
    def timeout(self) -> float:
        return TIMEOUT


def test_the_webex_message_is_the_markdown_in_the_configured_space(emulator: EmulatorServer) -> None:
    """POST /v1/messages with roomId and the message's markdown; a space the bot cannot see is
    a NotificationError saying to check room_id."""
    server = EmulatorServer(org_id=ORG_ID, token=WEBEX_TOKEN, rooms=["known-space"])
    server.start()
    try:
        base = server.url
        WebexSpaceNotifier(
            WebexChannel(room_id="known-space", token=WEBEX_TOKEN), base_url=base, timeout=TIMEOUT
        ).send(HELD)
        (posted,) = server.messages("known-space")
        other = WebexSpaceNotifier(
            WebexChannel(room_id="elsewhere", token=WEBEX_TOKEN), base_url=base, timeout=TIMEOUT
        )
        with pytest.raises(NotificationError, match=r"check notify\.webex\.room_id"):
            other.send(HELD)
    finally:
        server.stop()
    assert posted["markdown"] == HELD.markdown and posted["roomType"] == "group"
