"""`grievance backup` while the service writes, restored into an empty folder."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.db import create_db_engine, is_sqlite
from app.main import create_app
from app.runtime import Runtime, build_runtime
from app.settings import Settings
from tests.cases.world import NARRATIVE, build
from tests.factories import auth, make_case
from tests.test_cli import cli_env, one_line_error, run

__all__ = ["cli_env"]


def test_a_backup_restores_into_an_empty_folder(
    runtime: Runtime, settings: Settings, cli_env: dict[str, str], tmp_path: Path
) -> None:
    if not is_sqlite(settings.db_url):
        one_line_error(run(cli_env, "backup", "--out", str(tmp_path / "b.db")), "pg_dump")
        return
    w = build(runtime)
    stop = threading.Event()

    def keep_writing() -> None:  # the service goes on while the copy is taken
        while not stop.is_set():
            make_case(runtime)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        out = tmp_path / "backup.db"
        made = run(cli_env, "backup", "--out", str(out))
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stderr
    assert out.stat().st_mode & 0o777 == 0o600

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(out, restored / "grievance.db")
    shutil.copy(settings.key_file, restored / "master.key")
    again = Settings(
        GRIEVANCE_ENV="test",
        GRIEVANCE_DATA_DIR=restored,
        GRIEVANCE_DATABASE_URL=f"sqlite:///{restored / 'grievance.db'}",
        GRIEVANCE_MASTER_KEY_FILE=restored / "master.key",
    )
    env = dict(cli_env, GRIEVANCE_DATABASE_URL=again.db_url, GRIEVANCE_DATA_DIR=str(restored))
    env["GRIEVANCE_MASTER_KEY_FILE"] = str(restored / "master.key")
    checked = run(env, "audit", "verify")
    assert checked.returncode == 0, checked.stderr
    engine = create_db_engine(again.db_url)
    try:
        with TestClient(create_app(runtime=build_runtime(again, engine=engine))) as client:
            answer = client.get(f"/api/v1/cases/{w.case_a.id}", headers=auth(w.tokens["admin"]))
        assert answer.status_code == 200, answer.text
        assert answer.json()["narrative"] == NARRATIVE
    finally:
        engine.dispose()


def test_backup_refuses_a_missing_folder(
    runtime: Runtime, settings: Settings, cli_env: dict[str, str], tmp_path: Path
) -> None:
    if not is_sqlite(settings.db_url):
        pytest.skip("SQLite only")
    one_line_error(run(cli_env, "backup", "--out", str(tmp_path / "no" / "b.db")), "does not exist")
