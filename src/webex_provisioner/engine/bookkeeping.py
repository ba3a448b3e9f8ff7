"""What one cycle leaves in the state for the next: approvals of held deprovisions, and the
problems of users left alone.

* ``approve_held_later`` records an operator's approval while another instance (``run``) holds
  the cycle lock; that instance's next cycle applies the approved deprovisions, each re-checked,
  and uses the approval once (``approved_held``).
* An incremental cycle reads only what changed, so a user reported earlier (no e-mail, a
  conflict, ...) and unchanged since would vanish from the reports while still unprovisioned:
  ``carry_open_problems`` keeps the open problems in the state and reports them again until
  they are fixed, or a full cycle finds them fine.
"""

from __future__ import annotations

import json

from webex_provisioner.model import ActionKind, Plan, Problem, ProblemKind
from webex_provisioner.ports import StateStore

OPEN_PROBLEMS = "cycle.open_problems"
APPROVED_HELD = "cycle.approved_held"


def approve_held_later(store: StateStore) -> int:
    """Approve the deprovisions held now, for the instance running cycles (``run``) to apply in
    its next cycle, each re-checked then; returns how many."""
    held = [[a.anchor, a.kind.value] for a in store.held()]
    store.set_watermark(APPROVED_HELD, json.dumps(held) if held else None)
    return len(held)


def approved_held(store: StateStore, *, everything: bool, apply: bool) -> set[tuple[str, ActionKind]]:
    """The held deprovisions approved for this cycle: all of them with ``everything``
    (``--approve-held``), else those approved by ``approve_held_later`` and still held. A stored
    approval is used (and forgotten) by the first cycle that applies."""
    held = {(a.anchor, a.kind) for a in store.held()}
    if everything:
        return held
    stored = store.get_watermark(APPROVED_HELD)
    if stored is None or not apply:
        return set()
    store.set_watermark(APPROVED_HELD, None)
    approved = {(anchor, ActionKind(kind)) for anchor, kind in json.loads(stored)}
    return held & approved


def carry_open_problems(
    store: StateStore, plan: Plan, reread: set[str], *, incremental: bool
) -> tuple[Problem, ...]:
    """Store this cycle's problems (not the protected users) and return the earlier ones an
    incremental cycle did not re-read (``reread``: the anchors it read or saw deleted), to report
    again. A full cycle starts the list afresh."""
    carried: list[Problem] = []
    if incremental:
        stored = json.loads(store.get_watermark(OPEN_PROBLEMS) or "[]")
        carried = [_problem(item) for item in stored if item["anchor"] not in reread]
    current = [p for p in plan.problems if p.kind is not ProblemKind.PROTECTED]
    store.set_watermark(
        OPEN_PROBLEMS,
        json.dumps([problem_json(p) for p in (*current, *carried)]) if current or carried else None,
    )
    return tuple(carried)


def problem_json(problem: Problem) -> dict[str, str | None]:
    """A problem as JSON (as stored here and as reports show it)."""
    return {
        "kind": problem.kind.value,
        "anchor": problem.anchor,
        "dn": problem.dn,
        "email": problem.email,
        "detail": problem.detail,
    }


def _problem(item: dict[str, str | None]) -> Problem:
    return Problem(
        ProblemKind(str(item["kind"])),
        str(item["anchor"]),
        str(item["dn"] or ""),
        item["email"],
        str(item["detail"]),
    )
