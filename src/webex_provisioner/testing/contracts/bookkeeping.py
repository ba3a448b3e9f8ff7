"""The ``Bookkeeping`` part of the state contract: what one cycle leaves for the next.

Every setter replaces what was stored; ``None`` or an empty collection clears it; each kind is
kept apart from the others.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta, timezone

from webex_provisioner.model import Action, ActionKind, Change, Problem, ProblemKind, Reason
from webex_provisioner.ports import StateStore, StoredRefreshToken
from webex_provisioner.testing.contracts.samples import T0

PROBLEMS = [
    Problem(ProblemKind.CONFLICT, "a2", "uid=b,dc=example", "b@example.com", "e-mail taken by w9"),
    Problem(ProblemKind.INVALID, "a1", "", None, "no e-mail ✗"),
    Problem(ProblemKind.FAILED, "a3", "uid=c,dc=example", "c@example.com", ""),
]
ACTIONS = [
    Action(ActionKind.DISABLE, Reason.LEFT_SCOPE, "a2", "b@example.com", "uid=b", "w2", active=False),
    Action(
        ActionKind.UPDATE,
        Reason.ATTRIBUTES_CHANGED,
        "a1",
        "a@example.com",
        webex_id="w1",
        changes=(Change("department", "Sales", None), Change("title", None, "Chef ✓")),
        detail="two changes",
    ),
    Action(ActionKind.CREATE, Reason.ENTERED_SCOPE, "a3", "c@example.com", desired={"email": "c@x", "x": ""}),
]


class BookkeepingContract:
    """Watermarks, the baseline, retries, open problems, held actions, approvals, a refresh token."""

    def test_watermarks_are_set_replaced_and_cleared_by_name(self, store: StateStore) -> None:
        """A watermark reads back what was last set under its name; ``None`` clears it; names are
        independent."""
        assert store.get_watermark("usn") is None
        store.set_watermark("usn", "100")
        store.set_watermark("usn", "250")
        store.set_watermark("cookie", "rid=000,csn=x")

        assert store.get_watermark("usn") == "250"
        store.set_watermark("usn", None)
        assert store.get_watermark("usn") is None
        assert store.get_watermark("cookie") == "rid=000,csn=x"

    def test_the_baseline_is_set_replaced_and_cleared(self, store: StateStore) -> None:
        """``baseline()`` is the token last set, ``None`` before any and after clearing."""
        assert store.baseline() is None
        store.set_baseline("token-1")
        store.set_baseline("token-2")
        assert store.baseline() == "token-2"

        store.set_baseline(None)
        assert store.baseline() is None

    def test_retry_anchors_keep_their_order_and_are_replaced_or_cleared(self, store: StateStore) -> None:
        """The anchors to retry read back in the order set; setting replaces them; empty clears."""
        assert store.retry_anchors() == []
        store.set_retry_anchors(["a3", "a1", "a2"])
        assert store.retry_anchors() == ["a3", "a1", "a2"]

        store.set_retry_anchors(["a9"])
        assert store.retry_anchors() == ["a9"]
        store.set_retry_anchors([])
        assert store.retry_anchors() == []

    def test_open_problems_round_trip_in_order_and_are_replaced_or_cleared(self, store: StateStore) -> None:
        """Open problems read back equal (an absent e-mail too), in order; setting replaces them;
        empty clears."""
        assert store.open_problems() == []
        store.set_open_problems(PROBLEMS)
        assert store.open_problems() == PROBLEMS

        store.set_open_problems(PROBLEMS[2:])
        assert store.open_problems() == PROBLEMS[2:]
        store.set_open_problems([])
        assert store.open_problems() == []

    def test_held_actions_round_trip_exactly_and_in_order(self, store: StateStore) -> None:
        """``hold`` then ``held`` gives back the same actions (changes, desired values, flags), in order."""
        store.hold(ACTIONS, "cycle-1")

        assert store.held() == ACTIONS

    def test_hold_replaces_the_held_actions_and_an_empty_hold_clears_them(self, store: StateStore) -> None:
        """Each ``hold`` replaces the held actions; holding nothing clears them."""
        store.hold(ACTIONS, "cycle-1")
        store.hold(ACTIONS[:1], "cycle-2")
        assert store.held() == ACTIONS[:1]

        store.hold([], "cycle-3")
        assert store.held() == []

    def test_approvals_are_a_set_replaced_or_cleared(self, store: StateStore) -> None:
        """Approvals read back as the set of (anchor, kind) last set, a repeated one once;
        setting replaces them; empty clears."""
        assert store.approvals() == set()
        store.set_approvals(
            [("a1", ActionKind.DELETE), ("a2", ActionKind.DISABLE), ("a1", ActionKind.DELETE)]
        )
        assert store.approvals() == {("a1", ActionKind.DELETE), ("a2", ActionKind.DISABLE)}

        store.set_approvals({("a1", ActionKind.DISABLE)})
        assert store.approvals() == {("a1", ActionKind.DISABLE)}
        store.set_approvals([])
        assert store.approvals() == set()

    def test_a_refresh_token_is_stored_replaced_and_read_back_in_utc(self, store: StateStore) -> None:
        """The refresh token saved last reads back (value, the digest it replaces, when it was
        stored, in UTC); ``None`` before any."""
        assert store.refresh_token() is None
        store.save_refresh_token(StoredRefreshToken("rt-1", "digest-1", T0))
        paris = timezone(timedelta(hours=2))
        store.save_refresh_token(StoredRefreshToken("rt-2", "", datetime(2024, 5, 1, 14, 0, tzinfo=paris)))

        got = store.refresh_token()

        assert got == StoredRefreshToken("rt-2", "", T0)
        assert got is not None and got.stored_at.tzinfo == UTC

    def test_each_kind_of_bookkeeping_is_kept_apart(self, store: StateStore) -> None:
        """Clearing one kind leaves the others; a watermark never stands for another kind."""
        store.set_baseline("token")
        store.set_retry_anchors(["a1"])
        store.set_open_problems(PROBLEMS[:1])
        store.hold(ACTIONS[:1], "cycle-1")
        store.set_approvals([("a2", ActionKind.DISABLE)])
        store.save_refresh_token(StoredRefreshToken("rt", "d", T0))
        for name in ("cycle.baseline", "cycle.retry_anchors", "webex.oauth.refresh_token"):
            store.set_watermark(name, None)

        store.set_retry_anchors([])
        store.hold([], "cycle-2")

        assert store.baseline() == "token"
        assert store.open_problems() == PROBLEMS[:1]
        assert store.approvals() == {("a2", ActionKind.DISABLE)}
        assert store.refresh_token() == StoredRefreshToken("rt", "d", T0)
        assert store.get_watermark("cycle.baseline") is None

    def test_bookkeeping_read_or_handed_in_is_the_callers_own(self, store: StateStore) -> None:
        """Changing a list handed to a setter, or one a getter returned, changes nothing stored."""
        anchors, problems, actions = ["a1"], list(PROBLEMS), list(ACTIONS)
        approved = {("a1", ActionKind.DELETE)}
        store.set_retry_anchors(anchors)
        store.set_open_problems(problems)
        store.hold(actions, "cycle-1")
        store.set_approvals(approved)
        for handed in (anchors, problems, actions):
            handed.clear()
        approved.clear()

        for read in (store.retry_anchors(), store.open_problems(), store.held()):
            read.clear()
        store.approvals().clear()

        assert store.retry_anchors() == ["a1"]
        assert (store.open_problems(), store.held()) == (PROBLEMS, ACTIONS)
        assert store.approvals() == {("a1", ActionKind.DELETE)}

    def test_held_actions_desired_values_are_the_callers_own(self, store: StateStore) -> None:
        """Changing the desired values of a held action, handed in or read back, changes nothing stored."""
        desired = {"email": "c@x", "title": "Chef"}
        store.hold([Action(ActionKind.CREATE, Reason.ENTERED_SCOPE, "a3", "c@x", desired=desired)], "c1")
        desired["title"] = "Changed"
        (read,) = store.held()
        if isinstance(read.desired, MutableMapping):  # else it cannot be changed at all
            read.desired["title"] = "Changed too"

        (again,) = store.held()

        assert dict(again.desired) == {"email": "c@x", "title": "Chef"}
