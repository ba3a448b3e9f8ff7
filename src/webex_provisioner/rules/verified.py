"""What a drift check verified (docs/drift.md). Pure: no I/O, no clock.

``compare_user`` is a function of what Webex sent for a user, the link's state and applied
attributes, and the attributes compared (and of this version's code). ``Verifier`` fingerprints
those inputs: when a linked user compared as applied, the next check that finds the same
fingerprint would make the same comparison with the same outcome, and skips it. Any change —
Webex's answer for the user, what was applied, the mapping, this version — gives another
fingerprint, so the user is compared again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from webex_provisioner import __version__
from webex_provisioner.model import Attributes, Link
from webex_provisioner.model.drift import VERIFIED_BYTES
from webex_provisioner.model.users import EncodedAttributes

COMPARISON = 1
"""The revision of the comparison's rules (``rules.drift.compare_user``, ``comparable``,
``scim.from_resource``): raise it with any change to what they conclude, so that no user
verified by the rules before is taken as verified by the new ones."""


class Verifier:
    """The fingerprints of one drift check's comparisons, for the attributes ``keys`` (``None``:
    each link's applied ones)."""

    def __init__(self, keys: Sequence[str] | None) -> None:
        context = json.dumps([__version__, COMPARISON, None if keys is None else list(keys)]).encode()
        self._context = len(context).to_bytes(4, "big") + context

    def fingerprint(self, link: Link, listed: bytes) -> bytes:
        """The fingerprint of comparing ``link`` with the Webex user whose listing had the
        fingerprint ``listed``."""
        applied = link.applied
        text = applied.encoded() if isinstance(applied, EncodedAttributes) else _canonical(applied)
        return hashlib.blake2b(
            b"".join(
                (
                    self._context,
                    len(listed).to_bytes(4, "big"),
                    listed,
                    link.webex_id.encode("utf-8", "surrogatepass"),
                    b"\x00",
                    link.state.encode(),  # a StrEnum: its text, without the enum's value property
                    b"\x00",
                    text.encode("utf-8", "surrogatepass"),
                )
            ),
            digest_size=VERIFIED_BYTES,
        ).digest()


def _canonical(applied: Attributes) -> str:
    """Attributes a store does not keep encoded, in one canonical form."""
    return json.dumps(dict(applied), sort_keys=True, ensure_ascii=False)
