"""The contracts of ``DirectorySource`` and ``ChangeFeed``: the rules their docstrings state,
checked through the port only.

``DirectorySourceContract`` does not know what the directory holds: it reads ``read_users()``
and derives its expectations from that. A subclass provides a ``directory`` fixture (holding
some users, several with an e-mail) and may set ``email_attribute`` (default ``mail``) and
``labels``, the licence rules' labels the directory was asked to put on users (then each of them
must be on some user of the fixture)::

    class TestInMemoryDirectory(DirectorySourceContract):
        @pytest.fixture
        def directory(self) -> InMemoryDirectory:
            return InMemoryDirectory([directory_user("a1", "ann@example.com"), ...])

``ChangeFeedContract`` needs a ``feed`` fixture and a ``change`` fixture: a function that
modifies one directory user of the feed's directory (so that the feed can see it) and returns
its anchor.

``GroupSourceContract`` needs a ``groups`` fixture, a ``GroupSource`` whose selection holds
groups with members (nested groups and a cycle make it more telling), and a ``change_group``
fixture: a function that changes one selected group (its members or its name attributes) and
returns its anchor. It knows nothing of the groups either: it reads them and checks what any
correct read implies (members flattened through nested groups are a superset of each nested
group's members, a cycle starts and ends with the same group, ...).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

import pytest

from webex_provisioner.model import DirectoryGroup, DirectoryUser, GroupRead
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.ports import ChangeFeed, ChangeSet, DirectorySource, GroupSource, MarkableFeed

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
    assert found.labels == user.labels, key


def respelled(dn: str) -> str:
    """Another spelling of the same DN: upper case, a space after each separator."""
    return ", ".join(part.strip() for part in _SEPARATOR.split(dn)).upper()


class DirectorySourceContract:
    """What every ``DirectorySource`` does. Needs a ``directory`` fixture holding users."""

    email_attribute = "mail"
    labels: tuple[str, ...] = ()

    def test_users_carry_the_labels_asked_for(self, directory: DirectorySource) -> None:
        """Every user's labels are a frozenset among those the directory was asked to put on
        (none when asked for none); each label asked for is on some user and not on everyone."""
        users = _read(directory)
        asked = set(self.labels)
        for user in users:
            assert isinstance(user.labels, frozenset) and user.labels <= asked, (user.dn, user.labels)
        for label in asked:
            carrying = sum(label in user.labels for user in users)
            assert 0 < carrying < len(users), f"{label!r} is on {carrying} of {len(users)} users"

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

    def test_a_changed_user_keeps_its_labels(self, feed: ChangeFeed, change: Callable[[], str]) -> None:
        """A user whose change does not touch what labels it comes back with the labels the
        full read gave it (the licence rules' labels are put on changed users too)."""
        full = feed.changes(None)
        before = {user.anchor: user.labels for user in full.changed}
        anchor = change()
        answer = feed.changes(full.watermark)
        after = {user.anchor: user.labels for user in answer.changed}
        assert after[anchor] == before[anchor]

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


def _read_groups(source: GroupSource) -> GroupRead:
    read = source.read_groups()
    assert isinstance(read, GroupRead)
    assert read.groups, "the contract needs a groups fixture selecting groups"
    return read


def _same_group(found: DirectoryGroup | None, group: DirectoryGroup, key: str) -> None:
    """``found`` is ``group`` as ``read_groups`` gave it."""
    assert found is not None, f"find_group({key!r}) found nothing; read_groups has {group.dn}"
    assert (found.anchor, normalize_dn(found.dn)) == (group.anchor, normalize_dn(group.dn)), key
    assert found.members == group.members, key
    assert dict(found.attributes) == dict(group.attributes), key
    assert {normalize_dn(dn) for dn in found.nested} == {normalize_dn(dn) for dn in group.nested}, key
    assert len(found.cycles) == len(group.cycles), key


def _loop(cycle: str) -> list[str]:
    return [normalize_dn(dn) for dn in cycle.split(" > ")]


class GroupSourceContract:
    """What every ``GroupSource`` does. Needs ``groups`` (selecting groups with members) and
    ``change_group`` (changes one selected group, returns its anchor) fixtures.

    ``nesting`` says how the source was set up: ``"flatten"`` (then the selection must hold a
    nested group), ``"direct"``, or ``None`` (not checked)."""

    nesting: str | None = None

    def test_it_is_a_group_source(self, groups: GroupSource) -> None:
        """The source declares the capability: ``isinstance(source, GroupSource)``."""
        assert isinstance(groups, GroupSource)

    def test_read_groups_gives_groups_with_unique_anchors(self, groups: GroupSource) -> None:
        """``read_groups`` gives ``DirectoryGroup`` values, each with a DN and an anchor of its
        own, some with members, and a digest as non-empty text."""
        read = _read_groups(groups)
        assert all(isinstance(g, DirectoryGroup) and g.anchor and g.dn for g in read.groups)
        repeated = [anchor for anchor, n in Counter(g.anchor for g in read.groups).items() if n > 1]
        assert repeated == []
        assert any(g.members for g in read.groups), "the contract needs selected groups with members"
        assert isinstance(read.digest, str) and read.digest

    def test_members_are_normalized_dns_of_members_that_are_no_groups(self, groups: GroupSource) -> None:
        """Members are normalized DNs; never the group itself, a group nested in it, or another
        selected group (a member group is flattened or dropped, never a member)."""
        read = _read_groups(groups)
        selected = {normalize_dn(g.dn) for g in read.groups}
        for group in read.groups:
            assert all(isinstance(m, str) and m == normalize_dn(m) for m in group.members), group.dn
            assert not group.members & selected, group.dn
            assert not group.members & {normalize_dn(dn) for dn in group.nested}, group.dn

    def test_names_are_lower_case_and_values_text(self, groups: GroupSource) -> None:
        """Attribute names are lower case; values are tuples of text."""
        for group in _read_groups(groups).groups:
            for name, values in group.attributes.items():
                assert name == name.lower(), (group.dn, name)
                assert isinstance(values, tuple) and all(isinstance(v, str) for v in values), (group.dn, name)

    def test_nested_groups_and_cycles_are_well_formed(self, groups: GroupSource) -> None:
        """``nested`` names each flattened group once, never the group itself; each cycle is
        ``A > ... > A``: it starts and ends with the same group, which is the group itself or one
        flattened into it."""
        for group in _read_groups(groups).groups:
            nested = [normalize_dn(dn) for dn in group.nested]
            assert len(nested) == len(set(nested)) and normalize_dn(group.dn) not in nested, group.dn
            for cycle in group.cycles:
                loop = _loop(cycle)
                assert len(loop) >= 2 and loop[0] == loop[-1], cycle
                assert set(loop) <= {normalize_dn(group.dn), *nested}, cycle

    def test_nesting_is_as_set_up(self, groups: GroupSource) -> None:
        """Flattening names nested groups (the fixture holds some); direct members only leave
        ``nested`` and ``cycles`` empty everywhere."""
        read = _read_groups(groups)
        if self.nesting == "flatten":
            assert any(g.nested for g in read.groups), "flattened, yet no group has a nested group"
        elif self.nesting == "direct":
            assert all(g.nested == () and g.cycles == () for g in read.groups)
        else:
            pytest.skip("the test class does not say how nested groups are read")

    def test_flattened_members_include_every_nested_groups_members(self, groups: GroupSource) -> None:
        """A group flattened into another brings all its members (and its own nested groups):
        ``find_group`` of each nested group gives a subset of the outer group's."""
        for group in _read_groups(groups).groups:
            outer = {normalize_dn(group.dn), *(normalize_dn(dn) for dn in group.nested)}
            for dn in group.nested:
                inner = groups.find_group(dn)
                assert inner is not None, f"{dn} is nested in {group.dn} but find_group finds nothing"
                assert inner.members <= group.members, (group.dn, dn)
                assert {normalize_dn(n) for n in inner.nested} <= outer, (group.dn, dn)

    def test_find_group_by_anchor(self, groups: GroupSource) -> None:
        """Every selected group's anchor finds that group, as ``read_groups`` gave it."""
        for group in _read_groups(groups).groups:
            _same_group(groups.find_group(group.anchor), group, group.anchor)

    def test_find_group_by_dn_in_any_spelling(self, groups: GroupSource) -> None:
        """A group's DN finds it, and so does another spelling of that DN (upper case, spaces
        after the commas)."""
        for group in _read_groups(groups).groups:
            _same_group(groups.find_group(group.dn), group, group.dn)
            other = respelled(group.dn)
            if normalize_dn(other) == normalize_dn(group.dn):  # upper-casing may not round-trip
                _same_group(groups.find_group(other), group, other)

    def test_unknown_keys_find_no_group(self, groups: GroupSource) -> None:
        """An unknown anchor or DN, and a blank key, give ``None``."""
        parent = _SEPARATOR.split(_read_groups(groups).groups[0].dn, maxsplit=1)[-1]
        for key in (UNKNOWN_ANCHOR, f"cn=no-such-group-at-all,{parent}", "", "  "):
            assert groups.find_group(key) is None, key

    def test_the_digest_is_stable_and_is_the_reads(self, groups: GroupSource) -> None:
        """Unchanged groups give the same digest, from ``group_digest`` and from each
        ``read_groups``, and the same groups."""
        first = _read_groups(groups)
        digest = groups.group_digest()
        second = _read_groups(groups)
        assert first.digest == digest == second.digest == groups.group_digest()
        assert {g.anchor: g.members for g in first.groups} == {g.anchor: g.members for g in second.groups}

    def test_the_digest_changes_when_a_group_changes(
        self, groups: GroupSource, change_group: Callable[[], str]
    ) -> None:
        """After a selected group changes, ``group_digest`` differs from the last read's digest;
        the next read gives the new digest and still holds the group."""
        before = _read_groups(groups)
        anchor = change_group()
        digest = groups.group_digest()
        assert digest != before.digest
        after = _read_groups(groups)
        assert after.digest == digest == groups.group_digest()
        assert anchor in {g.anchor for g in after.groups}
