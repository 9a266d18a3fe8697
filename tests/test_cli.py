"""The `grievance` command line, run as a real process: clear errors, nothing half written."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from app.runtime import Runtime
from app.settings import Settings

GRIEVANCE = str(Path(sys.executable).with_name("grievance"))


@pytest.fixture
def cli_env(settings: Settings, runtime: Runtime) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIEVANCE_", "TWILIO_"))}
    env.update(
        GRIEVANCE_DATABASE_URL=settings.db_url,
        GRIEVANCE_MASTER_KEY_FILE=str(settings.key_file),
        GRIEVANCE_DATA_DIR=str(settings.data_dir),
    )
    return env


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GRIEVANCE, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def create_monitor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(
        env,
        *("users", "create", "--email", "m@awaj.example", "--role", "monitor", "--org", "awaj"),
        stdin="a long enough passphrase\n",
    )


def one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0], lines[0]


def test_operator_workflow(cli_env: dict[str, str]) -> None:
    assert run(cli_env, "db", "upgrade").returncode == 0
    assert (
        run(
            cli_env,
            "orgs",
            "create",
            "--kind",
            "partner",
            "--slug",
            "awaj",
            "--name",
            "Awaj Foundation",
        ).returncode
        == 0
    )
    one_line_error(
        run(cli_env, "orgs", "create", "--kind", "partner", "--slug", "awaj", "--name", "Again"),
        "already exists",
    )
    made = create_monitor(cli_env)
    assert made.returncode == 0, made.stderr
    one_line_error(
        run(
            cli_env,
            "users",
            "create",
            "--email",
            "x@awaj.example",
            "--role",
            "monitor",
            "--org",
            "awaj",
            stdin="short\n",
        ),
        "at least 12 characters",
    )
    one_line_error(
        create_monitor(cli_env),
        "already exists",
    )
    admin = run(
        cli_env,
        "users",
        "create",
        "--email",
        "root@x.example",
        "--role",
        "admin",
        stdin="a long enough passphrase\n",
    )
    assert admin.returncode == 0 and "otpauth://totp/" in admin.stdout
    token = run(cli_env, "tokens", "create", "--email", "m@awaj.example")
    assert token.returncode == 0
    assert token.stdout.strip().splitlines()[-1].startswith("gd_")
    rule = run(
        cli_env,
        "routing",
        "add",
        "--partner",
        "awaj",
        "--country",
        "BD",
        "--country",
        "MY",
        "--category",
        "wages",
        "--priority",
        "5",
    )
    assert rule.returncode == 0, rule.stderr
    one_line_error(
        run(cli_env, "routing", "add", "--partner", "awaj", "--country", "BGD"),
        "not an ISO 3166 alpha-2",
    )
    one_line_error(run(cli_env, "routing", "add", "--partner", "nobody"), "no organisation")
    assert run(cli_env, "keys", "rotate").returncode == 0
    verified = run(cli_env, "audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_bad_invocations(cli_env: dict[str, str], tmp_path: Path) -> None:
    unknown = run(cli_env, "orgs", "create", "--bogus")
    assert unknown.returncode == 2
    assert "unrecognized arguments" in unknown.stderr or "required" in unknown.stderr
    broken_key = tmp_path / "broken.key"
    broken_key.write_text("{oops")
    one_line_error(
        run({**cli_env, "GRIEVANCE_MASTER_KEY_FILE": str(broken_key)}, "db", "upgrade"),
        "not valid JSON",
    )
    one_line_error(
        run({**cli_env, "GRIEVANCE_MASTER_KEY_FILE": str(tmp_path / "none.key")}, "db", "upgrade"),
        "does not exist",
    )
    one_line_error(
        run(
            {
                **cli_env,
                "GRIEVANCE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
            },
            "db",
            "upgrade",
        ),
        "cannot reach the database",
    )


def test_audit_verify_on_copies(
    cli_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    if not settings.db_url.startswith("sqlite"):
        pytest.skip("file copies are a SQLite matter; tests/audit covers PostgreSQL")
    run(cli_env, "orgs", "create", "--kind", "partner", "--slug", "awaj", "--name", "A")
    run(cli_env, "orgs", "create", "--kind", "buyer", "--slug", "acme", "--name", "B")
    create_monitor(cli_env)
    source = settings.db_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def copy_with(sql: str | None) -> dict[str, str]:
        target = tmp_path / f"copy{len(list(tmp_path.iterdir()))}.db"
        # Copied by another process, as an operator would: opening and closing the live file
        # here would drop this process's POSIX locks on it (SQLite's WAL depends on them).
        subprocess.run(["cp", source, str(target)], check=True)
        if sql:
            with closing(sqlite3.connect(target)) as conn:
                conn.execute(sql)
                conn.commit()
        return {**cli_env, "GRIEVANCE_DATABASE_URL": f"sqlite:///{target}"}

    assert run(copy_with(None), "audit", "verify").returncode == 0
    tampered = {
        "UPDATE audit_event SET data = '{}' WHERE seq = 2": "event 2",
        "DELETE FROM audit_event WHERE seq = 1": "event 1",
        "DELETE FROM audit_event WHERE seq = 3": "event 3",
        "INSERT INTO audit_event VALUES (4, '2026-01-01T00:00:00.000000Z', 'cli', NULL, "
        "'x', NULL, '{}', 'a', 'b')": "event 4",
    }
    for sql, fragment in tampered.items():
        result = run(copy_with(sql), "audit", "verify")
        one_line_error(result, fragment)

    # Cutting the last event and moving the head back with it fools the chain alone; a head
    # recorded earlier (or an export's export_event) catches it.
    intact = run(copy_with(None), "audit", "verify")
    head = intact.stdout.strip().rsplit(" ", 1)[-1]
    seq = int(head.split(":")[0])
    cut = (
        f"DELETE FROM audit_event WHERE seq = {seq}; "
        f"UPDATE audit_head SET seq = {seq - 1}, "
        f"hash = (SELECT hash FROM audit_event WHERE seq = {seq - 1})"
    )

    def copy_with_script(script: str) -> dict[str, str]:
        env = copy_with(None)
        with closing(
            sqlite3.connect(env["GRIEVANCE_DATABASE_URL"].removeprefix("sqlite:///"))
        ) as c:
            c.executescript(script)
        return env

    truncated = copy_with_script(cut)
    assert run(truncated, "audit", "verify").returncode == 0
    one_line_error(run(truncated, "audit", "verify", "--expect-head", head), f"event {seq} is gone")


def test_audit_verify_expect_head(cli_env: dict[str, str]) -> None:
    run(cli_env, "orgs", "create", "--kind", "partner", "--slug", "awaj", "--name", "A")
    first = run(cli_env, "audit", "verify")
    assert first.returncode == 0, first.stderr
    head = first.stdout.strip().rsplit(" ", 1)[-1]
    run(cli_env, "orgs", "create", "--kind", "buyer", "--slug", "acme", "--name", "B")
    later = run(cli_env, "audit", "verify", "--expect-head", head)
    assert later.returncode == 0, later.stderr  # the chain grew past it: still there
    assert later.stdout.strip().rsplit(" ", 1)[-1] != head
    seq = head.split(":")[0]
    one_line_error(
        run(cli_env, "audit", "verify", "--expect-head", f"{seq}:{'0' * 64}"),
        f"event {seq} has hash",
    )
    one_line_error(
        run(cli_env, "audit", "verify", "--expect-head", f"999999:{'0' * 64}"),
        "event 999999 is gone",
    )
    one_line_error(run(cli_env, "audit", "verify", "--expect-head", "nonsense"), "SEQ:HASH")
