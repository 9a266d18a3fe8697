"""Applying and checking Alembic migrations from the app.

Checking is cheap and imports no Alembic: `grievance serve` on a database that is already
current (every start but the first after an upgrade) reads one row and compares it with the
head revision ids, read from the scripts' source without executing them. Alembic itself, and
every migration script, is imported only when there is something to apply.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    ini = ROOT / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["configure_logger"] = False
    if engine is not None:
        config.attributes["url"] = engine.url.render_as_string(hide_password=False)
    return config


def upgrade(engine: Engine) -> None:
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def upgrade_if_behind(engine: Engine) -> bool:
    """Apply the migrations the database lacks; False (and no Alembic import) when current."""
    if is_current(engine):
        return False
    upgrade(engine)
    return True


def _declared(tree: ast.Module, name: str) -> object:
    """The literal value of a module-level `name = ...` or `name: T = ...`."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    raise ValueError(f"no literal {name} in migration script")


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The revisions no other script names as its parent. tests/test_migrations.py checks
    that this agrees with Alembic's own ScriptDirectory."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        tree = ast.parse(script.read_text(encoding="utf-8"), str(script))
        revision = _declared(tree, "revision")
        down = _declared(tree, "down_revision")
        assert isinstance(revision, str), script
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, (tuple, list)):
            parents.update(str(d) for d in down)
    return frozenset(revisions - parents)


def current_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return frozenset()
        rows = conn.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(str(row[0]) for row in rows)


def current_revision(engine: Engine) -> str:
    return ", ".join(sorted(current_revisions(engine))) or "none"


def is_current(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()
