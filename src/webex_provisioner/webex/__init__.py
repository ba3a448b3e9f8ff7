"""The Webex side: SCIM 2.0 conversions, the retry policy, token providers and ``ScimWebexClient``."""

from webex_provisioner.webex.client import ScimWebexClient

__all__ = ["ScimWebexClient"]
