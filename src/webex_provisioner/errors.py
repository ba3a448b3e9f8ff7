"""One root exception, branched by where the problem comes from.

Adapters translate foreign exceptions (python-ldap, httpx, SQLAlchemy) into these at their
boundary (``raise DirectoryError(...) from exc``), so the engine never sees a library's type.
Every message says what happened, to which user or key, and what to do about it.
"""

from __future__ import annotations


class ProvisionerError(Exception):
    """Root of every error webex-provisioner raises on purpose.

    ``retryable`` tells the caller whether trying the same thing again later may succeed.
    """

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(ProvisionerError):
    """The configuration is invalid. ``problems`` lists every problem found, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the configuration is invalid ({len(self.problems)} problem(s)):\n{lines}")


class DirectoryError(ProvisionerError):
    """The directory could not be read (completely). Never a reason to deprovision anyone."""


class DirectoryUnavailableError(DirectoryError):
    """The directory server could not be reached or the connection dropped."""

    retryable = True


class DirectoryIncompleteError(DirectoryError):
    """A read stopped early: size or time limit, a lost paging cookie, an aborted page."""

    retryable = True


class DirectoryAuthError(DirectoryError):
    """The bind was refused (wrong DN or password, account locked, ...)."""


class WebexError(ProvisionerError):
    """A Webex request failed. ``status`` is the HTTP status (0 when no response arrived);
    ``code`` is Webex's own ``errorCode`` when the answer had one (the licences API's 400xxx)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        tracking_id: str | None = None,
        scim_type: str | None = None,
        retryable: bool | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.tracking_id = tracking_id
        self.scim_type = scim_type
        self.code = code


class WebexUnavailableError(WebexError):
    """No usable answer: connection refused, timeout, 5xx after retries, or 429 for too long."""

    retryable = True


class WebexOutcomeUnknownError(WebexUnavailableError):
    """A write was sent but no answer came back: it may or may not have been applied."""


class WebexAuthError(WebexError):
    """The token was refused (401) or lacks a right (403), and could not be refreshed."""


class WebexNotFoundError(WebexError):
    """The Webex user does not exist (404)."""


class WebexConflictError(WebexError):
    """The request conflicts with an existing Webex user (409), e.g. the e-mail is taken."""


class WebexRejectedError(WebexError):
    """Webex refused the request as invalid (400 and other 4xx): fixing the data is needed."""


class StateError(ProvisionerError):
    """The state store could not be opened, read or written."""


class StateLockedError(StateError):
    """Another instance holds the cycle lock on this state store."""

    retryable = True


class NotificationError(ProvisionerError):
    """A notification channel did not take a message (refused, 4xx/5xx, timeout, unreachable).
    Never fails a cycle: the message is sent again later. ``channel`` names the channel."""

    retryable = True

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(message)
        self.channel = channel


class UserNotFoundError(ProvisionerError):
    """A command named a user (e-mail, anchor or DN) that is neither in the directory nor linked."""
