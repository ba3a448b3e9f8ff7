"""The in-memory fakes pass the contracts of the ports they stand in for, and are accepted by
mypy where those ports are expected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from webex_provisioner.errors import NotificationError
from webex_provisioner.model.licenses import filter_label, group_label
from webex_provisioner.ports import (
    BulkCreator,
    ChangeFeed,
    CountsRequests,
    DirectorySource,
    GroupSource,
    MarkableFeed,
    Notifier,
    WebexClient,
    WebexGroups,
    WebexLicenses,
)
from webex_provisioner.testing.contracts.directory import (
    ChangeFeedContract,
    DirectorySourceContract,
    GroupSourceContract,
)
from webex_provisioner.testing.contracts.licenses import AddLicense, WebexLicensesContract
from webex_provisioner.testing.contracts.notify import HELD, NotifierContract
from webex_provisioner.testing.contracts.webex import (
    BulkCreatorContract,
    WebexClientContract,
    WebexGroupsContract,
)
from webex_provisioner.testing.directory import (
    PEOPLE,
    InMemoryChangeFeed,
    InMemoryDirectory,
    directory_user,
    group_dn,
)
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


MESSAGING = group_label(group_dn("messaging"))
SALES_FILTER = filter_label("(title=Sales)")


def labelled_directory() -> InMemoryDirectory:
    """``example_directory`` with the licence rules' labels on some users: a group's label on
    two, a filter's on one, both on one."""
    directory = example_directory()
    directory.add_label(MESSAGING, "a-1", "a-2")
    directory.add_label(SALES_FILTER, "a-2", "a-7")
    return directory


def with_groups(directory: InMemoryDirectory) -> InMemoryDirectory:
    """Groups of every kind: nested at two levels, a cycle, a diamond, a member DN that is no
    entry, a nested group that is not selected, one without a name, one without members."""
    ann, bob, cy, dee = (f"uid={name},{PEOPLE}" for name in ("ann", "bob", "cy", "dee"))
    directory.put_group("g-eng", group_dn("Engineering"), members=[ann], groups=[group_dn("sre")], cn="eng")
    directory.put_group("g-sre", group_dn("sre"), members=[bob], groups=[group_dn("engineering")], cn="sre")
    directory.put_group(
        "g-all",
        group_dn("all"),
        members=[cy, "uid=gone,ou=people,dc=example,dc=com"],
        groups=[group_dn("engineering"), group_dn("ops"), group_dn("platform")],
        cn="all",
    )
    directory.put_group("g-ops", group_dn("ops"), groups=[group_dn("platform")], selected=False, cn="ops")
    directory.put_group("g-platform", group_dn("platform"), members=[dee], selected=False, cn="platform")
    directory.put_group("g-noname", group_dn("noname"), members=[ann])
    directory.put_group("g-empty", group_dn("empty"), cn="empty")
    return directory


class TestInMemoryGroups(GroupSourceContract):
    """``InMemoryDirectory`` is a ``GroupSource`` (nested groups flattened)."""

    nesting = "flatten"

    @pytest.fixture
    def groups(self) -> InMemoryDirectory:
        return with_groups(example_directory())

    @pytest.fixture
    def change_group(self, groups: InMemoryDirectory) -> Callable[[], str]:
        return lambda: groups.change_group("g-sre", add=["uid=eve,ou=people,dc=example,dc=com"]).anchor


class TestInMemoryGroupsDirect(GroupSourceContract):
    """``InMemoryDirectory`` is a ``GroupSource`` with direct members only."""

    nesting = "direct"

    @pytest.fixture
    def groups(self) -> InMemoryDirectory:
        return with_groups(InMemoryDirectory(groups_nested="direct"))

    @pytest.fixture
    def change_group(self, groups: InMemoryDirectory) -> Callable[[], str]:
        return lambda: groups.change_group("g-eng", cn="Engineering").anchor


class TestInMemoryWebex(WebexClientContract, BulkCreatorContract, WebexGroupsContract):
    """``InMemoryWebex`` is a ``WebexClient``, a ``BulkCreator`` and ``WebexGroups``."""

    @pytest.fixture
    def webex(self) -> InMemoryWebex:
        return InMemoryWebex()


class TestInMemoryWebexLicenses(WebexLicensesContract):
    """``InMemoryWebex`` is ``WebexLicenses``."""

    @pytest.fixture
    def webex(self) -> InMemoryWebex:
        return InMemoryWebex()

    @pytest.fixture
    def add_license(self, webex: InMemoryWebex) -> AddLicense:
        return lambda name, units: webex.add_license(name, units).id


class TestInMemoryWebexSmallBatches(BulkCreatorContract):
    """``InMemoryWebex`` with a ``max_batch`` below 100 still passes the Bulk contract."""

    @pytest.fixture
    def webex(self) -> InMemoryWebex:
        return InMemoryWebex(max_batch=7)


class TestInMemoryWebexOtherGroupRules(WebexGroupsContract):
    """``InMemoryWebex`` with few members per request and duplicate group names allowed still
    passes the groups contract (but the rule of unique names)."""

    skips = {"test_a_taken_name_conflicts_in_any_case": "this organization allows duplicate group names"}

    @pytest.fixture
    def webex(self) -> InMemoryWebex:
        return InMemoryWebex(max_members=7, unique_group_names=False)


class TestInMemoryDirectory(DirectorySourceContract):
    """``InMemoryDirectory`` is a ``DirectorySource``."""

    @pytest.fixture
    def directory(self) -> InMemoryDirectory:
        return example_directory()


class TestInMemoryDirectoryWithLabels(DirectorySourceContract):
    """``InMemoryDirectory`` hands over the labels its users carry."""

    labels = (MESSAGING, SALES_FILTER)

    @pytest.fixture
    def directory(self) -> InMemoryDirectory:
        return labelled_directory()


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
    """``InMemoryChangeFeed`` is a ``ChangeFeed`` and a ``MarkableFeed`` (the changed user
    carries labels)."""

    @pytest.fixture
    def directory(self) -> InMemoryDirectory:
        return labelled_directory()

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
    webex_groups: WebexGroups = webex
    licenses: WebexLicenses = webex
    counts: CountsRequests = webex
    source: DirectorySource = directory
    groups: GroupSource = directory
    feed: ChangeFeed = InMemoryChangeFeed(directory)
    markable: MarkableFeed = InMemoryChangeFeed(directory)
    assert isinstance(client, BulkCreator) and isinstance(counts, CountsRequests) and bulk.max_batch == 100
    assert isinstance(client, WebexGroups) and webex_groups.max_members == 100
    assert isinstance(client, WebexLicenses) and licenses.list_licenses() == []
    assert isinstance(feed, MarkableFeed) and isinstance(markable, MarkableFeed)
    assert source.probe()["vendor"] == "in-memory" and isinstance(groups, GroupSource)


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
