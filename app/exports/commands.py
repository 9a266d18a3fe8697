"""`grievance export`, `grievance export key` and `grievance export verify`."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.audit.service import Actor
from app.errors import AppError
from app.exports import service
from app.exports.verify import BundleError, verify_file
from app.runtime import Runtime
from app.timeutil import utcnow


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal; nothing at all when standard error is piped."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def write_atomically(path: Path, chunks: Iterator[bytes]) -> int:
    """Write to a temporary file beside `path` and rename it into place at the end, so a
    failed export never leaves a partial bundle under the expected name."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    size = 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def cmd_export(args: argparse.Namespace, runtime: Runtime, actor: Actor) -> int:
    out = Path(args.out)
    if not out.parent.is_dir():
        raise AppError("the folder %(path)s does not exist", path=out.parent)
    with runtime.session() as session:
        selection = service.select_cases(
            session,
            partner=args.partner,
            date_from=service.parse_day(args.date_from, "--from"),
            date_to=service.parse_day(args.date_to, "--to"),
            references=tuple(args.case or ()),
        )
        head = service.record_export(
            session, selection=selection, actor=actor, content=args.content
        )
        session.commit()
    export = service.Export(
        selection=selection,
        head=head,
        exported_by={"actor_kind": actor.kind, "actor_id": actor.id, "role": "operator"},
        content=args.content,
        exported_at=utcnow(),
    )
    with progress_bar("exporting audit events") as update:
        chunks = service.bundle(
            runtime.engine, runtime.vault, runtime.vault.keyring, export, progress=update
        )
        size = write_atomically(out, chunks)
    print(f"wrote {out} ({size} bytes); audit head {head.seq}:{head.hash}")
    return 0


def cmd_export_key(key_file: Path) -> int:
    from app.exports.signing import public_key_pem
    from app.identity.keys import KeyRing

    print(public_key_pem(KeyRing.load(key_file, create=False)), end="")
    return 0


def cmd_export_verify(args: argparse.Namespace) -> int:
    try:
        summary = verify_file(Path(args.file), Path(args.key))
    except BundleError as exc:
        print(f"export bundle NOT valid: {exc}", file=sys.stderr)
        return 1
    print(
        f"export bundle valid: {summary.cases} cases, {summary.events} events, "
        f"{summary.links} links in {len(summary.segments)} chain segments; "
        f"audit head {summary.audit_head}"
        + ("; includes narratives and messages" if summary.content else "")
    )
    return 0
