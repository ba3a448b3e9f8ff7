"""The group bookkeeping part of the state contract: the group actions a guard held, and open
problems that say what they are about."""

from __future__ import annotations

from webex_provisioner.model import ActionKind, GroupAction, Member, Problem, ProblemKind, Reason
from webex_provisioner.ports import StateStore

HELD = [
    GroupAction(
        ActionKind.REMOVE_MEMBERS,
        Reason.LEFT_GROUP,
        "group-1",
        "Team 1",
        "cn=team1,ou=Groups,dc=example,dc=com",
        "webex-group-1",
        members=(Member("anchor-2", "b@example.com"), Member("anchor-1", "ä@example.com")),
        detail="two left",
    ),
    GroupAction(
        ActionKind.DELETE_GROUP, Reason.LEFT_SELECTION, "group-2", "Ünïcode ✓", webex_id="webex-group-2"
    ),
    GroupAction(
        ActionKind.CREATE_GROUP,
        Reason.GROUP_SELECTED,
        "group-3",
        "Team 3",
        "cn=team3,dc=example",
        members=(Member("anchor-3", "c@example.com"),),
        old_name="Old team 3",
        skipped=4,
    ),
]


class GroupBookkeepingContract:
    """Held group actions are replaced as a whole and read back in order; problems keep their
    resource."""

    def test_held_group_actions_round_trip_exactly_and_in_order(self, store: StateStore) -> None:
        """``hold_groups`` then ``held_groups`` gives back the same group actions (members as
        ``Member`` tuples in their order, old name, skipped count, absent Webex ids), in order."""
        store.hold_groups(HELD, "cycle-1")

        assert store.held_groups() == HELD

    def test_hold_groups_replaces_and_an_empty_hold_clears(self, store: StateStore) -> None:
        """Each ``hold_groups`` replaces the held group actions; holding none clears them; the
        held user actions are kept apart."""
        store.hold_groups(HELD, "cycle-1")
        store.hold_groups(HELD[1:2], "cycle-2")
        assert store.held_groups() == HELD[1:2]

        store.hold([], "cycle-3")
        assert store.held_groups() == HELD[1:2]
        store.hold_groups([], "cycle-3")
        assert store.held_groups() == []

    def test_held_group_actions_are_the_callers_own(self, store: StateStore) -> None:
        """Changing the list handed to ``hold_groups``, or the one ``held_groups`` returned,
        changes nothing stored."""
        handed = list(HELD)
        store.hold_groups(handed, "cycle-1")
        handed.clear()
        store.held_groups().clear()

        assert store.held_groups() == HELD

    def test_open_problems_keep_their_resource(self, store: StateStore) -> None:
        """Open problems about users and about groups read back with their resource, in order; a
        problem that names none is about a user."""
        problems = [
            Problem(ProblemKind.CONFLICT, "group-1", "cn=team1,dc=example", "Team 1", "name taken", "group"),
            Problem(ProblemKind.INVALID, "a1", "uid=a,dc=example", None, "no e-mail"),
            Problem(ProblemKind.PROTECTED, "group-2", "cn=team2,dc=example", "Admins", "", resource="group"),
        ]
        store.set_open_problems(problems)

        got = store.open_problems()

        assert got == problems
        assert [p.resource for p in got] == ["group", "user", "group"]
