"""The mapping turns a directory user into the desired Webex user, or says why it cannot."""

from __future__ import annotations

import re

import pytest

from webex_provisioner.model import DirectoryUser
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.rules.mapping import MappingRule, compile_mapping, desired_user


def entry(**attrs: str | tuple[str, ...]) -> DirectoryUser:
    values = {k.lower(): (v,) if isinstance(v, str) else v for k, v in attrs.items()}
    return DirectoryUser(anchor="uuid-1", dn="uid=jdoe,ou=people,dc=example,dc=com", attributes=values)


def mapped(
    rules: dict[str, object], user: DirectoryUser, **kwargs: object
) -> tuple[dict[str, str], str | None]:
    compiled = compile_mapping(
        {k: MappingRule.model_validate(MappingRule.parse(v)) for k, v in rules.items()}
    )
    result = desired_user(user, compiled, manager_ids=kwargs.get("manager_ids", {}))  # type: ignore[arg-type]
    return dict(result.attributes), result.problem


def test_attribute_rules_copy_values_and_default_external_id_to_anchor() -> None:
    """Plain rules copy the first value; externalId defaults to the anchor."""
    attrs, problem = mapped({"email": "mail", "title": "title"}, entry(mail="j@example.com", title=" Boss "))
    assert problem is None
    assert attrs == {"email": "j@example.com", "title": "Boss", "externalId": "uuid-1"}


def test_template_with_fallback_and_filters() -> None:
    """Templates see attributes by name and the project's filters (local_part, cn_from_dn, upper)."""
    rules = {
        "email": "mail",
        "displayName": "{{ displayName or givenName ~ ' ' ~ sn }}",
        "nickName": "{{ mail | local_part | upper }}",
        "department": "{{ dn | cn_from_dn }}",
    }
    attrs, problem = mapped(rules, entry(mail="j@example.com", givenName="Jane", sn="Doe"))
    assert problem is None
    assert attrs["displayName"] == "Jane Doe"
    assert attrs["nickName"] == "J"
    assert attrs["department"] == "jdoe"


def test_empty_values_are_absent_and_defaults_apply() -> None:
    """An empty or missing value is absent; a rule's default fills it."""
    rules = {"email": "mail", "title": "title", "city": {"from": "l", "default": "Paris"}}
    attrs, _ = mapped(rules, entry(mail="j@example.com", title="   "))
    assert "title" not in attrs
    assert attrs["city"] == "Paris"


def test_case_and_constant_value_rules() -> None:
    """case: lower lowers the value; value: sets a constant."""
    rules = {"email": {"from": "mail", "case": "lower"}, "preferredLanguage": {"value": "en_US"}}
    attrs, _ = mapped(rules, entry(mail="J.Doe@Example.COM"))
    assert attrs["email"] == "j.doe@example.com"
    assert attrs["preferredLanguage"] == "en_US"


def test_missing_email_is_a_problem() -> None:
    """A user without the e-mail attribute cannot be mapped and says so."""
    _, problem = mapped({"email": "mail"}, entry(givenName="x"))
    assert problem is not None and "email" in problem


def test_invalid_email_is_a_problem() -> None:
    """A value that is not an e-mail address is rejected (Webex requires userName to be one)."""
    _, problem = mapped({"email": "mail"}, entry(mail="not-an-address"))
    assert problem is not None and "not an e-mail" in problem


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("ann\x00@example.com", "U+0000"),
        ("ann\u200b@example.com", "U+200B (ZERO WIDTH SPACE)"),
        ("ann@example.com\u202egro", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("\ufeffann@example.com", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
        ("ann@exa\u2028mple.com", "U+2028 (LINE SEPARATOR)"),
    ],
)
def test_control_and_format_characters_in_an_email_are_a_problem(value: str, named: str) -> None:
    """An e-mail holding a control or format character (NUL, zero-width space, right-to-left
    override, ...) is rejected naming the character; the message shows it escaped, never raw."""
    _, problem = mapped({"email": "mail"}, entry(mail=value))
    assert problem is not None and named in problem and "control or format character" in problem
    assert repr(value) in problem and value not in problem


def test_unicode_letters_in_an_email_are_accepted() -> None:
    """Letters of any script are not control characters: an internationalized address maps."""
    attrs, problem = mapped({"email": "mail"}, entry(mail="jörg.müller@bücher.example"))
    assert problem is None and attrs["email"] == "jörg.müller@bücher.example"


def test_value_over_the_webex_limit_is_a_problem() -> None:
    """A value longer than Webex accepts is reported with its length and the limit."""
    _, problem = mapped({"email": "mail", "city": "l"}, entry(mail="j@example.com", l="x" * 129))
    assert problem == "city: value is 129 characters, Webex accepts at most 128"


