"""schemathesis against a live `grievance serve`: every /api/v1 operation and the provider
webhooks (unsigned here, so refused, as documented), all checks, a
bounded number of examples from a fixed seed, with an admin's token. Zero failures:
no 5xx, every status code, content type, header and body as the OpenAPI schema says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.runtime import Runtime
from tests.load import serve, service_env, set_up

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_the_api_answers_as_its_schema_says(runtime: Runtime, tmp_path: Path) -> None:
    # The test's database (SQLite, or PostgreSQL with GRIEVANCE_TEST_DATABASE_URL) and key;
    # GRIEVANCE_ENV=test, so blocking work on the event loop fails loudly. Twilio configured.
    env = service_env(runtime.settings.data_dir)
    env.update(
        GRIEVANCE_ENV="test",
        GRIEVANCE_DATABASE_URL=runtime.settings.db_url,
        GRIEVANCE_MASTER_KEY_FILE=str(runtime.settings.key_file),
    )
    # Meta and Vonage too: an unconfigured provider answers 503, which the checks count as
    # a failure.
    env.update(META_APP_SECRET="schemathesis-app-secret", META_VERIFY_TOKEN="verify-me")
    env.update(VONAGE_SIGNATURE_SECRET="schemathesis-vonage-signature-secret")
    with serve(env) as (url, _process):
        world = set_up(env, url)
        run = subprocess.run(
            [
                SCHEMATHESIS,
                "--config-file",
                str(CONFIG),
                "run",
                f"{url}/openapi.json",
                "--header",
                f"Authorization: Bearer {world.token}",
                "--include-path-regex",
                "^/(api/v1|channels)/",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "25",
                "--seed",
                "20261130",
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,  # its cache folder
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
