"""Password hashing."""

from __future__ import annotations

from nba_mlops.auth.passwords import hash_password, verify_password


def test_hash_is_argon2_salted_and_verifies() -> None:
    first, second = hash_password("a long passphrase"), hash_password("a long passphrase")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert verify_password("a long passphrase", first)
    assert not verify_password("a long passphrase!", first)


def test_unknown_user_and_corrupt_hash_fail_without_raising() -> None:
    assert not verify_password("anything", None)
    assert not verify_password("anything", "not-a-hash")
