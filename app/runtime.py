"""What a process needs to serve: settings, the database engine and the key vault.

Built once by `grievance serve`, `grievance worker` and every CLI command, and by tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.db import create_db_engine, forbid_on_event_loop, read_only
from app.identity.keys import KeyFileError, KeyRing, UnwrapError
from app.identity.models import DataKey
from app.identity.vault import Vault
from app.settings import ConfigError, Settings
from app.timeutil import Clock


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    vault: Vault
    clock: Clock = field(default_factory=Clock)  # what `utcnow()` reads in this runtime

    def session(self) -> Session:
        """A session for work that writes (on SQLite its transactions take the write lock
        at BEGIN, so they serialise up front)."""
        return Session(self.engine, expire_on_commit=False)

    @cached_property
    def read_engine(self) -> Engine:
        return read_only(self.engine)

    def read_session(self) -> Session:
        """A session for work that only reads: no lock on SQLite, writes refused."""
        return Session(self.read_engine, expire_on_commit=False)


def _key_file_is_default(settings: Settings) -> bool:
    return "GRIEVANCE_MASTER_KEY_FILE" not in os.environ and settings.master_key_file == (
        settings.data_dir / "master.key"
    )


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> Runtime:
    """Open the key file (generating it on the embedded defaults) and the database engine."""
    if _key_file_is_default(settings):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
    try:
        keyring = KeyRing.load(settings.key_file, create=_key_file_is_default(settings))
    except KeyFileError as exc:
        raise ConfigError(str(exc)) from exc
    settings.check_production(key_was_generated=keyring.generated)
    if settings.is_production and not keyring.is_private():
        raise ConfigError(f"key file {settings.key_file} is readable by others; chmod 600 it")
    engine = engine or create_db_engine(settings.db_url)
    if settings.env == "test":
        forbid_on_event_loop(engine)
    return Runtime(settings=settings, engine=engine, vault=Vault(keyring), clock=clock or Clock())


def check_database(runtime: Runtime) -> None:
    """Fail with one clear line if the database cannot be reached."""
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(f"cannot reach the database: {reason}") from exc


def check_key_matches_database(runtime: Runtime) -> None:
    """A key file that cannot open the database's data keys is refused at start, not
    discovered case by case later."""
    with runtime.session() as session:
        key = session.exec(
            select(DataKey).where(col(DataKey.wrapped).is_not(None)).limit(1)
        ).first()
        if key is None:
            return
        try:
            assert key.wrapped is not None and key.kek_id is not None
            runtime.vault.keyring.unwrap(key.wrapped, kek_id=key.kek_id, key_id=str(key.id))
        except UnwrapError as exc:
            raise ConfigError(
                f"the key file {runtime.settings.key_file} does not open this database's "
                f"data: {exc}"
            ) from exc
