"""`grievance export`, `export key` and `export verify` as real processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app.runtime import Runtime
from tests.cases.world import build
from tests.test_cli import GRIEVANCE, cli_env, one_line_error, run

__all__ = ["cli_env"]


def test_export_then_verify_in_an_empty_folder(
    runtime: Runtime, cli_env: dict[str, str], tmp_path: Path
) -> None:
    w = build(runtime)
    out = tmp_path / "bundle.jsonl"
    made = run(cli_env, "export", "--out", str(out), "--partner", "awaj")
    assert made.returncode == 0, made.stderr
    assert made.stderr == ""  # piped: no progress bar
    assert out.stat().st_mode & 0o777 == 0o600
    head = made.stdout.split("audit head ")[1].strip()
    verified = run(cli_env, "audit", "verify", "--expect-head", head)
    assert verified.returncode == 0, verified.stderr

    key = run(cli_env, "export", "key")
    assert key.returncode == 0 and key.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    empty = tmp_path / "auditor"
    empty.mkdir()
    (empty / "service.pem").write_text(key.stdout)
    (empty / "bundle.jsonl").write_bytes(out.read_bytes())
    bare = {k: v for k, v in os.environ.items() if not k.startswith("GRIEVANCE_")}

    def verify(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GRIEVANCE, "export", "verify", name, "--key", "service.pem"],
            cwd=empty,
            env=bare,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    good = verify("bundle.jsonl")
    assert good.returncode == 0, good.stderr
    assert "2 cases" in good.stdout and head in good.stdout
    assert sorted(p.name for p in empty.iterdir()) == ["bundle.jsonl", "service.pem"]

    data = out.read_bytes()
    at = data.index(w.case_a.reference.encode())
    other = b"Y" if data[at : at + 1] == b"X" else b"X"  # a reference may begin with X
    (empty / "bundle.jsonl").write_bytes(data[:at] + other + data[at + 1 :])
    one_line_error(verify("bundle.jsonl"), "does not match its signed digest")
    one_line_error(verify("missing.jsonl"), "cannot read the bundle")


def test_export_refuses_bad_selections(
    runtime: Runtime, cli_env: dict[str, str], tmp_path: Path
) -> None:
    build(runtime)
    out = str(tmp_path / "b.jsonl")
    one_line_error(run(cli_env, "export", "--out", out, "--partner", "nobody"), "no partner")
    one_line_error(run(cli_env, "export", "--out", out, "--from", "yesterday"), "YYYY-MM-DD")
    one_line_error(run(cli_env, "export"), "--out")
    assert not (tmp_path / "b.jsonl").exists()
    cases = run(cli_env, "export", "--out", out, "--case", "ZZZZ-ZZZZ")
    one_line_error(cases, "no case with reference ZZZZ-ZZZZ")
