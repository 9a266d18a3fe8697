"""The `grievance` command line: serve, worker, and operators' tasks.

Every failure is one clear line on standard error and a non-zero exit code; every
command that writes does so in one transaction, so a failure leaves nothing half written.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

# Only what the parser needs is imported here: `grievance --help` and a mistyped command
# answer at once, and each command imports its own work (the database layer, the web app).
from app.accounts.roles import Role
from app.cases.categories import Category, Channel

if TYPE_CHECKING:
    from app.audit.service import Actor
    from app.runtime import Runtime


def _cli_actor() -> Actor:
    from app.audit.service import Actor

    return Actor("cli", os.environ.get("USER") or None)


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"grievance: error: {message} (see `grievance --help`)\n")


def _runtime(*, migrate_db: bool = False) -> Runtime:
    from app import migrate
    from app.runtime import build_runtime, check_database, check_key_matches_database
    from app.settings import ConfigError, get_settings

    runtime = build_runtime(get_settings())
    check_database(runtime)
    if migrate_db:
        migrate.upgrade_if_behind(runtime.engine)
    elif not migrate.is_current(runtime.engine):
        raise ConfigError("the database is not migrated; run `grievance db upgrade`")
    check_key_matches_database(runtime)
    if migrate_db and _workplaces_in_clear(runtime):
        # The reporter's workplace words were once kept in clear; sealing them needs the key
        # file, so it runs here rather than in the migration.
        from app.cases import service as cases

        with runtime.session() as session:
            cases.seal_workplace_texts(session, runtime.vault)
            session.commit()
    return runtime


def _workplaces_in_clear(runtime: Runtime) -> bool:
    """One cheap probe instead of importing the cases domain on every start: after the
    first sealing there is never anything left to seal."""
    from sqlalchemy import text

    with runtime.engine.connect() as conn:
        probe = "SELECT 1 FROM grievance_case WHERE workplace IS NOT NULL LIMIT 1"
        return conn.execute(text(probe)).first() is not None


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _fresh_metrics_dir(data_dir: Path, name: str) -> None:
    """A fresh, empty PROMETHEUS_MULTIPROC_DIR under the data dir for this server's (or
    worker's) processes, set in the environment they inherit; files left by an earlier
    run would add up. Called before anything imports prometheus_client, which reads the
    variable on import."""
    import shutil

    folder = data_dir / "metrics" / name
    if folder.exists():
        shutil.rmtree(folder)
    # Folders of workers that died (kill -9 leaves them) go too.
    for old in folder.parent.glob("worker-*"):
        pid = old.name.removeprefix("worker-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for level in (folder.parent, folder):
        level.mkdir(mode=0o700, exist_ok=True)  # like the data dir itself: owner only
    os.environ[MULTIPROC_ENV] = str(folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# commands ----------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from app.settings import get_settings

    settings = get_settings()
    if args.workers and args.workers > 1:
        # Before anything imports prometheus_client: the processes uvicorn starts inherit
        # the folder, and each scrape sums them all.
        _fresh_metrics_dir(settings.data_dir, f"serve-{args.port}")
    import uvicorn

    from app.asgi import IN_PROCESS_WORKER
    from app.logs import configure_logging

    configure_logging(settings.log_level)
    _runtime(migrate_db=True).engine.dispose()
    os.environ[IN_PROCESS_WORKER] = "0" if args.no_worker else "1"
    uvicorn.run(
        "app.asgi:serve_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    from app.settings import get_settings

    settings = get_settings()
    _fresh_metrics_dir(settings.data_dir, f"worker-{os.getpid()}")
    from app.logs import configure_logging
    from app.worker import Worker

    configure_logging(settings.log_level)
    runtime = _runtime()
    worker = Worker(runtime)
    from app.asgi import settle_heap

    settle_heap()
    # SIGTERM (systemd, docker stop) ends the loop after the round in progress.
    signal.signal(signal.SIGTERM, lambda _signo, _frame: worker.request_stop())
    with contextlib.suppress(KeyboardInterrupt):
        worker.run_forever()
    return 0


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from app import migrate

    runtime = _runtime(migrate_db=True)
    print(f"database at revision {migrate.current_revision(runtime.engine)}")
    return 0


def cmd_orgs_create(args: argparse.Namespace) -> int:
    from app.accounts import service as accounts

    runtime = _runtime()
    with runtime.session() as session:
        org = accounts.create_organisation(
            session, kind=args.kind, slug=args.slug, name=args.name, actor=_cli_actor()
        )
        if args.fallback:
            org.is_fallback = True
        if args.retention_days is not None:
            org.retention_days = args.retention_days
        session.commit()
    print(f"created {args.kind} {args.slug}")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Again: ") != first:
            raise UsageError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def cmd_users_create(args: argparse.Namespace) -> int:
    from app.accounts import service as accounts
    from app.accounts.totp import provisioning_uri

    runtime = _runtime()
    password = _read_password()
    with runtime.session() as session:
        user = accounts.create_user(
            session,
            email=args.email,
            role=args.role,
            password=password,
            org_slug=args.org,
            actor=_cli_actor(),
            is_lead=args.lead,
        )
        secret = None
        if args.role == Role.admin or args.totp:
            secret = accounts.enrol_totp(session, runtime.vault, user=user, actor=_cli_actor())
        session.commit()
    print(f"created {args.role} {user.email}")
    if secret:
        print("two-factor secret (add it to an authenticator app; shown once):")
        print(secret)
        print(provisioning_uri(secret, account=user.email))
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from app.accounts import service as accounts

    runtime = _runtime()
    with runtime.session() as session:
        token = accounts.create_api_token(session, email=args.email, actor=_cli_actor())
        session.commit()
    print("API token (shown once; store it safely):")
    print(token)
    return 0


def cmd_routing_add(args: argparse.Namespace) -> int:
    from app.accounts import service as accounts
    from app.errors import AppError
    from app.routing import service as routing

    runtime = _runtime()
    with runtime.session() as session:
        partner = accounts.organisation_by_slug(session, args.partner)
        if partner is None:
            raise AppError("no organisation with slug %(slug)s", slug=repr(args.partner))
        rule = routing.add_rule(
            session,
            partner=partner,
            countries=args.country or (),
            categories=args.category or (),
            languages=args.language or (),
            channels=args.channel or (),
            priority=args.priority,
            actor=_cli_actor(),
        )
        session.commit()
    print(f"added routing rule {rule.id} -> {args.partner} (priority {args.priority})")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from app.audit.service import verify as verify_audit
    from app.runtime import build_runtime, check_database
    from app.settings import get_settings

    expected = _chain_point(args.expect_head) if args.expect_head else None
    runtime = build_runtime(get_settings())
    check_database(runtime)
    with runtime.engine.connect() as conn:
        result = verify_audit(conn, expect=expected)
    if not result.ok:
        print(f"audit chain BROKEN: {result.problem}", file=sys.stderr)
        return 1
    print(f"audit chain intact: {result.checked} events; head {result.head_seq}:{result.head_hash}")
    return 0


def _days(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days (0 or more)")
    return int(value)


def _chain_point(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise UsageError("--expect-head takes SEQ:HASH as printed by `audit verify`")
    return int(seq), digest.lower()


def cmd_keys_rotate(_args: argparse.Namespace) -> int:
    from app.identity.rotation import rotate

    runtime = _runtime()
    kek_id, count = rotate(runtime, actor=_cli_actor())
    print(f"new key-encryption key {kek_id}; re-wrapped {count} data keys")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import app.models  # noqa: F401  (every table, for the foreign keys the export follows)
    from app.exports.commands import cmd_export as export

    if not args.out:
        raise UsageError("give --out FILE (or `export key`, `export verify FILE --key KEY`)")
    return export(args, _runtime(), _cli_actor())


def cmd_export_key(_args: argparse.Namespace) -> int:
    from app.exports.commands import cmd_export_key as export_key
    from app.settings import get_settings

    return export_key(get_settings().key_file)


def cmd_export_verify(args: argparse.Namespace) -> int:
    # Deliberately no settings, key file or database: an auditor runs this anywhere.
    from app.exports.commands import cmd_export_verify as export_verify

    return export_verify(args)


def cmd_retention_run(args: argparse.Namespace) -> int:
    import app.models  # noqa: F401  (every table, for the foreign keys the scan follows)
    from app.retention.jobs import run_retention

    outcome = run_retention(_runtime(), actor=_cli_actor(), dry_run=args.dry_run)
    for due in outcome.due if args.dry_run else outcome.shredded:
        print(f"{due.reference} closed {due.closed_at:%Y-%m-%d}, kept {due.days} days")
    if args.dry_run:
        print(f"{len(outcome.due)} cases are due for shredding (dry run: nothing changed)")
    else:
        print(f"shredded the content of {len(outcome.shredded)} cases")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.backup import backup_sqlite, sqlite_path
    from app.settings import get_settings

    source = sqlite_path(get_settings().db_url)
    size = backup_sqlite(source, Path(args.out))
    print(f"backed up {source} to {args.out} ({size} bytes); keep the key file apart from it")
    return 0


# parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="grievance", description="Grievance Desk")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def add(
        name: str,
        func: Callable[[argparse.Namespace], int],
        help_text: str,
        into: argparse._SubParsersAction[Parser] = sub,
    ) -> Parser:
        command = into.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(func=func)
        return command

    serve = add("serve", cmd_serve, "run the web service (and the worker, unless --no-worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not run the outbox sender and timers in this process",
    )
    add("worker", cmd_worker, "run the outbox sender and timers alone")

    db = sub.add_parser("db", help="database").add_subparsers(
        dest="db_command", required=True, parser_class=Parser
    )
    add("upgrade", cmd_db_upgrade, "apply migrations and exit", db)

    orgs = sub.add_parser("orgs", help="organisations").add_subparsers(
        dest="orgs_command", required=True, parser_class=Parser
    )
    oc = add("create", cmd_orgs_create, "create a monitoring partner or a buyer", orgs)
    oc.add_argument("--kind", required=True, choices=["partner", "buyer"])
    oc.add_argument("--slug", required=True)
    oc.add_argument("--name", required=True)
    oc.add_argument(
        "--fallback",
        action="store_true",
        help="a partner that receives cases no routing rule matches",
    )
    oc.add_argument(
        "--retention-days",
        type=_days,
        help="days after closure until a case's content is shredded (default 1095)",
    )

    users = sub.add_parser("users", help="staff users").add_subparsers(
        dest="users_command", required=True, parser_class=Parser
    )
    uc = add(
        "create", cmd_users_create, "create a user; the password is read from standard input", users
    )
    uc.add_argument("--email", required=True)
    uc.add_argument("--role", required=True, choices=[r.value for r in Role])
    uc.add_argument("--org")
    uc.add_argument("--lead", action="store_true", help="the partner's lead (gets escalations)")
    uc.add_argument("--totp", action="store_true", help="enrol two-factor (always for admins)")

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(
        dest="tokens_command", required=True, parser_class=Parser
    )
    tc = add("create", cmd_tokens_create, "create an API token, printed once", tokens)
    tc.add_argument("--email", required=True)

    rules = sub.add_parser("routing", help="routing rules").add_subparsers(
        dest="routing_command", required=True, parser_class=Parser
    )
    rc = add("add", cmd_routing_add, "add a routing rule", rules)
    rc.add_argument("--partner", required=True)
    rc.add_argument("--country", action="append", help="ISO 3166 alpha-2; repeatable")
    rc.add_argument("--category", action="append", choices=[c.value for c in Category])
    rc.add_argument("--language", action="append")
    rc.add_argument("--channel", action="append", choices=[c.value for c in Channel])
    rc.add_argument("--priority", type=int, default=100)

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=Parser
    )
    av = add("verify", cmd_audit_verify, "check the audit hash chain", audit)
    av.add_argument(
        "--expect-head",
        help="SEQ:HASH recorded earlier (a head printed here, or an export's export_event): "
        "that event must still be in the chain; catches events cut from the end",
    )

    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(
        dest="keys_command", required=True, parser_class=Parser
    )
    add("rotate", cmd_keys_rotate, "add a new key-encryption key and re-wrap data keys", keys)

    export = add("export", cmd_export, "write a signed export bundle (docs/export-format.md)")
    export.add_argument("--out", help="the bundle file to write")
    export.add_argument("--partner", help="only cases routed to this partner (slug)")
    export.add_argument("--from", dest="date_from", help="cases opened on or after YYYY-MM-DD")
    export.add_argument("--to", dest="date_to", help="cases opened on or before YYYY-MM-DD")
    export.add_argument("--case", action="append", help="a case reference; repeatable")
    export.add_argument(
        "--content", action="store_true", help="include narratives and messages (recorded)"
    )
    export_sub = export.add_subparsers(dest="export_command", parser_class=Parser)
    add("key", cmd_export_key, "print the Ed25519 public key that signs bundles", export_sub)
    ev = add("verify", cmd_export_verify, "check a bundle offline (no database)", export_sub)
    ev.add_argument("file")
    ev.add_argument("--key", required=True, help="the public key PEM file")

    retention = sub.add_parser("retention", help="retention").add_subparsers(
        dest="retention_command", required=True, parser_class=Parser
    )
    rr = add(
        "run", cmd_retention_run, "crypto-shred the content of cases past retention", retention
    )
    rr.add_argument("--dry-run", action="store_true", help="list what is due; change nothing")

    backup = add("backup", cmd_backup, "copy the embedded SQLite database, online")
    backup.add_argument("--out", required=True, help="the file to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError
    from sqlalchemy.exc import IntegrityError, OperationalError

    from app.errors import AppError
    from app.identity.keys import KeyFileError, UnwrapError
    from app.settings import ConfigError

    try:
        code: int = args.func(args)
        return code
    except (AppError, ConfigError, KeyFileError, UnwrapError, UsageError) as exc:
        message = exc.message if isinstance(exc, AppError) else str(exc)
        print(f"grievance: error: {message}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # a setting in the environment or .env is malformed
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem.get("loc", ())) or "a setting"
        print(f"grievance: error: {where}: {problem['msg']}", file=sys.stderr)
        return 1
    except IntegrityError:
        print(
            "grievance: error: that conflicts with existing data; nothing was written",
            file=sys.stderr,
        )
        return 1
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "database error"
        print(f"grievance: error: database: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
