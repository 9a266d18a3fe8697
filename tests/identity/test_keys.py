"""The key file: generated safely, refused when broken, rotated while the service runs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlmodel import select

from app.audit.service import Actor
from app.cases import service as cases
from app.cases.models import Case
from app.identity.keys import KeyRing
from app.identity.models import DataKey
from app.identity.rotation import rotate
from app.runtime import Runtime, build_runtime, check_key_matches_database
from app.settings import ConfigError, Settings
from tests.factories import make_case


def test_generated_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    ring = KeyRing.load(path, create=True)
    assert ring.generated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not KeyRing.load(path, create=True).generated  # never overwritten


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not valid JSON"),
        (b'{"format": "other"}', "is not a grievance-desk-keys/1 key file"),
        (b'{"format": "grievance-desk-keys/1", "keks": {}}', "holds no key-encryption key"),
        (
            b'{"format": "grievance-desk-keys/1", "primary": "a", "keks": {"a": "!!"}}',
            "not valid base64",
        ),
    ],
)
def test_malformed_key_file_is_one_clear_error(
    settings: Settings, content: bytes, message: str
) -> None:
    settings.key_file.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        build_runtime(settings)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_explicit_key_file_is_refused(settings: Settings) -> None:
    settings.key_file.unlink()
    with pytest.raises(ConfigError, match="does not exist"):
        build_runtime(settings)


def test_wrong_key_file_for_database_is_refused(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    make_case(runtime)
    other = tmp_path / "other.key"
    KeyRing.load(other, create=True)
    wrong = settings.model_copy(update={"master_key_file": other})
    with pytest.raises(ConfigError, match="does not open this database"):
        check_key_matches_database(build_runtime(wrong, engine=runtime.engine))


def test_rotation_rewraps_every_key_online(runtime: Runtime, settings: Settings) -> None:
    created = [make_case(runtime, narrative=f"grievance {i}") for i in range(5)]
    # A second runtime stands for the running service, holding the old key file in memory.
    service = build_runtime(settings, engine=runtime.engine)
    old_primary = service.vault.keyring.primary_id

    new_kek, count = rotate(runtime, actor=Actor("cli"))
    assert count == 5
    assert new_kek != old_primary
    body = json.loads(settings.key_file.read_text())
    assert body["primary"] == new_kek and old_primary in body["keks"]
    with runtime.session() as session:
        assert {k.kek_id for k in session.exec(select(DataKey)).all()} == {new_kek}

    # The "running service" opens old data (keys now wrapped by a KEK it has never seen)...
    service.vault.forget_cached_keys()
    with service.session() as session:
        for i, original in enumerate(created):
            case = session.get(Case, original.id)
            assert case is not None
            assert cases.narrative(session, service.vault, case) == f"grievance {i}"
    # ...and wraps new data keys with the new KEK from then on.
    with service.session() as session:
        key = service.vault.new_data_key(session, purpose="case")
        assert key.kek_id == new_kek
