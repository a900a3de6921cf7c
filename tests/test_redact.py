"""``errors.redact``: what every message passes through before a user or a log sees it."""

from __future__ import annotations

import pytest

from auterity_ai_step.errors import looks_like_secret, redact

# Built at run time so no key-shaped literal is committed.
OPENAI_KEY = "sk-" + "a1B2" * 6
HF_TOKEN = "hf_" + "Zz9" * 5


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Incorrect API key provided: {OPENAI_KEY}", OPENAI_KEY),
        (f"token {HF_TOKEN} refused", HF_TOKEN),
        ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678"),
        ("api_key=hunter2hunter2", "hunter2hunter2"),
        ("connection to postgresql://ledger:s3cret-pw@db:5432/x failed", "s3cret-pw"),
    ],
)
def test_secrets_are_masked_and_the_rest_kept(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "***" in masked
    assert looks_like_secret(text)


def test_a_url_keeps_its_user_host_and_at_sign() -> None:
    assert redact("postgresql://ledger:pw-1234@db/x") == "postgresql://ledger:***@db/x"
    assert redact("sqlite:////var/lib/ledger.db") == "sqlite:////var/lib/ledger.db"


def test_literal_secrets_are_masked_whatever_their_shape() -> None:
    assert redact("the key was plain-value-0000", ["plain-value-0000"]) == "the key was ***"


# -- a given key in the encodings providers and proxies echo ------------------------------

ENCODED_KEY = "sk-proj-" + "Xy7/Qz+9" * 4  # "/" and "+" so base64 and percent forms differ


def _b64(raw: bytes, urlsafe: bool = False) -> str:
    import base64

    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()


@pytest.mark.parametrize(
    "form",
    [
        ENCODED_KEY[::-1],
        " ".join(ENCODED_KEY),
        "  ".join(ENCODED_KEY[::-1]),
        "-".join(ENCODED_KEY),
        ", ".join(ENCODED_KEY),
        ENCODED_KEY.upper(),
        ENCODED_KEY.encode().hex(),
        ENCODED_KEY.encode().hex().upper(),
        __import__("urllib.parse").parse.quote(ENCODED_KEY, safe=""),
        *(_b64(b"x" * pad + ENCODED_KEY.encode()) for pad in range(3)),
        *(_b64(b"x" * pad + ENCODED_KEY.encode(), urlsafe=True) for pad in range(3)),
        _b64(b"user:" + ENCODED_KEY.encode() + b"\n"),
    ],
    ids=[
        "reversed",
        "spaced",
        "spaced-reversed",
        "dashed",
        "commas",
        "upper",
        "hex",
        "HEX",
        "percent",
        "base64-0",
        "base64-1",
        "base64-2",
        "base64url-0",
        "base64url-1",
        "base64url-2",
        "basic-auth",
    ],
)
def test_a_given_key_is_masked_in_its_encodings(form: str) -> None:
    masked = redact(f"provider said: <{form}> (request 42)", [ENCODED_KEY])
    assert "***" in masked
    assert masked.startswith("provider said: <") and masked.endswith("> (request 42)")
    # No run of 8 characters of the encoded form survives (base64 keeps at most the few
    # characters it shares between the key and its neighbours, like "user:").
    inner = masked.removeprefix("provider said: <").removesuffix("> (request 42)")
    assert not any(form[i : i + 8] in inner for i in range(len(form) - 7)), masked


def test_encoded_matching_leaves_other_text_alone() -> None:
    text = "Rate limit reached for gpt-4o-mini: Limit 3, Used 3. Please try again in 20s."
    assert redact(text, [ENCODED_KEY]) == text
    # A short literal is masked as is, never searched for in encodings (false positives).
    assert redact("abcd dcba a b c d", ["abcd"]) == "*** dcba a b c d"
