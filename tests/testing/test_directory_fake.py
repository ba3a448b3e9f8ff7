"""InMemoryDirectory and InMemoryChangeFeed beyond the contracts: changing the directory,
scripted read faults, what the feed answers after each kind of change, and the groups
(flattening, direct members, the digest, group faults)."""

from __future__ import annotations

import pytest

from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError, DirectoryUnavailableError
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.model.licenses import filter_label, group_label
from webex_provisioner.testing.directory import (
    PEOPLE,
    InMemoryChangeFeed,
    InMemoryDirectory,
    directory_user,
    group_dn,
)


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory(
        [directory_user(f"a{i}", f"user{i}@example.com", givenName=f"User {i}") for i in range(5)]
    )


@pytest.fixture
def feed(directory: InMemoryDirectory) -> InMemoryChangeFeed:
    return InMemoryChangeFeed(directory)


def test_directory_user_builds_a_labelled_user() -> None:
    """``directory_user`` lower-cases attribute names, keeps several values, leaves out an
    absent e-mail and labels the user as told."""
    user = directory_user(
        "x", None, dn="cn=X,o=corp", disabled=True, in_scope=False, telephoneNumber=["1", "2"]
    )
    assert user.dn == "cn=X,o=corp" and user.attributes == {"telephonenumber": ("1", "2")}
    assert user.disabled and not user.in_scope and user.scope_reason == "out of scope"


def test_reads_keep_the_order_users_were_put(directory: InMemoryDirectory) -> None:
    """``read_users`` yields users in the order they were first put, a changed user in its place."""
    directory.change("a2", title="x")
    directory.put(directory_user("a9", "new@example.com"))
    assert [u.anchor for u in directory.read_users()] == ["a0", "a1", "a2", "a3", "a4", "a9"]


def test_changes_are_what_find_user_and_reads_see(directory: InMemoryDirectory) -> None:
    """``change``, ``disable``, ``move``, ``set_scope`` and ``remove`` change what is read and found."""
    directory.change("a0", mail="renamed@example.com", givenName=None)
    directory.disable("a1")
    directory.move("a2", "uid=a2,ou=alumni,dc=example,dc=com")
    directory.set_scope("a3", False, "left webex-users")
    directory.remove("a4")
    assert directory.find_user("user0@example.com") is None
    renamed = directory.find_user("RENAMED@example.com")
    assert renamed is not None and renamed.attributes == {"mail": ("renamed@example.com",)}
    disabled = directory.find_user("a1")
    assert disabled is not None and disabled.disabled
    assert directory.find_user("UID=a2, OU=alumni, DC=example, DC=com") is not None
    out = directory.find_user("a3")
    assert out is not None and not out.in_scope and out.scope_reason == "left webex-users"
    assert directory.find_user("a4") is None and directory.version == 10
    with pytest.raises(KeyError, match="no user with anchor 'a4'"):
        directory.disable("a4")


def test_a_shared_email_is_an_error(directory: InMemoryDirectory) -> None:
    """An e-mail that two users share finds neither: a ``DirectoryError`` names both DNs."""
    directory.put(directory_user("twin", "USER1@example.com"))
    with pytest.raises(DirectoryError, match=r"uid=a1,.*uid=twin"):
        directory.find_user("user1@example.com")


def test_a_read_fails_after_k_users(directory: InMemoryDirectory) -> None:
    """``fail_read(after=2)``: the next read yields 2 users, then raises; the one after is whole."""
    directory.fail_read(after=2)
    got = []
    with pytest.raises(DirectoryIncompleteError, match="after 2 user"):
        for user in directory.read_users():
            got.append(user.anchor)
    assert got == ["a0", "a1"]
    assert len(list(directory.read_users())) == 5 and directory.reads == 2


def test_scripted_errors_of_reads_lookups_and_probes(directory: InMemoryDirectory) -> None:
    """``fail_next`` makes a read fail before any user, a lookup (of one key) or a probe fail."""
    down = DirectoryUnavailableError("the server went away")
    directory.fail_next("read_users", down)
    directory.fail_next("find_user", down, key="a3")
    directory.fail_next("probe", down, times=2)
    with pytest.raises(DirectoryUnavailableError):
        next(directory.read_users())
    assert directory.find_user("a2") is not None
    with pytest.raises(DirectoryUnavailableError):
        directory.find_user("a3")
    for _ in range(2):
        with pytest.raises(DirectoryUnavailableError):
            directory.probe()
    assert directory.probe()["users"] == "5" and directory.pending_faults() == 0


