"""Password hashing: the event server's scrypt rows, bcrypt rows, garbage, long and odd input."""

from __future__ import annotations

import base64
import hashlib
import unicodedata

import bcrypt
import pytest

from remotelab.auth import passwords
from remotelab.auth.passwords import (
    DUMMY_HASH,
    PasswordNotAccepted,
    dummy_verify,
    hash_password,
    verify_password,
)
from remotelab.errors import InputError

FAST = 4  # bcrypt cost for tests; production default is 12


def event_server_row(password: str, salt: str) -> str:
    """``_password`` as the Open Event server writes it (flask-scrypt, written out by hand)."""
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt.encode("utf-8"), n=16384, r=8, p=1, dklen=64
    )
    return base64.b64encode(digest).decode()


# Any base64 text of 64 bytes works as a salt; this one is fixed so the test is reproducible.
EVENT_SALT = base64.b64encode(bytes(range(64))).decode()


def test_scrypt_primitive_matches_rfc_7914_with_the_event_server_parameters() -> None:
    # RFC 7914 section 12, the vector whose parameters are exactly flask-scrypt's defaults.
    expected = bytes.fromhex(
        "7023bdcb3afd7348461c06cd81fd38eb"
        "fda8fbba904f8e3ea9b543f6545da1f2"
        "d5432955613f0fcf62d49705242a9af9"
        "e61e85dc0d651e40dfcf017b45575887"
    )
    got = hashlib.scrypt(
        b"pleaseletmein",
        salt=b"SodiumChloride",
        n=passwords.SCRYPT_N,
        r=passwords.SCRYPT_R,
        p=passwords.SCRYPT_P,
        dklen=passwords.SCRYPT_DKLEN,
    )
    assert got == expected


def test_event_server_scrypt_row_verifies() -> None:
    row = event_server_row("correct horse", EVENT_SALT)
    assert len(row) == 88
    assert verify_password("correct horse", row, EVENT_SALT) is True
    assert verify_password("correct horsE", row, EVENT_SALT) is False
    assert verify_password("correct horse", row, EVENT_SALT[:-2] + "A=") is False


def test_the_salt_text_is_the_salt_not_its_decoded_bytes() -> None:
    decoded_salt_row = base64.b64encode(
        hashlib.scrypt(b"pw", salt=base64.b64decode(EVENT_SALT), n=16384, r=8, p=1, dklen=64)
    ).decode()
    assert verify_password("pw", decoded_salt_row, EVENT_SALT) is False
    assert verify_password("pw", event_server_row("pw", EVENT_SALT), EVENT_SALT) is True


def test_hash_password_scrypt_writes_the_event_server_row() -> None:
    stored, salt = hash_password("s3cret pass", "scrypt")
    assert salt is not None
    assert len(base64.b64decode(salt, validate=True)) == 64
    assert len(salt) == 88
    assert stored == event_server_row("s3cret pass", salt)
    assert verify_password("s3cret pass", stored, salt)
    stored2, salt2 = hash_password("s3cret pass", "scrypt")
    assert salt2 != salt and stored2 != stored


def test_bcrypt_round_trip() -> None:
    stored, salt = hash_password("hunter22", "bcrypt", bcrypt_rounds=FAST)
    assert salt is None
    assert stored.startswith("$2b$04$") and len(stored) == 60
    assert verify_password("hunter22", stored, None) is True
    assert verify_password("hunter23", stored, None) is False
    # The salt column is ignored for bcrypt rows.
    assert verify_password("hunter22", stored, "whatever") is True


@pytest.mark.parametrize("prefix", ["$2a$", "$2y$"])
def test_other_bcrypt_prefixes_verify(prefix: str) -> None:
    stored = bcrypt.hashpw(b"pw-from-elsewhere", bcrypt.gensalt(FAST)).decode()
    assert verify_password("pw-from-elsewhere", prefix + stored[4:], None) is True
    assert verify_password("other", prefix + stored[4:], None) is False


def test_bcrypt_refuses_passwords_over_72_bytes_at_hashing() -> None:
    hash_password("x" * 72, "bcrypt", bcrypt_rounds=FAST)
    hash_password("€" * 24, "bcrypt", bcrypt_rounds=FAST)  # 72 bytes in UTF-8
    with pytest.raises(PasswordNotAccepted) as info:
        hash_password("x" * 73, "bcrypt", bcrypt_rounds=FAST)
    assert info.value.message == "Password is too long (at most 72 bytes in UTF-8)"
    assert isinstance(info.value, InputError)
    with pytest.raises(PasswordNotAccepted):
        hash_password("€" * 25, "bcrypt", bcrypt_rounds=FAST)


def test_long_password_against_bcrypt_row_is_false_never_an_error() -> None:
    exact, _ = hash_password("y" * 72, "bcrypt", bcrypt_rounds=FAST)
    assert verify_password("y" * 72, exact, None) is True
    # bcrypt itself would accept this (it reads 72 bytes) or raise (bcrypt 5): we say no.
    assert verify_password("y" * 72 + "z", exact, None) is False
    assert verify_password("y" * 100_000, exact, None) is False
    short, _ = hash_password("short", "bcrypt", bcrypt_rounds=FAST)
    assert verify_password("short" + "!" * 200, short, None) is False


