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