def test_open_reads_are_counted_until_closed(directory: InMemoryDirectory) -> None:
    """A read in progress counts in ``open_reads`` until it ends or is closed."""
    users = directory.read_users()
    next(users)
    assert directory.open_reads == 1
    users.close()  # type: ignore[attr-defined]
    assert directory.open_reads == 0


def test_feed_reports_changes_and_deletes_since_a_watermark(
    directory: InMemoryDirectory, feed: InMemoryChangeFeed
) -> None:
    """Since a watermark: changed and added users in read order, removed anchors sorted; a user
    changed then removed is only deleted, one removed then put back only changed."""
    start = feed.changes(None).watermark
    directory.change("a3", title="x")
    directory.remove("a1")
    directory.remove("a0")
    directory.put(directory_user("a0", "back@example.com"))
    directory.put(directory_user("a7", "new@example.com"))
    directory.change("a4", title="y")
    directory.remove("a4")
    answer = feed.changes(start)
    assert not answer.full
    assert [u.anchor for u in answer.changed] == ["a3", "a0", "a7"]
    assert answer.deleted == ("a1", "a4")
    quiet = feed.changes(answer.watermark)
    assert (quiet.changed, quiet.deleted, quiet.full) == ((), (), False)


def test_feed_answers_a_full_read_for_watermarks_it_cannot_use(
    directory: InMemoryDirectory, feed: InMemoryChangeFeed
) -> None:
    """Another directory's watermark, a future one, or one from before ``forget()`` make a full read."""
    other = InMemoryChangeFeed(InMemoryDirectory([directory_user("z", "z@example.com")])).mark()
    mark = feed.mark()
    assert feed.changes(other).full
    assert feed.changes(f"memory:{directory.epoch}:999").full
    directory.change("a0", title="x")
    feed.forget()
    answer = feed.changes(mark)
    assert answer.full and len(answer.changed) == 5
    assert feed.asked == [other, f"memory:{directory.epoch}:999", mark]


def test_feed_faults_and_full_reads_that_fail(directory: InMemoryDirectory, feed: InMemoryChangeFeed) -> None:
    """A scripted feed fault raises from ``changes``; a full read fails as the directory's read does."""
    feed.fail_next(DirectoryUnavailableError("gone"))
    with pytest.raises(DirectoryUnavailableError):
        feed.changes(None)
    directory.fail_read(after=3)
    with pytest.raises(DirectoryIncompleteError):
        feed.changes(None)
    assert feed.changes(None).full


def test_labels_are_handed_over_and_moving_them_is_a_change(
    directory: InMemoryDirectory, feed: InMemoryChangeFeed
) -> None:
    """Labels given by ``directory_user`` come back from reads and ``find_user``; putting a label
    on users or taking it off changes them (the feed reports them with their new labels), and
    other changes keep a user's labels."""
    group, rule_filter = group_label(group_dn("messaging")), filter_label("(title=x)")
    directory.put(directory_user("a9", "nine@example.com", labels=[group]))
    assert directory.find_user("nine@example.com").labels == {group}  # type: ignore[union-attr]
    start = feed.changes(None).watermark
    directory.add_label(rule_filter, "a1", "a9")
    directory.remove_label(group, "a9")
    directory.change("a1", title="x")
    answer = feed.changes(start)
    assert {u.anchor: u.labels for u in answer.changed} == {"a1": {rule_filter}, "a9": {rule_filter}}
    assert directory.labelled(rule_filter) == ["a1", "a9"] and directory.labelled(group) == []
    assert {u.anchor: u.labels for u in directory.read_users()}["a1"] == {rule_filter}


# -- groups -----------------------------------------------------------------------------------

ANN, BOB, CY = (f"uid={name},{PEOPLE}" for name in ("ann", "bob", "cy"))


def _nested_groups(directory: InMemoryDirectory) -> InMemoryDirectory:
    """top holds ann and eng; eng holds bob and sre; sre holds cy and eng back (a cycle)."""
    directory.put_group("top", group_dn("top"), members=[ANN], groups=[group_dn("eng")], cn="Top")
    directory.put_group("eng", group_dn("eng"), members=[BOB], groups=[group_dn("sre")], selected=False)
    directory.put_group("sre", group_dn("sre"), members=[CY], groups=[group_dn("ENG")], selected=False)
    return directory