def test_multi_valued_attribute_is_a_problem_unless_the_rule_says_how() -> None:
    """Several values where one is expected is reported; multi: first or join resolves it."""
    user = entry(mail="j@example.com", title=("A", "B"))
    _, problem = mapped({"email": "mail", "title": "title"}, user)
    assert problem is not None and "multi: first" in problem
    attrs, problem = mapped({"email": "mail", "title": {"from": "title", "multi": "join"}}, user)
    assert problem is None and attrs["title"] == "A, B"


def test_undecodable_attribute_is_a_problem() -> None:
    """A mapped attribute holding binary data is reported, never sent."""
    user = DirectoryUser("u", "uid=u,dc=x", {"mail": ("u@example.com",)}, undecodable=frozenset({"title"}))
    _, problem = mapped({"email": "mail", "title": "title"}, user)
    assert problem is not None and "binary" in problem


def test_manager_dn_becomes_the_managers_webex_id() -> None:
    """manager maps a DN (any case or spacing) to the Webex id of the linked manager."""
    user = entry(mail="j@example.com", manager="UID=Boss, OU=People,DC=example,DC=com")
    attrs, problem = mapped(
        {"email": "mail", "manager": "manager"},
        user,
        manager_ids={normalize_dn("uid=boss,ou=people,dc=example,dc=com"): "webex-boss"},
    )
    assert problem is None and attrs["manager"] == "webex-boss"


def test_sandbox_blocks_attribute_access_in_templates() -> None:
    """A template cannot reach Python internals through the sandbox."""
    rules = {"email": "mail", "title": "{{ mail.__class__.__mro__ }}"}
    _, problem = mapped(rules, entry(mail="j@example.com"))
    assert problem is not None and "template failed" in problem


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ({"firstName": "givenName"}, "email is required"),
        ({"email": "mail", "shoeSize": "x"}, "unknown Webex attribute"),
        ({"email": "mail", "title": "{{ unclosed"}, "invalid template"),
    ],
)
def test_bad_rules_are_rejected_with_the_key(rules: dict[str, str], fragment: str) -> None:
    """compile_mapping names the bad key and the fix."""
    with pytest.raises(ValueError, match=fragment):
        compile_mapping({k: MappingRule.model_validate(MappingRule.parse(v)) for k, v in rules.items()})


def test_avatar_is_a_url_from_a_template() -> None:
    """avatar takes the URL a template makes from directory values (Webex fetches the photo)."""
    rules = {"email": "mail", "avatar": "https://photos.example.com/{{ uid }}.jpg"}
    attrs, problem = mapped(rules, entry(mail="j@example.com", uid="jdoe"))
    assert problem is None and attrs["avatar"] == "https://photos.example.com/jdoe.jpg"


@pytest.mark.parametrize("value", ["photos/jdoe.jpg", "ftp://photos.example.com/jdoe.jpg", "https://", " "])
def test_an_avatar_that_is_not_an_http_url_leaves_the_user_alone(value: str) -> None:
    """A directory value that is not an http(s) URL is reported for the user, never sent."""
    attrs, problem = mapped(
        {"email": "mail", "avatar": "labeledURI"}, entry(mail="j@example.com", labeledURI=value)
    )
    if value.strip():
        assert problem is not None and "avatar" in problem and "http(s) URL" in problem
    else:  # no value: no avatar, and no problem
        assert problem is None and "avatar" not in attrs


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("jpegPhoto", "jpegPhoto holds the photo itself"),
        ({"from": "thumbnailPhoto", "default": "https://x.example.com/a.jpg"}, "thumbnailPhoto holds"),
        ("data:{{ jpegPhoto }}", "jpegPhoto holds the photo itself"),
        ({"value": "ftp://photos.example.com/x.jpg"}, "is not an http(s) URL"),
        ("photos.example.com/{{ uid }}.jpg", "makes no http(s) URL"),
    ],
)
def test_an_avatar_rule_that_cannot_make_a_url_is_a_configuration_error(rule: object, fragment: str) -> None:
    """A binary photo attribute mapped to avatar, or a rule that cannot make an http(s) URL, is
    refused naming avatar and saying how to serve the photos (Webex takes only URLs)."""
    with pytest.raises(ValueError, match=re.escape(fragment)) as raised:
        compile_mapping(
            {
                "email": MappingRule(source="mail"),
                "avatar": MappingRule.model_validate(MappingRule.parse(rule)),
            }
        )
    assert (
        "avatar:" in str(raised.value)
        and "no upload" in str(raised.value)
        and "https://" in str(raised.value)
    )
