"""Running the command line the way a person sees it: under a pseudo-terminal of a given size,
or with its output to pipes; and reading what reached the screen."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len

# Escape sequences: CSI (cursor, colours, erase), OSC (titles, links), and two-character ones.
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass(frozen=True)
class Screen:
    """What a command printed, as bytes, and its exit code."""

    code: int
    raw: bytes

    @property
    def text(self) -> str:
        """The output without escape sequences, line ends as ``\\n``."""
        return ESCAPES.sub("", self.raw.decode("utf-8", "replace")).replace("\r\n", "\n")

    @property
    def lines(self) -> list[str]:
        """Every line that reached the screen; a line redrawn in place (after ``\\r``) counts once
        for each drawing."""
        return [part for line in self.text.split("\n") for part in line.split("\r")]

    def widest(self) -> int:
        return max((cell_len(line.rstrip()) for line in self.lines), default=0)


def command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "webex_provisioner", "--config", str(config), *args]


def _terminal(columns: int, rows: int) -> tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return master, slave


def _read_all(masters: dict[int, list[bytes]], timeout: float) -> None:
    """Read every terminal until its far end is closed."""
    open_ = set(masters)
    while open_:
        ready, _, _ = select.select(list(open_), [], [], timeout)
        if not ready:
            raise TimeoutError(f"nothing printed for {timeout} s")
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if data:
                masters[fd].append(data)
            else:
                open_.discard(fd)


def in_terminal(
    argv: list[str], env: dict[str, str], *, columns: int = 80, rows: int = 24
) -> tuple[Screen, Screen]:
    """Run ``argv`` with its standard output and error on two pseudo-terminals of ``columns`` x
    ``rows`` (what a person sees is both, interleaved); return (output, error)."""
    out_master, out_slave = _terminal(columns, rows)
    err_master, err_slave = _terminal(columns, rows)
    terminal_env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    terminal_env["TERM"] = "xterm-256color"
    process = subprocess.Popen(
        argv, stdin=out_slave, stdout=out_slave, stderr=err_slave, env=terminal_env, start_new_session=True
    )
    os.close(out_slave)
    os.close(err_slave)
    chunks: dict[int, list[bytes]] = {out_master: [], err_master: []}
    try:
        _read_all(chunks, 120)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(out_master)
        os.close(err_master)
    return Screen(code, b"".join(chunks[out_master])), Screen(code, b"".join(chunks[err_master]))


def in_pipes(argv: list[str], env: dict[str, str], *, columns: int | None = None) -> tuple[Screen, Screen]:
    """Run ``argv`` with its output to pipes (a cron job, a CI log): (standard output, error).
    ``columns`` sets ``COLUMNS`` (the width rich assumes without a terminal: 80 by default)."""
    pipe_env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        pipe_env["COLUMNS"] = str(columns)
    done = subprocess.run(argv, env=pipe_env, capture_output=True, check=False, timeout=300)
    return Screen(done.returncode, done.stdout), Screen(done.returncode, done.stderr)
