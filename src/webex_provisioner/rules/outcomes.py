"""What to do with Webex's answers: the no-duplicate rules of a create, and the answers that stop
an apply. Pure: the executor sends and looks up; these functions decide what comes next.

A create is never sent twice blindly (docs/lifecycle.md, "No duplicates"):

* created: the user is linked to the new Webex user;
* 409 (the e-mail is taken): the user with that e-mail is looked up and linked, or the create
  fails when none is found;
* no answer (timeout, 5xx after the retries, a lost Bulk answer): the user is looked up first;
  found, it is linked; not found, the create is sent again, at most ``CREATE_ATTEMPTS`` times;
* a Bulk request refused as a whole (nothing was created): its creates are sent one by one;
* any other refusal fails that user only.

A Webex user that is gone (404) when the engine acts on its link was deleted by someone else:
an update or a reactivation re-creates it (through the same create rules); a disable or a
delete has nothing left to do and drops the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from webex_provisioner.errors import (
    ProvisionerError,
    WebexAuthError,
    WebexConflictError,
    WebexOutcomeUnknownError,
    WebexUnavailableError,
)
from webex_provisioner.model import ActionKind

CREATE_ATTEMPTS = 3
"""How many times one create is sent when each answer is lost (each time after a lookup)."""


class Answer(StrEnum):
    """How Webex answered one create."""

    CREATED = "created"
    CONFLICT = "conflict"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"
    REFUSED = "refused"


class Next(StrEnum):
    """What the executor does next with a create."""

    DONE = "done"
    LOOK_UP = "look_up"
    ADOPT = "adopt"
    SEND = "send"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class CreateProgress:
    """Where one create stands: answers lost so far, whether the last send went in a Bulk
    request, and the notes the audit trail records about it."""

    lost: int = 0
    in_bulk: bool = False
    notes: tuple[str, ...] = ()

    @property
    def detail(self) -> str:
        return "; ".join(self.notes)

    def noted(self, note: str, *, lost: int, in_bulk: bool) -> CreateProgress:
        notes = self.notes if note in self.notes else (*self.notes, note)
        return CreateProgress(lost, in_bulk, notes)


def answer_of(error: ProvisionerError | None) -> Answer:
    """The kind of answer an error (``None``: a created user) stands for."""
    if error is None:
        return Answer.CREATED
    if isinstance(error, WebexConflictError):
        return Answer.CONFLICT
    if isinstance(error, WebexOutcomeUnknownError):
        return Answer.UNKNOWN
    return Answer.REFUSED


def after_answer(progress: CreateProgress, answer: Answer) -> tuple[Next, CreateProgress]:
    """The step after Webex's answer to one send of a create."""
    if answer is Answer.CREATED:
        return Next.DONE, progress
    if answer is Answer.CONFLICT:
        return Next.LOOK_UP, progress
    if answer is Answer.UNKNOWN:
        return Next.LOOK_UP, CreateProgress(progress.lost + 1, progress.in_bulk, progress.notes)
    if answer is Answer.NOT_SENT:
        return Next.SEND, CreateProgress(progress.lost, False, progress.notes)
    return Next.FAIL, progress


def after_lookup(progress: CreateProgress, answer: Answer, *, found: bool) -> tuple[Next, CreateProgress]:
    """The step after looking up the e-mail of a create answered ``answer`` (a conflict or a
    lost answer): link what was found, send again, or give up."""
    where = " (Bulk)" if progress.in_bulk else ""
    if found:
        note = (
            "409 on create: linked the existing user"
            if answer is Answer.CONFLICT
            else f"create outcome unknown{where}: found and linked"
        )
        return Next.ADOPT, progress.noted(note, lost=progress.lost, in_bulk=progress.in_bulk)
    if answer is Answer.CONFLICT or progress.lost >= CREATE_ATTEMPTS:
        return Next.FAIL, progress
    note = f"create outcome unknown{where}: not found, created again"
    lost = 0 if progress.in_bulk else progress.lost  # a Bulk send hands over to single sends
    return Next.SEND, progress.noted(note, lost=lost, in_bulk=False)


class Missing(StrEnum):
    """What an action does when its linked Webex user is gone (404)."""

    RECREATE = "recreate"
    DROP_LINK = "drop_link"


def when_missing(kind: ActionKind) -> Missing:
    """An update or reactivation re-creates a Webex user deleted by someone else; a disable (or
    a delete) has nothing left to do."""
    if kind in (ActionKind.UPDATE, ActionKind.REACTIVATE):
        return Missing.RECREATE
    return Missing.DROP_LINK


def stops_the_apply(error: ProvisionerError) -> bool:
    """Whether every further Webex request would fail like this: the token was refused (401) or
    could not be renewed, or Webex stayed unreachable through the retries. A 403 (one user
    beyond the token's rights) and a create whose outcome is unknown concern one user only."""
    if isinstance(error, WebexAuthError):
        return error.status != 403
    return isinstance(error, WebexUnavailableError) and not isinstance(error, WebexOutcomeUnknownError)