def test_groups_are_flattened_with_cycles_cut_and_named(directory: InMemoryDirectory) -> None:
    """Only selected groups are read; their members come through nested groups at any depth
    (normalized), ``nested`` lists the groups flattened in and the cycle is named from the group
    reached again back to it, DNs as the path gave them."""
    read = _nested_groups(directory).read_groups()
    (top,) = read.groups
    assert top.members == {normalize_dn(dn) for dn in (ANN, BOB, CY)}
    assert top.nested == (group_dn("eng"), group_dn("sre"))
    assert top.cycles == (f"{group_dn('eng')} > {group_dn('sre')} > {group_dn('eng')}",)
    assert top.attributes == {"cn": ("Top",)} and top.first("CN") == "Top"


def test_direct_members_drop_member_groups() -> None:
    """With ``groups_nested="direct"``, a member group is neither a member nor expanded, and
    ``nested`` and ``cycles`` stay empty."""
    (top,) = _nested_groups(InMemoryDirectory(groups_nested="direct")).read_groups().groups
    assert (top.members, top.nested, top.cycles) == ({normalize_dn(ANN)}, (), ())


def test_a_removed_nested_group_leaves_a_plain_member_dn(directory: InMemoryDirectory) -> None:
    """A nested group removed from the directory stays listed in its parent (as LDAP without
    referential integrity leaves it): its DN reads as a plain member, nothing is flattened."""
    _nested_groups(directory).remove_group("eng")
    (top,) = directory.read_groups().groups
    assert top.members == {normalize_dn(ANN), normalize_dn(group_dn("eng"))} and top.nested == ()


def test_group_changes_change_the_digest_and_user_changes_do_not(
    directory: InMemoryDirectory, feed: InMemoryChangeFeed
) -> None:
    """Every group change (members added or removed, a rename, selection, attributes, removal)
    gives a new digest; a user change does not, and the change feed sees no group change."""
    _nested_groups(directory)
    mark = feed.mark()
    digests = [directory.group_digest()]
    directory.change("a1", title="x")
    assert directory.group_digest() == digests[0]
    for change in (
        lambda: directory.change_group("sre", add=["uid=dee,ou=people,dc=example,dc=com"]),
        lambda: directory.change_group("sre", remove=["UID=dee, ou=people,dc=example,dc=com"]),
        lambda: directory.change_group("top", dn=group_dn("top-renamed")),
        lambda: directory.change_group("eng", selected=True),
        lambda: directory.change_group("top", cn=None),
        lambda: directory.remove_group("sre"),
    ):
        change()
        digests.append(directory.group_digest())
    assert len(set(digests)) == len(digests)
    assert directory.read_groups().digest == digests[-1]
    assert [u.anchor for u in feed.changes(mark).changed] == ["a1"]


def test_change_group_edits_what_it_names(directory: InMemoryDirectory) -> None:
    """``change_group`` adds and removes member DNs (compared normalized), replaces them all,
    moves the group and removes an attribute given ``None``; unknown anchors are a KeyError."""
    _nested_groups(directory)
    changed = directory.change_group("top", add=[BOB], remove=[ANN.upper()], dn=group_dn("t2"), cn=None)
    assert changed.members == (group_dn("eng"), BOB) and changed.dn == group_dn("t2")
    assert changed.attributes == {}
    assert directory.change_group("top", members=[CY]).members == (CY,)
    found = directory.find_group("CN=T2, OU=groups, DC=example, DC=com")
    assert found is not None and found.members == {normalize_dn(CY)}
    with pytest.raises(KeyError, match="no group with anchor 'nope'"):
        directory.change_group("nope", cn="x")
    with pytest.raises(KeyError):
        directory.remove_group("nope")


def test_scripted_group_faults(directory: InMemoryDirectory) -> None:
    """``fail_next`` makes the next group read, digest or lookup (of one key) raise; the calls
    after it answer again, and reads and digests are counted."""
    _nested_groups(directory)
    directory.fail_next("read_groups", DirectoryIncompleteError("stopped"))
    directory.fail_next("group_digest", DirectoryUnavailableError("down"))
    directory.fail_next("find_group", DirectoryError("nope"), key="eng")
    with pytest.raises(DirectoryIncompleteError, match="stopped"):
        directory.read_groups()
    with pytest.raises(DirectoryUnavailableError):
        directory.group_digest()
    assert directory.find_group("top") is not None
    with pytest.raises(DirectoryError, match="nope"):
        directory.find_group("eng")
    assert directory.read_groups().groups and directory.group_digest()
    assert (directory.group_reads, directory.digests, directory.pending_faults()) == (1, 1, 0)
