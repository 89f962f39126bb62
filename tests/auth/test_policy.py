"""Which passwords are refused, and what the refusal says."""

from __future__ import annotations

import pytest

from nba_mlops.auth.policy import password_problem
from nba_mlops.auth.usernames import username_key


def problem(password: str, username: str = "bob_p") -> str | None:
    return password_problem(password, username, min_length=8, min_score=2)


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("password", "common password"),
        ("12345678", "common password"),
        ("qwertyuiop", "easy to guess"),
        ("        ", "only spaces"),
        ("\t \n  \t  ", "only spaces"),
        ("bob_p", "at least 8"),
        ("bob_p1234", "easy to guess"),
        ("short", "at least 8"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, says: str) -> None:
    reason = problem(password)
    assert reason is not None and says in reason, reason


def test_the_username_itself_is_refused_in_any_case() -> None:
    for password in ("robert_paulson", "ROBERT_PAULSON", " Robert_Paulson "):
        assert problem(password, "robert_paulson") == "The password must not be the username"


@pytest.mark.parametrize(
    "password", ["correct horse battery", "Tr0ub4dor&3", "a long passphrase", "x7#Lq9!vB2"]
)
def test_strong_passwords_are_accepted(password: str) -> None:
    assert problem(password) is None


def test_a_very_long_password_is_judged_by_its_start() -> None:
    assert problem("correct horse battery " * 50) is None
    assert problem("password" + "a" * 2000) is not None


def test_score_zero_checks_only_length_and_username() -> None:
    assert password_problem("password", "bob_p", min_length=8, min_score=0) is None
    assert password_problem("bob_p123", "bob_p123", min_length=8, min_score=0) is not None


def test_username_keys_ignore_case_and_unicode_form() -> None:
    assert username_key("BOB_P") == username_key("bob_p") == "bob_p"
    assert username_key("\uff42\uff4f\uff42\uff3f\uff50") == "bob_p"  # full-width letters
    assert username_key("Stra\u00dfe") == username_key("STRASSE")
    assert username_key("alice") != username_key("alice2")
