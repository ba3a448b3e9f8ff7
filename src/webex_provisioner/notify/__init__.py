"""The notification channels (the ``Notifier`` port): a webhook, e-mail, a Webex space.

``open_notifiers(config)`` builds one notifier per channel ``notify:`` configures (none without
``notify:``); each sends within ``notify.timeout`` and raises ``NotificationError`` otherwise.
"""

from __future__ import annotations

from webex_provisioner.config import Config
from webex_provisioner.notify.email import EmailNotifier
from webex_provisioner.notify.tls import tls_context
from webex_provisioner.notify.webex_space import WebexSpaceNotifier
from webex_provisioner.notify.webhook import WebhookNotifier
from webex_provisioner.ports import Notifier

__all__ = ["EmailNotifier", "WebexSpaceNotifier", "WebhookNotifier", "open_notifiers"]


def open_notifiers(config: Config) -> list[Notifier]:
    """The configured channels, in the order webhook, e-mail, Webex."""
    notify = config.notify
    if notify is None:
        return []
    timeout = notify.timeout.total_seconds()
    found: list[Notifier] = []
    if notify.webhook is not None:
        found.append(WebhookNotifier(notify.webhook, timeout=timeout, verify=tls_context(notify.ca_file)))
    if notify.email is not None:
        found.append(EmailNotifier(notify.email, timeout=timeout, context=tls_context(notify.ca_file)))
    if notify.webex is not None:
        webex = config.webex
        verify = tls_context(webex.ca_file, key="webex.ca_file") if webex.tls_verify else False
        found.append(WebexSpaceNotifier(notify.webex, base_url=webex.url, timeout=timeout, verify=verify))
    return found
