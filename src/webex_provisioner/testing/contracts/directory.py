"""The contracts of ``DirectorySource`` and ``ChangeFeed``: the rules their docstrings state,
checked through the port only.

``DirectorySourceContract`` does not know what the directory holds: it reads ``read_users()``
and derives its expectations from that. A subclass provides a ``directory`` fixture (holding
some users, several with an e-mail) and may set ``email_attribute`` (default ``mail``)::

    class TestInMemoryDirectory(DirectorySourceContract):
        @pytest.fixture
        def directory(self) -> InMemoryDirectory:
            return InMemoryDirectory([directory_user("a1", "ann@example.com"), ...])

``ChangeFeedContract`` needs a ``feed`` fixture and a ``change`` fixture: a function that
modifies one directory user of the feed's directory (so that the feed can see it) and returns
its anchor.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

import pytest

from webex_provisioner.model import DirectoryUser
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.ports import ChangeFeed, ChangeSet, DirectorySource, MarkableFeed

UNKNOWN_ANCHOR = "00000000-0000-4000-8000-00000000dead"
_SEPARATOR = re.compile(r"(?<!\\),")


def _read(directory: DirectorySource) -> list[DirectoryUser]:
    users = list(directory.read_users())
    assert users, "the contract needs a directory fixture holding users"
    return users


def _same(found: DirectoryUser | None, user: DirectoryUser, key: str) -> None:
    """``found`` is ``user`` as ``read_users`` labelled it."""
    assert found is not None, f"find_user({key!r}) found nobody; read_users has {user.dn}"
    assert (found.anchor, normalize_dn(found.dn)) == (user.anchor, normalize_dn(user.dn)), key
    assert (found.disabled, found.in_scope) == (user.disabled, user.in_scope), key
    assert found.attributes == user.attributes, key


def respelled(dn: str) -> str:
    """Another spelling of the same DN: upper case, a space after each separator."""
    return ", ".join(part.strip() for part in _SEPARATOR.split(dn)).upper()


class DirectorySourceContract:
    """What every ``DirectorySource`` does. Needs a ``directory`` fixture holding users."""

    email_attribute = "mail"

    def test_read_users_gives_users_with_unique_anchors(self, directory: DirectorySource) -> None:
        """``read_users`` yields ``DirectoryUser`` values, each with a DN and an anchor of its own."""
        users = _read(directory)
        assert all(isinstance(user, DirectoryUser) and user.anchor and user.dn for user in users)
        repeated = [anchor for anchor, n in Counter(user.anchor for user in users).items() if n > 1]
        assert repeated == []

    def test_reads_agree(self, directory: DirectorySource) -> None:
        """Two reads of an unchanged directory give the same users; ``prepare_read`` before one
        changes nothing."""
        first = {user.anchor: user for user in _read(directory)}
        directory.prepare_read(len(first))
        second = {user.anchor: user for user in _read(directory)}
        assert second.keys() == first.keys()
        assert all(second[anchor].attributes == user.attributes for anchor, user in first.items())

    def test_find_user_by_anchor(self, directory: DirectorySource) -> None:
        """Every user's anchor finds that user, labelled as ``read_users`` labelled it."""
        for user in _read(directory):
            _same(directory.find_user(user.anchor), user, user.anchor)

    def test_find_user_by_dn_in_any_spelling(self, directory: DirectorySource) -> None:
        """A DN finds its user as read, and so does another spelling of it (upper case,
        spaces after the commas)."""
        for user in _read(directory):
            _same(directory.find_user(user.dn), user, user.dn)
            other = respelled(user.dn)
            if normalize_dn(other) == normalize_dn(user.dn):  # upper-casing may not round-trip
                _same(directory.find_user(other), user, other)

    def test_find_user_by_email_in_any_case(self, directory: DirectorySource) -> None:
        """A user's e-mail (the mapped attribute) finds that user, in its own case, lower and
        upper case; e-mails shared by several users are left out."""
        users = _read(directory)
        owners = Counter(fold_email(e) for user in users for e in set(user.values(self.email_attribute)))
        checked = 0
        for user in users:
            for email in user.values(self.email_attribute):
                if owners[fold_email(email)] == 1:
                    for spelling in (email, email.lower(), email.upper()):
                        _same(directory.find_user(spelling), user, spelling)
                    checked += 1
        assert checked, f"the contract needs users with a {self.email_attribute} of their own"

    def test_unknown_keys_find_nobody(self, directory: DirectorySource) -> None:
        """An unknown e-mail, anchor or DN, and a blank key, give ``None``."""
        parent = _SEPARATOR.split(_read(directory)[0].dn, maxsplit=1)[-1]
        for key in ("nobody.at.all@example.invalid", UNKNOWN_ANCHOR, f"uid=nobody-at-all,{parent}", "", "  "):
            assert directory.find_user(key) is None, key

    def test_probe_is_a_mapping_of_text(self, directory: DirectorySource) -> None:
        """``probe`` answers a mapping of strings to strings."""
        info = directory.probe()
        assert isinstance(info, Mapping)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())

    def test_a_read_left_early_can_be_closed(self, directory: DirectorySource) -> None:
        """A read not consumed to the end can be closed; the directory then reads in full again."""
        everyone = {user.anchor for user in _read(directory)}
        users = directory.read_users()
        next(users)
        close = getattr(users, "close", None)
        assert callable(close), f"read_users returned a {type(users).__name__}, which has no close()"
        close()
        assert {user.anchor for user in directory.read_users()} == everyone


