"""Environment settings and bundled resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from auterity_ai_step import resources, settings


def test_policy_path_env_or_bundled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTERITY_AI_POLICY", raising=False)
    assert settings.policy_path() == resources.bundled_policy_path()
    assert settings.policy_path().name == "model_policies.yml"
    monkeypatch.setenv("AUTERITY_AI_POLICY", "  ")
    assert settings.policy_path() == resources.bundled_policy_path()
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(tmp_path / "p.yml"))
    assert settings.policy_path() == tmp_path / "p.yml"


def test_database_url_env_or_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTERITY_AI_DATABASE_URL", "postgresql+psycopg://db/x")
    assert settings.database_url() == "postgresql+psycopg://db/x"
    monkeypatch.delenv("AUTERITY_AI_DATABASE_URL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = tmp_path / "data" / "auterity-ai-step" / "ledger.db"
    assert settings.default_database_path() == expected
    assert expected.parent.is_dir()
    assert settings.database_url() == f"sqlite:///{expected}"


def test_bundled_files_are_found() -> None:
    assert '"title": "AI step"' in resources.schema_text()
    assert resources.bundled_policy_path().is_file()
    assert resources.example_path("legacy_node.step.json").is_file()


@pytest.mark.parametrize("name", ["missing.yml", "../README.md", ".hidden", "a/b.yml"])
def test_unknown_or_unsafe_example_names(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        resources.example_path(name)
