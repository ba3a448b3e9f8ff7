"""Active Directory's DirSync and Show Deleted LDAP controls, for python-ldap.

python-ldap has no class for either; these encode and decode them with pyasn1 (MS-ADTS 3.1.1.3.4.1):

```
DirSyncRequestValue  ::= SEQUENCE { Flags INTEGER, MaxBytes INTEGER, Cookie OCTET STRING }
DirSyncResponseValue ::= SEQUENCE { MoreResults INTEGER, unused INTEGER, CookieServer OCTET STRING }
```

Show Deleted (1.2.840.113556.1.4.417) has no value: it makes tombstones visible to a search.
"""

from __future__ import annotations

from typing import Any

from ldap.controls import LDAPControl, RequestControl, ResponseControl
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import namedtype, univ

from webex_provisioner.directory.ad import DIRSYNC_OID, SHOW_DELETED_OID

# DirSync flags (MS-ADTS): parents before children, and group members as added/removed values
# (``member;range=1-1`` added, ``member;range=0-0`` removed) instead of the whole list.
DIRSYNC_ANCESTORS_FIRST_ORDER = 0x00000800
DIRSYNC_INCREMENTAL_VALUES = 0x80000000
_INT32 = 1 << 32


class _DirSyncRequestValue(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(  # noqa: N815 - pyasn1 attribute name
        namedtype.NamedType("flags", univ.Integer()),
        namedtype.NamedType("maxBytes", univ.Integer()),
        namedtype.NamedType("cookie", univ.OctetString()),
    )


class _DirSyncResponseValue(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(  # noqa: N815 - pyasn1 attribute name
        namedtype.NamedType("moreResults", univ.Integer()),
        namedtype.NamedType("unused", univ.Integer()),
        namedtype.NamedType("cookie", univ.OctetString()),
    )


class DirSyncControl(RequestControl, ResponseControl):  # type: ignore[misc]
    """The DirSync control: sent with a cookie (empty the first time), returned with the next one.

    ``more_results`` tells that the server has more changes for this cookie: search again with
    the returned cookie until it is false. The control must be critical.
    """

    controlType = DIRSYNC_OID  # noqa: N815 - python-ldap attribute name

    def __init__(
        self,
        cookie: bytes = b"",
        *,
        flags: int = DIRSYNC_INCREMENTAL_VALUES | DIRSYNC_ANCESTORS_FIRST_ORDER,
        max_bytes: int = 0,
        criticality: bool = True,
    ) -> None:
        self.criticality = criticality
        self.cookie = cookie
        self.flags = flags
        self.max_bytes = max_bytes
        self.more_results = False

    def encodeControlValue(self) -> bytes:  # noqa: N802 - python-ldap's method name
        value = _DirSyncRequestValue()
        # Flags is a signed 32-bit integer on the wire: 0x80000000 goes as -2147483648.
        value["flags"] = self.flags - _INT32 if self.flags >= 1 << 31 else self.flags
        value["maxBytes"] = self.max_bytes
        value["cookie"] = self.cookie
        return bytes(encoder.encode(value))

    def decodeControlValue(self, encoded: bytes) -> None:  # noqa: N802 - python-ldap's method name
        value, _rest = decoder.decode(encoded, asn1Spec=_DirSyncResponseValue())
        self.more_results = bool(int(value["moreResults"]))
        self.cookie = bytes(value["cookie"])


def show_deleted() -> Any:
    """The Show Deleted control (critical, no value)."""
    return LDAPControl(SHOW_DELETED_OID, True, None)


RESPONSE_CONTROLS: dict[str, type[ResponseControl]] = {DIRSYNC_OID: DirSyncControl}


def decode_dirsync_request(encoded: bytes) -> tuple[int, int, bytes]:
    """(flags, max bytes, cookie) of an encoded DirSync request value (for tests and debugging)."""
    value, _rest = decoder.decode(encoded, asn1Spec=_DirSyncRequestValue())
    flags = int(value["flags"])
    return (flags + _INT32 if flags < 0 else flags), int(value["maxBytes"]), bytes(value["cookie"])