class ChangeFeedContract:
    """What every ``ChangeFeed`` does. Needs ``feed`` and ``change`` (modifies one user of the
    feed's directory, returns its anchor) fixtures."""

    def test_it_names_itself(self, feed: ChangeFeed) -> None:
        """``kind`` and ``watermark_name`` are non-empty text."""
        assert isinstance(feed.kind, str) and feed.kind
        assert isinstance(feed.watermark_name, str) and feed.watermark_name

    def test_no_watermark_is_a_full_read(self, feed: ChangeFeed) -> None:
        """Without a watermark the answer is a full read: ``full``, users with unique anchors,
        nobody deleted, a watermark to store."""
        full = feed.changes(None)
        assert isinstance(full, ChangeSet) and full.full and full.deleted == ()
        anchors = [user.anchor for user in full.changed]
        assert anchors and len(set(anchors)) == len(anchors)
        assert isinstance(full.watermark, str) and full.watermark

    def test_an_unreadable_watermark_is_a_full_read(self, feed: ChangeFeed) -> None:
        """A watermark the feed cannot read makes a full read, never an error."""
        everyone = {user.anchor for user in feed.changes(None).changed}
        answer = feed.changes("not a watermark of any feed")
        assert answer.full and {user.anchor for user in answer.changed} == everyone

    def test_a_change_is_seen_from_the_last_watermark(
        self, feed: ChangeFeed, change: Callable[[], str]
    ) -> None:
        """From the watermark of the last answer, a changed user comes back in ``changed``,
        incrementally (``full`` False), with nobody deleted."""
        watermark = feed.changes(None).watermark
        anchor = change()
        answer = feed.changes(watermark)
        assert not answer.full and answer.deleted == ()
        assert anchor in {user.anchor for user in answer.changed}

    def test_asking_again_from_a_watermark_answers_again(
        self, feed: ChangeFeed, change: Callable[[], str]
    ) -> None:
        """A watermark not yet stored (its cycle failed) can be asked again: the change comes back."""
        watermark = feed.changes(None).watermark
        anchor = change()
        feed.changes(watermark)
        again = feed.changes(watermark)
        assert not again.full and anchor in {user.anchor for user in again.changed}

    def test_a_mark_taken_before_a_change_sees_it(self, feed: ChangeFeed, change: Callable[[], str]) -> None:
        """A ``MarkableFeed``'s ``mark`` (taken before a full read) is a watermark from which a
        later change comes back incrementally."""
        if not isinstance(feed, MarkableFeed):
            pytest.skip(f"{type(feed).__name__} is not a MarkableFeed")
        mark = feed.mark()
        assert isinstance(mark, str) and mark
        anchor = change()
        answer = feed.changes(mark)
        assert not answer.full and anchor in {user.anchor for user in answer.changed}
