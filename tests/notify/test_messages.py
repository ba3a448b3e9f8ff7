"""A notice as each channel shows it (rules.notification_text): what happened, since when, what
to do and the cycle id in every form; directory values escaped for markdown and HTML; the
webhook's JSON fields; a Webex message always within its size limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from webex_provisioner.model.notifications import RECOVERED, Condition, Notice
from webex_provisioner.rules.notification_text import MAX_MARKDOWN_BYTES, escape_markdown, render

SINCE = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
AT = datetime(2026, 5, 4, 11, 30, tzinfo=UTC)
HOSTILE = (
    "disable *Eve* [click](https://evil.example) <@all> `x` _y_ (left_scope)\n"
    "# Heading & <script>alert(1)</script>"
)
NOTICE = Notice(
    event="held",
    condition=Condition.HELD,
    cycle_id="20260504T113000-1a2b3c4d",
    since=SINCE,
    at=AT,
    summary="2 deprovision(s) are held by the guard (safety.max_deprovisions) and wait for an approval.",
    counts={"held": 2, "users_read": 64},
    details=("disable ann@example.com (left_scope)", HOSTILE),
    command="webex-provisioner sync --approve-held",
)


def test_every_form_says_what_since_when_what_to_do_and_the_cycle() -> None:
    """Text, markdown and HTML each carry the title, the summary, the since time, the exact
    command and the cycle id; the subject names the event."""
    message = render(NOTICE)
    assert message.subject == "[webex-provisioner] held: actions wait for an approval"
    for form in (message.text, message.markdown, message.html):
        assert "actions wait for an approval" in form
        assert "2026-05-04 10:00 UTC" in form
        assert "webex-provisioner sync --approve-held" in form
        assert NOTICE.cycle_id in form
        assert "ann@example.com" in form


def test_directory_values_cannot_format_link_or_mention_in_markdown() -> None:
    """In the Webex markdown a directory value is inert: emphasis, links, mentions, code and a
    heading on a new line are escaped; the project's own formatting is kept."""
    markdown = render(NOTICE).markdown
    assert "*Eve*" not in markdown and "\\*Eve\\*" in markdown
    assert "[click](https" not in markdown and "\\[click\\]\\(https" in markdown
    assert "<@all>" not in markdown and "\\<@all\\>" in markdown
    assert "\n# Heading" not in markdown and "\\# Heading" in markdown
    assert markdown.startswith("**webex-provisioner — held: actions wait for an approval**")
    assert "`webex-provisioner sync --approve-held`" in markdown
    assert escape_markdown("a_b\nc") == "a\\_b c"


def test_directory_values_are_escaped_in_the_html_email() -> None:
    """In the HTML part a directory value is text: no tag, no entity of its own survives."""
    html = render(NOTICE).html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Heading &amp; " in html
    assert "<code>webex-provisioner sync --approve-held</code>" in html


def test_the_webhook_body_has_the_documented_fields() -> None:
    """event, condition, reminder, cycle_id, summary, counts, since and at (ISO 8601 UTC),
    details, command and advice; JSON-serializable as it is."""
    payload = render(NOTICE).payload
    assert json.loads(json.dumps(payload)) == payload
    assert payload["event"] == "held" and payload["condition"] == "held" and payload["reminder"] is False
    assert payload["cycle_id"] == NOTICE.cycle_id and payload["summary"] == NOTICE.summary
    assert payload["counts"] == {"held": 2, "users_read": 64}
    assert (payload["since"], payload["at"]) == ("2026-05-04T10:00:00+00:00", "2026-05-04T11:30:00+00:00")
    assert payload["details"] == list(NOTICE.details) and payload["details"][1] == HOSTILE
    assert payload["command"] == "webex-provisioner sync --approve-held"
    assert "`" not in payload["advice"] and "--approve-held" in payload["advice"]


def test_a_recovered_notice_says_what_cleared_and_has_nothing_to_do() -> None:
    """recovered: the condition in the title, no 'What to do', no command."""
    notice = Notice(
        RECOVERED, Condition.FAILED, "c-9", SINCE, AT, "Cycles succeed again (reported since c-1)."
    )
    message = render(notice)
    assert message.subject == "[webex-provisioner] recovered: failed resolved"
    assert "What to do" not in message.text + message.markdown + message.html
    assert message.payload["command"] is None and message.payload["advice"] is None


@pytest.mark.parametrize("reminder", [False, True])
def test_a_reminder_says_the_condition_is_still_unresolved(reminder: bool) -> None:
    """A repeated notice says it is a reminder, in the subject and the payload."""
    message = render(
        Notice("failed", Condition.FAILED, "c", SINCE, AT, "A cycle failed: x", reminder=reminder)
    )
    assert ("still unresolved" in message.subject) is reminder and message.payload["reminder"] is reminder


def test_a_webex_message_always_fits_in_one_message() -> None:
    """However long the details (and their escaping), the markdown stays under Webex's limit,
    saying how many users it left out."""
    details = tuple(f"disable {'*' * 400}@example.com" for _ in range(20))
    markdown = render(Notice("held", Condition.HELD, "c", SINCE, AT, "x" * 600, details=details)).markdown
    assert len(markdown.encode("utf-8")) <= MAX_MARKDOWN_BYTES < 7439
    assert "more" in markdown
