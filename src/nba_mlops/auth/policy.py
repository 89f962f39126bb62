"""Which passwords an account may have: long enough, not the username, not a common one.

Strength is judged by zxcvbn, which ships lists of common passwords, names and words and
estimates how many guesses a password needs; nothing is fetched at run time. A password
must reach ``min_score`` on its 0-4 scale (2: about a million guesses or more).
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from nba_mlops.auth.usernames import username_key

# zxcvbn refuses longer inputs (its matching grows fast with length); a password this
# long is judged by its start, which must be strong on its own.
_JUDGED_LENGTH = 72


def password_problem(
    password: str, username: str, *, min_length: int, min_score: int
) -> str | None:
    """Why ``password`` is refused for ``username``, or None when it is accepted."""
    if not password.strip():
        return "The password must not be only spaces"
    if len(password) < min_length:
        return f"String should have at least {min_length} characters"
    if username and username_key(password.strip()) == username_key(username):
        return "The password must not be the username"
    if min_score <= 0:
        return None
    verdict = zxcvbn(password[:_JUDGED_LENGTH], user_inputs=[username])
    if int(verdict["score"]) >= min_score:
        return None
    feedback = verdict.get("feedback") or {}
    warning = str(feedback.get("warning") or "").strip()
    if warning:
        return f"The password is too easy to guess: {warning.rstrip('.')}"
    return "The password is too easy to guess: add another word or two, uncommon ones"
