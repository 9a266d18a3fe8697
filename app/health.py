"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import migrate
from app.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# A write that changes nothing, committed: a read-only database (a standby, a file or a
# volume mounted read-only, a full disk) answers reads but would lose every report.
# The audit head is one row every instance has; holding its lock this briefly is harmless.
_WRITE_PROBE = text("UPDATE audit_head SET seq = seq WHERE id = 1")


@router.get(
    "/readyz", summary="The database is reachable, takes a write and its migrations are current"
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = migrate.is_current(runtime.engine)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)
    if not current:
        return JSONResponse({"status": "unavailable", "reason": "migrations not applied"}, 503)
    try:
        with runtime.engine.begin() as conn:
            conn.execute(_WRITE_PROBE)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "reason": "database is read-only"}, 503)
    return JSONResponse({"status": "ready"})
