"""LdapDirectory passes the ``DirectorySource`` contract, and the LDAP change feeds the
``ChangeFeed`` contract, against a real slapd holding Example Corp; each adapter declares the
capabilities it has (checked by ``isinstance`` here, and by mypy on the typed assignments)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count

import ldap
import pytest

from tests.directory.helpers import ENGINEERING, MAPPED, config_for
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.ad_changes import AdChangeFeed
from webex_provisioner.directory.changes import feed_kind, watermark_name
from webex_provisioner.directory.content_sync import ContentSyncFeed
from webex_provisioner.directory.feed import LdapChangeFeed
from webex_provisioner.directory.persist import ChangeListener
from webex_provisioner.directory.timestamp import TimestampFeed
from webex_provisioner.model.licenses import filter_label, group_label
from webex_provisioner.ports import ChangeFeed, ChangeNotifier, DirectorySource, MarkableFeed, NotifyingFeed
from webex_provisioner.sandbox import Company, ThrowawaySlapd
from webex_provisioner.testing.contracts.directory import ChangeFeedContract, DirectorySourceContract

CHANGED = "enovak"  # in scope through a nested group, a member of engineering
RULE_LABELS = (group_label(ENGINEERING), filter_label("(departmentNumber=10)"))


class TestLdapDirectory(DirectorySourceContract):
    """LdapDirectory reading Example Corp in this process."""

    @pytest.fixture
    def directory(self, shared_slapd: ThrowawaySlapd) -> Iterator[LdapDirectory]:
        with LdapDirectory(config_for(shared_slapd), MAPPED, read_process=False) as directory:
            yield directory


class TestLdapDirectoryWithAReaderProcess(DirectorySourceContract):
    """LdapDirectory reading Example Corp through a reader process (what large reads use)."""

    @pytest.fixture
    def directory(self, shared_slapd: ThrowawaySlapd) -> Iterator[LdapDirectory]:
        with LdapDirectory(config_for(shared_slapd), MAPPED, read_process=True) as directory:
            yield directory


class TestLdapDirectoryWithLabels(DirectorySourceContract):
    """LdapDirectory putting on the labels of a licence rule's group (nested) and filter, in this
    process and through a reader process."""

    labels = RULE_LABELS

    @pytest.fixture(params=[False, True], ids=["here", "reader-process"])
    def directory(
        self, shared_slapd: ThrowawaySlapd, request: pytest.FixtureRequest
    ) -> Iterator[LdapDirectory]:
        config = config_for(shared_slapd)
        with LdapDirectory(config, MAPPED, read_process=request.param, labels=RULE_LABELS) as directory:
            yield directory


@pytest.fixture
def change(shared_slapd: ThrowawaySlapd, company: Company) -> Callable[[], str]:
    """Gives one in-scope person a new title each call; returns the person's anchor."""
    person, titles = company.person(CHANGED), count()

    def make() -> str:
        shared_slapd.modify(person.dn, [(ldap.MOD_REPLACE, "title", [f"Title {next(titles)}".encode()])])
        return person.entry_uuid

    return make


class TestContentSyncFeed(ChangeFeedContract):
    """ContentSyncFeed (RFC 4533, syncprov with a session log) on Example Corp."""

    @pytest.fixture
    def feed(self, shared_slapd: ThrowawaySlapd) -> Iterator[ContentSyncFeed]:
        config = config_for(shared_slapd)
        with LdapDirectory(config, MAPPED, read_process=False) as directory:
            feed = ContentSyncFeed(config, directory)
            yield feed
            feed.close()


class TestContentSyncFeedWithLabels(ChangeFeedContract):
    """ContentSyncFeed on Example Corp, with the labels of a licence rule's group and filter."""

    @pytest.fixture
    def feed(self, shared_slapd: ThrowawaySlapd) -> Iterator[ContentSyncFeed]:
        config = config_for(shared_slapd)
        with LdapDirectory(config, MAPPED, read_process=False, labels=RULE_LABELS) as directory:
            feed = ContentSyncFeed(config, directory)
            yield feed
            feed.close()


class TestTimestampFeed(ChangeFeedContract):
    """TimestampFeed (modifyTimestamp polling) on Example Corp."""

    @pytest.fixture
    def feed(self, shared_slapd: ThrowawaySlapd) -> Iterator[TimestampFeed]:
        config = config_for(shared_slapd)
        with LdapDirectory(config, MAPPED, read_process=False) as directory:
            feed = TimestampFeed(config, directory)
            yield feed
            feed.close()


def test_the_adapters_declare_their_capabilities(shared_slapd: ThrowawaySlapd) -> None:
    """LdapDirectory is a ``DirectorySource``; every LDAP feed (Active Directory's too) a
    ``MarkableFeed``; content sync alone a ``NotifyingFeed``, whose notifier is a new, unstarted
    ``ChangeListener``. ``watermark_name`` and ``feed_kind`` read what each feed declares."""
    config = config_for(shared_slapd)
    with LdapDirectory(config, MAPPED) as directory:
        source: DirectorySource = directory
        content: NotifyingFeed = ContentSyncFeed(config, directory)
        timestamp: MarkableFeed = TimestampFeed(config, directory)
        active_directory: MarkableFeed = AdChangeFeed(config, directory)
        feeds: list[ChangeFeed] = [content, timestamp, active_directory]
        notifier: ChangeNotifier = content.notifier()
        assert isinstance(notifier, ChangeListener) and notifier is not content.notifier()
        assert isinstance(content, MarkableFeed) and isinstance(content, NotifyingFeed)
        assert not any(isinstance(feed, NotifyingFeed) for feed in (timestamp, active_directory))
        assert all(isinstance(feed, MarkableFeed) for feed in feeds)
        assert [(feed_kind(f), watermark_name(f)) for f in feeds] == [
            ("content_sync", "directory.content_sync.cookie"),
            ("timestamp", "directory.modify_timestamp.watermark"),
            ("dirsync", "directory.active_directory.watermark"),
        ]
        assert feed_kind(None) == "none" and source.probe()["vendor"] == "OpenLDAP"
        assert not isinstance(LdapChangeFeed(config, directory), NotifyingFeed)
