"""The in-memory fakes pass the contracts of the ports they stand in for, and are accepted by
mypy where those ports are expected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from webex_provisioner.errors import NotificationError
from webex_provisioner.ports import (
    BulkCreator,
    ChangeFeed,
    CountsRequests,
    DirectorySource,
    MarkableFeed,
    Notifier,
    WebexClient,
)
from webex_provisioner.testing.contracts.directory import ChangeFeedContract, DirectorySourceContract
from webex_provisioner.testing.contracts.notify import HELD, NotifierContract
from webex_provisioner.testing.contracts.webex import BulkCreatorContract, WebexClientContract
from webex_provisioner.testing.directory import InMemoryChangeFeed, InMemoryDirectory, directory_user
from webex_provisioner.testing.notify import RecordingNotifier
from webex_provisioner.testing.webex import InMemoryWebex


def example_directory() -> InMemoryDirectory:
    """A few users of every kind: disabled, out of scope, without e-mail, sharing one, with an
    escaped comma and non-ASCII text in their DN."""
    return InMemoryDirectory(
        [
            directory_user("a-1", "Ann.Lee@Example.com", givenName="Ann", sn="Lee"),
            directory_user("a-2", "bob@example.com", title="Sales", disabled=True),
            directory_user("a-3", "cy@example.com", in_scope=False),
            directory_user("a-4", None, givenName="Dee"),
            directory_user("a-5", "shared@example.com"),
            directory_user("a-6", "SHARED@example.com"),
            directory_user("a-7", "eve@example.com", dn="cn=Smith\\, Eve,ou=people,dc=example,dc=com"),
            directory_user("a-8", "jo@example.com", dn="cn=Jörg Müller,ou=people,dc=example,dc=com"),
        ]
    )


class TestInMemoryWebex(WebexClientContract, BulkCreatorContract):
    """``InMemoryWebex`` is a ``WebexClient`` and a ``BulkCreator``."""

    @pytest.fixture
    def webex(self) -> InMemoryWebex:
        return InMemoryWebex()


class TestInMemoryWebexSmallBatches(BulkCreatorContract):
    """``InMemoryWebex`` with a ``max_batch`` below 100 still passes the Bulk contract."""

    @pytest.fixture
    def webex(self) -> InMemoryWebex:
        return InMemoryWebex(max_batch=7)


class TestInMemoryDirectory(DirectorySourceContract):
    """``InMemoryDirectory`` is a ``DirectorySource``."""

    @pytest.fixture
    def directory(self) -> InMemoryDirectory:
        return example_directory()


class TestInMemoryDirectoryOtherEmailAttribute(DirectorySourceContract):
    """``InMemoryDirectory`` matches e-mails against the attribute it is told."""

    email_attribute = "userPrincipalName"

    @pytest.fixture
    def directory(self) -> InMemoryDirectory:
        users = [
            directory_user(f"u{i}", f"u{i}@corp.example", email_attribute="userPrincipalName")
            for i in range(3)
        ]
        return InMemoryDirectory(users, email_attribute="userPrincipalName")


class TestInMemoryChangeFeed(ChangeFeedContract):
    """``InMemoryChangeFeed`` is a ``ChangeFeed`` and a ``MarkableFeed``."""

    @pytest.fixture
    def directory(self) -> InMemoryDirectory:
        return example_directory()

    @pytest.fixture
    def feed(self, directory: InMemoryDirectory) -> InMemoryChangeFeed:
        return InMemoryChangeFeed(directory)

    @pytest.fixture
    def change(self, directory: InMemoryDirectory) -> Callable[[], str]:
        return lambda: directory.change("a-2", title="Head of Sales").anchor


def test_the_fakes_declare_their_capabilities() -> None:
    """At run time the fakes are the capability protocols they implement (``isinstance``); the
    typed assignments make mypy check them against every port."""
    webex = InMemoryWebex()
    directory = InMemoryDirectory()
    client: WebexClient = webex
    bulk: BulkCreator = webex
    counts: CountsRequests = webex
    source: DirectorySource = directory
    feed: ChangeFeed = InMemoryChangeFeed(directory)
    markable: MarkableFeed = InMemoryChangeFeed(directory)
    assert isinstance(client, BulkCreator) and isinstance(counts, CountsRequests) and bulk.max_batch == 100
    assert isinstance(feed, MarkableFeed) and isinstance(markable, MarkableFeed)
    assert source.probe()["vendor"] == "in-memory"


class TestRecordingNotifier(NotifierContract):
    """The notifier fake: what it took is its far end; it fails when told to."""

    @pytest.fixture
    def notifier(self) -> RecordingNotifier:
        return RecordingNotifier("webex")

    @pytest.fixture
    def received(self, notifier: RecordingNotifier) -> Callable[[], list[str]]:
        return lambda: [m.markdown for m in notifier.sent]

    @pytest.fixture
    def refusing_notifier(self) -> Notifier:
        refusing = RecordingNotifier("email")
        refusing.fail_always(error="answered 554 refused")
        return refusing

    @pytest.fixture
    def unreachable_notifier(self) -> Notifier:
        unreachable = RecordingNotifier("webhook")
        unreachable.fail_always()
        return unreachable


def test_the_notifier_fake_fails_the_next_sends_it_is_told_to() -> None:
    """``fail_next(2)`` fails two sends, then it takes messages again; every attempt is counted."""
    notifier = RecordingNotifier()
    notifier.fail_next(2)
    for _ in range(2):
        with pytest.raises(NotificationError, match="503"):
            notifier.send(HELD)
    notifier.send(HELD)
    assert (notifier.sent, notifier.attempts) == ([HELD], 3)
