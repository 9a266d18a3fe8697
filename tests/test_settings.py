"""Settings refuse, in production, what is only safe on a laptop."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.identity.keys import KeyRing
from app.runtime import build_runtime
from app.settings import ConfigError, Settings


def _settings(tmp_path: Path, **values: object) -> Settings:
    base: dict[str, object] = {
        "GRIEVANCE_DATA_DIR": tmp_path,
        "GRIEVANCE_MASTER_KEY_FILE": tmp_path / "k.key",
        "GRIEVANCE_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
    }
    base.update(values)
    return Settings(**base)  # type: ignore[arg-type]


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in (
        "GRIEVANCE_DATABASE_URL",
        "GRIEVANCE_DATA_DIR",
        "GRIEVANCE_MASTER_KEY_FILE",
        "GRIEVANCE_PUBLIC_URL",
        "GRIEVANCE_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.db_url == "sqlite:///grievance-data/grievance.db"
    assert settings.key_file == Path("grievance-data/master.key")
    assert settings.public_url == "http://127.0.0.1:8000"
    runtime = build_runtime(settings)
    assert runtime.vault.keyring.generated
    assert (tmp_path / "grievance-data" / "master.key").exists()


def test_production_refuses_unsafe_defaults(tmp_path: Path) -> None:
    KeyRing.load(tmp_path / "k.key", create=True)
    with pytest.raises(ConfigError) as caught:
        build_runtime(_settings(tmp_path, GRIEVANCE_ENV="production", TWILIO_AUTH_TOKEN="changeme"))
    message = str(caught.value)
    assert "https://" in message and "TWILIO_AUTH_TOKEN is a placeholder" in message


def test_production_refuses_a_key_generated_on_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIEVANCE_MASTER_KEY_FILE", raising=False)
    settings = Settings(
        GRIEVANCE_ENV="production",
        GRIEVANCE_DATA_DIR=tmp_path / "d",
        GRIEVANCE_PUBLIC_URL="https://grievance.example.org",
    )
    with pytest.raises(ConfigError, match="generated on this start"):
        build_runtime(settings)


def test_production_accepts_provisioned_keys(tmp_path: Path) -> None:
    KeyRing.load(tmp_path / "k.key", create=True)
    build_runtime(
        _settings(
            tmp_path,
            GRIEVANCE_ENV="production",
            GRIEVANCE_PUBLIC_URL="https://grievance.example.org",
        )
    )
