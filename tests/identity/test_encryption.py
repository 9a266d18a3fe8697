"""Encryption at rest: fields bound to their row, corrupt data refused, keys shreddable,
and no identity or grievance text anywhere in the raw database bytes."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.audit.service import Actor
from app.cases import service as cases
from app.cases.models import Case
from app.identity import service as identity
from app.identity.models import Reporter
from app.identity.vault import DecryptionError, KeyShreddedError
from app.runtime import Runtime
from tests.factories import make_case, make_org, make_user

PHONE = "+8801712345678"
WA_ID = "60123456789"
NAME = "Rahima Khatun"
CONTACT = "rahima.khatun@example.net"
NARRATIVE = "The supervisor locked the fire exit on the fourth floor every night."
MESSAGE = "Thank you, we will visit the factory next week."
REPLY = "Please come on Friday when the night shift changes."


def test_roundtrip_and_binding(runtime: Runtime) -> None:
    vault = runtime.vault
    with runtime.session() as session:
        key = vault.new_data_key(session, purpose="case")
        session.flush()
        row = uuid.uuid4()
        blob = vault.encrypt(
            session, key_id=key.id, table="t", row_id=row, column="c", plaintext="কারখানা"
        )
        assert (
            vault.decrypt(session, key_id=key.id, table="t", row_id=row, column="c", blob=blob)
            == "কারখানা"
        )
        vault.forget_cached_keys()  # unwrap through the key file again
        assert (
            vault.decrypt(session, key_id=key.id, table="t", row_id=row, column="c", blob=blob)
            == "কারখানা"
        )
        # The same ciphertext moved to another row or column does not open.
        with pytest.raises(DecryptionError):
            vault.decrypt(
                session, key_id=key.id, table="t", row_id=uuid.uuid4(), column="c", blob=blob
            )
        with pytest.raises(DecryptionError):
            vault.decrypt(session, key_id=key.id, table="t", row_id=row, column="d", blob=blob)
        corrupt = blob[:-1] + bytes([blob[-1] ^ 1])
        with pytest.raises(DecryptionError):
            vault.decrypt(session, key_id=key.id, table="t", row_id=row, column="c", blob=corrupt)
        with pytest.raises(DecryptionError):
            vault.decrypt(session, key_id=key.id, table="t", row_id=row, column="c", blob=b"x")


def test_swapped_narratives_fail_loudly_in_that_record_only(runtime: Runtime) -> None:
    first = make_case(runtime, narrative="first grievance")
    second = make_case(runtime, narrative="second grievance")
    with runtime.engine.begin() as conn:
        blob = conn.execute(
            text("SELECT narrative_enc FROM grievance_case WHERE id = :i"),
            {"i": first.id.hex if runtime.engine.dialect.name == "sqlite" else first.id},
        ).scalar_one()
    with runtime.session() as session:
        victim = session.get(Case, second.id)
        assert victim is not None
        victim.narrative_enc = blob
        session.commit()
    with runtime.session() as session:
        untouched = session.get(Case, first.id)
        victim = session.get(Case, second.id)
        assert untouched is not None and victim is not None
        assert cases.narrative(session, runtime.vault, untouched) == "first grievance"
        with pytest.raises(DecryptionError):
            cases.narrative(session, runtime.vault, victim)


def test_blind_index_finds_returning_sender(runtime: Runtime) -> None:
    with runtime.session() as session:
        reporter, created = identity.find_or_create_reporter(
            session, runtime.vault, channel="sms", address=PHONE, country="BD"
        )
        session.commit()
        assert created
        again, created_again = identity.find_or_create_reporter(
            session, runtime.vault, channel="sms", address=PHONE
        )
        assert not created_again and again.id == reporter.id
        assert reporter.address_index and PHONE not in reporter.address_index
        other, created_other = identity.find_or_create_reporter(
            session, runtime.vault, channel="whatsapp", address=PHONE
        )
        assert created_other and other.id != reporter.id


def test_reveal_is_audited_and_shredding_is_final(runtime: Runtime) -> None:
    with runtime.session() as session:
        reporter = identity.create_reporter(
            session,
            runtime.vault,
            channel="whatsapp",
            address="+" + WA_ID,
            profile_name=NAME,
            contact=CONTACT,
        )
        session.commit()
        shown = identity.reveal_identity(
            session,
            runtime.vault,
            reporter_id=reporter.id,
            actor=Actor("user", "u1"),
            reason="court order 12/2026",
        )
        assert shown.profile_name == NAME and shown.contact == CONTACT
        events = (
            session.execute(text("SELECT action FROM audit_event ORDER BY seq")).scalars().all()
        )
        assert "identity.revealed" in events
        blob = reporter.profile_name_enc
        key_id = reporter.data_key_id
        identity.shred_reporter(session, runtime.vault, reporter=reporter, actor=Actor("cli"))
        session.commit()
        runtime.vault.forget_cached_keys()
        assert blob is not None
        with pytest.raises(KeyShreddedError):
            runtime.vault.decrypt(
                session,
                key_id=key_id,
                table="reporter",
                row_id=reporter.id,
                column="profile_name",
                blob=blob,
            )


def _fill_with_secrets(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    monitor = make_user(runtime, email="m@awaj.example", role="monitor", org="awaj")
    with runtime.session() as session:
        sms = identity.create_reporter(
            session, runtime.vault, channel="sms", address=PHONE, country="BD"
        )
        wa = identity.create_reporter(
            session,
            runtime.vault,
            channel="whatsapp",
            address="+" + WA_ID,
            profile_name=NAME,
            contact=CONTACT,
        )
        session.flush()
        case = make_case(runtime, narrative=NARRATIVE, channel="sms", reporter=sms, session=session)
        make_case(
            runtime,
            narrative=NARRATIVE + " (WhatsApp)",
            channel="whatsapp",
            reporter=wa,
            session=session,
        )
        cases.add_reporter_message(session, runtime.vault, case=case, body=REPLY, channel="sms")
        author = session.merge(monitor)
        cases.send_to_reporter(session, runtime.vault, case=case, author=author, body=MESSAGE)
        session.commit()
        assert session.get(Reporter, sms.id) is not None


# The reporter's own words about their workplace can name a line or a person: sealed too.
WORKPLACE_WORDS = "Star Garments Ltd"
SECRETS = [PHONE, PHONE[1:], WA_ID, NAME, CONTACT, NARRATIVE, MESSAGE, REPLY, WORKPLACE_WORDS]


def _assert_clean(raw: bytes) -> None:
    for secret in SECRETS:
        for encoded in (secret.encode("utf-8"), secret.encode("utf-16-le")):
            assert encoded not in raw, f"{secret!r} found in clear"


def test_database_bytes_hold_no_identity_or_text(runtime: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _fill_with_secrets(runtime)
    with runtime.session() as session:
        reference = session.exec(select(Case.reference)).first()
    assert reference is not None
    url = runtime.engine.url
    if url.get_backend_name() == "sqlite":
        raw_conn = runtime.engine.raw_connection()
        try:  # outside any transaction, so the WAL is folded into the main file
            raw_conn.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw_conn.close()
        path = str(url.database)
        # The bytes are read by another process: opening and closing the live files here
        # would drop this process's POSIX locks on them, and the next SQLite process to close
        # would take itself for the last one and delete the WAL under the pool's feet.
        files = [p for p in (path, path + "-wal", path + "-shm") if Path(p).exists()]
        raw = subprocess.run(["cat", *files], capture_output=True, check=True).stdout
        assert reference.encode() in raw  # queryable fields are in clear: the search works
        _assert_clean(raw)
    else:
        if shutil.which("pg_dump") is None:
            pytest.skip("pg_dump is not installed")
        dump = subprocess.run(
            [
                "pg_dump",
                "--no-owner",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                str(url.database),
            ],
            check=True,
            capture_output=True,
        ).stdout
        assert reference.encode() in dump  # the dump really holds the rows
        _assert_clean(dump)
