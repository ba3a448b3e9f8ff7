"""The licence rules' labels in incremental cycles, against a real slapd of each test's own: users
entering or leaving a rule's group (directly, through a nested group, with the nested group) come
back changed and labelled anew; an attribute change relabels by a rule's filter; a process that
did not hand out the watermark answers with a full read when a rule's group moved (and only then);
a watermark taken with other labels makes a full read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.directory.helpers import GROUPS, MAPPED, by_uid, config_for, dn
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.content_sync import ContentSyncFeed
from webex_provisioner.directory.feed import LdapChangeFeed
from webex_provisioner.directory.timestamp import TimestampFeed
from webex_provisioner.model.licenses import filter_label, group_label
from webex_provisioner.ports import ChangeSet
from webex_provisioner.sandbox import ThrowawaySlapd
from webex_provisioner.sandbox.ldiftext import entry

MESSAGING = f"cn=messaging,{GROUPS}"
MESSAGING_EU = f"cn=messaging-eu,{GROUPS}"
IN_MESSAGING = group_label(MESSAGING)
IN_SALES = filter_label("(departmentNumber=10)")
FEEDS = {"content_sync": ContentSyncFeed, "timestamp": TimestampFeed}


def add_messaging(slapd: ThrowawaySlapd) -> None:
    """messaging holds gmoore, mobrien and messaging-eu, which holds tmueller and lrossi; neither
    is a targeted group or nested in one."""
    eu = [("member", dn("tmueller")), ("member", dn("lrossi"))]
    top = [("member", dn("gmoore")), ("member", dn("mobrien")), ("member", MESSAGING_EU)]
    slapd.add(
        entry(MESSAGING_EU, [("objectClass", "groupOfNames"), ("cn", "messaging-eu"), *eu])
        + entry(MESSAGING, [("objectClass", "groupOfNames"), ("cn", "messaging"), *top])
    )


@contextmanager
def feed_of(
    slapd: ThrowawaySlapd, labels: list[str], kind: str = "content_sync", **overrides: Any
) -> Iterator[LdapChangeFeed]:
    config = config_for(slapd, **overrides)
    with LdapDirectory(config, MAPPED, read_process=False, labels=labels) as directory:
        feed = FEEDS[kind](config, directory)
        try:
            yield feed
        finally:
            feed.close()


def labels_of(changes: ChangeSet) -> dict[str, frozenset[str]]:
    return {uid: user.labels for uid, user in by_uid(changes.changed).items()}


@pytest.mark.parametrize("kind", ["content_sync", "timestamp"])
def test_users_entering_or_leaving_a_rule_group_come_back_labelled_anew(
    slapd: ThrowawaySlapd, kind: str
) -> None:
    """Added to or removed from a rule's group directly or through its nested group, and then
    with the nested group itself, users come back changed, incrementally, with the group's label
    put on or taken off. The scope has no targeted group: the feed watches the rule's groups for
    themselves. (Polling's overlap brings back every user loaded within it too: there, the test
    proves the group change is seen and labels follow it.)"""
    add_messaging(slapd)
    with feed_of(slapd, [IN_MESSAGING], kind, scope={}) as feed:
        first = feed.changes(None)
        assert first.full
        assert {u for u, labels in labels_of(first).items() if labels} == {
            "gmoore",
            "mobrien",
            "tmueller",
            "lrossi",
        }

        slapd.modify(MESSAGING, [("add", "member", dn("ahart")), ("delete", "member", dn("gmoore"))])
        slapd.modify(MESSAGING_EU, [("add", "member", dn("jdavis")), ("delete", "member", dn("tmueller"))])
        second = feed.changes(first.watermark)
        assert not second.full
        labelled, none = frozenset({IN_MESSAGING}), frozenset[str]()
        expected = {"ahart": labelled, "gmoore": none, "jdavis": labelled, "tmueller": none}
        found = labels_of(second)
        assert {uid: found.get(uid) for uid in expected} == expected
        if kind == "content_sync":
            assert set(found) == set(expected)

        slapd.modify(MESSAGING, [("delete", "member", MESSAGING_EU)])
        third = feed.changes(second.watermark)
        assert not third.full
        assert {uid: labels_of(third).get(uid) for uid in ("lrossi", "jdavis")} == {
            "lrossi": none,
            "jdavis": none,
        }
        assert labels_of(third).get("mobrien", {IN_MESSAGING}) == {IN_MESSAGING}


def test_an_attribute_change_relabels_by_a_rule_filter(slapd: ThrowawaySlapd) -> None:
    """A user changed so that a rule's filter now matches comes back with its label, one changed
    so that it no longer matches without; an unrelated change keeps the label."""
    with feed_of(slapd, [IN_SALES]) as feed:
        first = feed.changes(None)
        assert IN_SALES in labels_of(first)["mobrien"] and not labels_of(first)["ahart"]
        slapd.modify(dn("ahart"), {"departmentNumber": "10"})
        slapd.modify(dn("mobrien"), {"departmentNumber": "20"})
        slapd.modify(dn("sjohnson"), {"title": "Senior Account Executive"})
        second = feed.changes(first.watermark)
    assert not second.full
    assert labels_of(second) == {"ahart": {IN_SALES}, "mobrien": set(), "sjohnson": {IN_SALES}}


def test_a_new_process_answers_full_only_when_a_rule_group_moved(slapd: ThrowawaySlapd) -> None:
    """A process holding only a stored watermark answers a user's change incrementally while the
    rules' groups kept their members, and with a full read (labelled as they are now) once a rule's
    group changed, since it cannot tell who moved."""
    add_messaging(slapd)
    with feed_of(slapd, [IN_MESSAGING]) as feed:
        watermark = feed.changes(None).watermark
    slapd.modify(dn("gmoore"), {"title": "Chief of Staff"})
    with feed_of(slapd, [IN_MESSAGING]) as fresh:
        quiet = fresh.changes(watermark)
    assert not quiet.full and labels_of(quiet) == {"gmoore": {IN_MESSAGING}}
    slapd.modify(MESSAGING_EU, [("add", "member", dn("ahart"))])
    with feed_of(slapd, [IN_MESSAGING]) as fresh:
        answer = fresh.changes(quiet.watermark)
    assert answer.full
    assert labels_of(answer)["ahart"] == {IN_MESSAGING}


def test_a_watermark_of_other_labels_makes_a_full_read(slapd: ThrowawaySlapd) -> None:
    """A watermark handed out without labels, or with other labels (the licence rules changed),
    makes a full read: users it did not report may be in a new rule's selection."""
    with feed_of(slapd, []) as feed:
        unlabelled = feed.changes(None).watermark
    with feed_of(slapd, [IN_SALES]) as feed:
        answer = feed.changes(unlabelled)
        assert answer.full and IN_SALES in labels_of(answer)["mobrien"]
        same = feed.changes(answer.watermark)
        assert not same.full
    add_messaging(slapd)
    with feed_of(slapd, [IN_SALES, IN_MESSAGING]) as feed:
        assert feed.changes(answer.watermark).full
    with feed_of(slapd, []) as feed:
        assert feed.changes(answer.watermark).full
        assert not feed.changes(unlabelled).full
