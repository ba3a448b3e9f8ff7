"""A notice as each channel shows it (docs/notifications.md, "Messages"). Pure.

``render`` makes every form at once: a subject and plain text and HTML for e-mail, markdown for
a Webex space, and the JSON body of the webhook. What may come from the directory (the summary
and the details: e-mails, DNs, an error's text) is escaped for each form, so that a display
name cannot format, link or mention anything; what the project writes (titles, the advice) is
not.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from webex_provisioner.model.notifications import RECOVERED, Notice, OutboundMessage
from webex_provisioner.rules.notifications import ADVICE

SOURCE = "webex-provisioner"
MAX_MARKDOWN_BYTES = 7000
"""Below Webex's 7439 bytes per message: details are dropped until a message fits."""

TITLES: Mapping[str, str] = {
    "failed": "a cycle failed",
    "held": "actions wait for an approval",
    "user_failures": "some users could not be provisioned",
    "drift": "Webex differs from the directory",
    RECOVERED: "resolved",
}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~&])")
_CODE = re.compile(r"`([^`]+)`")


def escape_markdown(text: str) -> str:
    """``text`` shown as it is in markdown: one line, every formatting character escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def escape_html(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=True)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def title(notice: Notice) -> str:
    """``held: actions wait for an approval`` (``recovered: held`` for a cleared condition)."""
    if notice.event == RECOVERED:
        return f"{RECOVERED}: {notice.condition.value} {TITLES[RECOVERED]}"
    reminder = " (reminder: still unresolved)" if notice.reminder else ""
    return f"{notice.event}: {TITLES[notice.event]}{reminder}"


def advice(notice: Notice) -> str:
    """What to do, with the commands in backquotes; empty for a ``recovered`` notice."""
    return "" if notice.event == RECOVERED else ADVICE[notice.condition]


def _text(notice: Notice) -> str:
    lines = [f"{SOURCE} — {title(notice)}", "", " ".join(notice.summary.split())]
    lines += [f"  - {' '.join(d.split())}" for d in notice.details]
    if advice(notice):
        lines += ["", f"What to do: {advice(notice)}"]
    lines += ["", f"Since {_when(notice.since)}; cycle {notice.cycle_id}."]
    return "\n".join(lines) + "\n"


def _markdown(notice: Notice, details: tuple[str, ...]) -> str:
    parts = [f"**{SOURCE} — {title(notice)}**", "", escape_markdown(notice.summary)]
    if details:
        parts += ["", *(f"- {escape_markdown(d)}" for d in details)]
    if advice(notice):
        parts += ["", f"**What to do:** {advice(notice)}"]
    parts += ["", f"Since {_when(notice.since)} · cycle `{notice.cycle_id}`"]
    return "\n".join(parts)


def _fitting_markdown(notice: Notice) -> str:
    """The markdown with as many details as fit in one Webex message (the rest counted)."""
    details = notice.details
    text = ""
    for keep in range(len(details), -1, -1):
        shown = details if keep == len(details) else (*details[:keep], f"… and {len(details) - keep} more")
        text = _markdown(notice, shown)
        if len(text.encode("utf-8")) <= MAX_MARKDOWN_BYTES:
            break
    return text


def _html(notice: Notice) -> str:
    parts = [
        f"<p><b>{html.escape(SOURCE + ' — ' + title(notice))}</b></p>",
        f"<p>{escape_html(notice.summary)}</p>",
    ]
    if notice.details:
        items = "".join(f"<li>{escape_html(d)}</li>" for d in notice.details)
        parts.append(f"<ul>{items}</ul>")
    if advice(notice):
        trusted = _CODE.sub(r"<code>\1</code>", html.escape(advice(notice), quote=False))
        parts.append(f"<p><b>What to do:</b> {trusted}</p>")
    parts.append(f"<p>Since {_when(notice.since)}; cycle <code>{html.escape(notice.cycle_id)}</code>.</p>")
    return "<html><body>" + "".join(parts) + "</body></html>\n"


def payload(notice: Notice) -> dict[str, Any]:
    """The webhook's JSON body (docs/notifications.md lists the fields)."""
    return {
        "source": SOURCE,
        "event": notice.event,
        "condition": notice.condition.value,
        "reminder": notice.reminder,
        "cycle_id": notice.cycle_id,
        "summary": notice.summary,
        "counts": dict(notice.counts),
        "since": notice.since.astimezone(UTC).isoformat(),
        "at": notice.at.astimezone(UTC).isoformat(),
        "details": list(notice.details),
        "command": notice.command or None,
        "advice": advice(notice).replace("`", "") or None,
    }


def render(notice: Notice) -> OutboundMessage:
    """Every form of ``notice``, escaped for its channel."""
    return OutboundMessage(
        subject=f"[{SOURCE}] {title(notice)}",
        text=_text(notice),
        markdown=_fitting_markdown(notice),
        html=_html(notice),
        payload=payload(notice),
        cycle_id=notice.cycle_id,
    )
