"""Reading an answer's body with a bound: a server (or whatever answers at ``webex.url``) cannot
make the engine hold more than ``limit`` bytes of one answer, compressed or not.

Only the encodings the client asks for (``gzip``, ``deflate``) are decoded: another one (``br``,
``zstd``, whose ratio has no practical bound) is refused before any of it is read.
"""

from __future__ import annotations

import httpx

ACCEPTED_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})


class UnreadableBodyError(Exception):
    """The answer's body was not read: larger than the limit, or in an encoding not asked for."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def read_capped(response: httpx.Response, limit: int) -> None:
    """Read and decode ``response``'s body, as ``response.read()`` does, but raise
    ``UnreadableBodyError`` once it passes ``limit`` bytes (decoded), or when its declared length
    or its encoding rules it out before anything is read."""
    status = response.status_code
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ACCEPTED_ENCODINGS:
        unasked = f"the answer is encoded as {encoding[:40]!r}, which was not asked for"
        raise UnreadableBodyError(unasked, status)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UnreadableBodyError(f"the answer announces {declared} bytes, more than {limit}", status)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise UnreadableBodyError(f"the answer is larger than {limit} bytes", status)
        chunks.append(chunk)
    # What Response.read() stores: the body, decoded (building a new response would cost a third
    # more per request than the read itself).
    response._content = b"".join(chunks)