def test_long_password_with_scrypt() -> None:
    long = "ü" * 50_000
    stored, salt = hash_password(long, "scrypt")
    assert verify_password(long, stored, salt) is True
    assert verify_password(long[:-1], stored, salt) is False


def test_bcrypt_refuses_nul_but_scrypt_keeps_it() -> None:
    with pytest.raises(PasswordNotAccepted, match="NUL"):
        hash_password("a\x00b", "bcrypt", bcrypt_rounds=FAST)
    stored, salt = hash_password("a\x00b", "scrypt")
    assert verify_password("a\x00b", stored, salt) is True
    assert verify_password("a", stored, salt) is False


@pytest.mark.parametrize("scheme", ["bcrypt", "scrypt"])
def test_unicode_passwords_are_not_normalised(scheme: passwords.Scheme) -> None:
    nfc = unicodedata.normalize("NFC", "pässwörd ✓ 密码 🔑")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    stored, salt = hash_password(nfc, scheme, bcrypt_rounds=FAST)
    assert verify_password(nfc, stored, salt) is True
    assert verify_password(nfd, stored, salt) is False


def test_unencodable_password() -> None:
    lone_surrogate = "pw\ud800"
    schemes: tuple[passwords.Scheme, ...] = ("bcrypt", "scrypt")
    for scheme in schemes:
        with pytest.raises(PasswordNotAccepted, match="cannot be encoded"):
            hash_password(lone_surrogate, scheme, bcrypt_rounds=FAST)
    b_stored, _ = hash_password("pw", "bcrypt", bcrypt_rounds=FAST)
    s_stored, s_salt = hash_password("pw", "scrypt")
    assert verify_password(lone_surrogate, b_stored, None) is False
    assert verify_password(lone_surrogate, s_stored, s_salt) is False


SCRYPT_ROW = event_server_row("pw", EVENT_SALT)


@pytest.mark.parametrize(
    ("stored", "salt"),
    [
        (None, None),
        (None, EVENT_SALT),
        ("", EVENT_SALT),
        (SCRYPT_ROW, None),  # scrypt row that lost its salt
        (SCRYPT_ROW, ""),
        ("not a hash at all", EVENT_SALT),
        ("é" * 88, EVENT_SALT),
        ("pw\ud800", EVENT_SALT),
        ("$2b$", None),
        ("$2b$04$short", None),
        ("$2b$04$" + "é" * 53, None),
        ("$2b$xx$" + "a" * 53, None),
        ("$2b$04$" + "!" * 53, None),
        ("$2b$31$" + "a" * 53, None),  # cost 31 would take days: refused, not computed
        (12345, EVENT_SALT),
        (b"$2b$04$bytes", None),
        (SCRYPT_ROW, 42),
    ],
)
def test_garbage_rows_are_false(stored: object, salt: object) -> None:
    assert verify_password("pw", stored, salt) is False  # type: ignore[arg-type]


def test_garbage_passwords_are_false() -> None:
    assert verify_password(None, SCRYPT_ROW, EVENT_SALT) is False  # type: ignore[arg-type]
    assert verify_password("", SCRYPT_ROW, EVENT_SALT) is False


def test_bcrypt_cost_above_the_cap_is_refused() -> None:
    stored = bcrypt.hashpw(b"pw", bcrypt.gensalt(5)).decode()
    assert verify_password("pw", stored, None) is True
    assert verify_password("pw", stored, None, max_bcrypt_rounds=4) is False


def test_hash_password_argument_errors() -> None:
    with pytest.raises(ValueError, match="unknown password scheme"):
        hash_password("pw", "md5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bcrypt_rounds"):
        hash_password("pw", "bcrypt", bcrypt_rounds=3)


def test_dummy_hash_is_a_default_cost_bcrypt_row() -> None:
    assert DUMMY_HASH.startswith("$2b$12$") and len(DUMMY_HASH) == 60
    bcrypt.checkpw(b"probe", DUMMY_HASH.encode())  # parses: a real check's work is done


def test_dummy_verify_does_a_real_scrypt_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    real = hashlib.scrypt

    def spy(password: bytes, **kwargs: object) -> bytes:
        calls.append(kwargs)
        return real(password, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", spy)
    assert dummy_verify("anything", "scrypt") is False
    assert len(calls) == 1
    assert (calls[0]["n"], calls[0]["r"], calls[0]["p"], calls[0]["dklen"]) == (16384, 8, 1, 64)


def test_dummy_verify_does_a_real_bcrypt_check_at_the_given_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bytes] = []
    real = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        seen.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    assert dummy_verify("anything", "bcrypt", bcrypt_rounds=FAST) is False
    assert dummy_verify("x" * 500, "bcrypt", bcrypt_rounds=FAST) is False  # long: same work
    assert len(seen) == 2
    assert all(h.startswith(b"$2b$04$") for h in seen)
