"""The risks a configuration accepts on purpose (``allow_insecure``), for the warning logged at
every start and for ``check``. Pure: no I/O."""

from __future__ import annotations

from webex_provisioner.config.schema import Config
from webex_provisioner.config.transport import http_cleartext, ldap_cleartext, postgres_cleartext


def accepted_insecure(config: Config) -> dict[str, str]:
    """Each ``allow_insecure`` key that lets a secret travel in clear, with what travels where.
    Empty when nothing is accepted (or the key is set where it changes nothing)."""
    directory, webex = config.directory, config.webex
    binds = directory.bind_password is not None and bool(directory.bind_password.get_secret_value())
    reasons = {
        "directory.allow_insecure": directory.allow_insecure
        and ldap_cleartext(directory.url, start_tls=directory.start_tls, binds=binds),
        "webex.allow_insecure": webex.allow_insecure and http_cleartext(webex.url),
        "state_allow_insecure": config.state_allow_insecure and postgres_cleartext(config.state),
    }
    return {key: f"{reason}; accepted because {key} is true" for key, reason in reasons.items() if reason}
