"""The ``remotelab`` command: ``serve``, ``agent``, ``init-db``, ``create-user``,
``send-test-mail``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from collections.abc import Sequence

from remotelab.config import Settings, unknown_variables
from remotelab.errors import RemotelabError
from remotelab.serving import check_workers, hypercorn_config, migrate, supervise

__all__ = ["build_parser", "hypercorn_config", "main"]

log = logging.getLogger("remotelab")


def _settings(args: argparse.Namespace) -> Settings:
    for name in unknown_variables(os.environ):
        print(
            f"remotelab: warning: {name} names no setting (see docs/reference/settings.md)",
            file=sys.stderr,
        )
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        instance_path=getattr(args, "instance", None),
        device=getattr(args, "device", None),
        database_url=getattr(args, "database_url", None),
        emulator_bench=getattr(args, "bench", None),
        nats_agent_name=getattr(args, "name", None),
        workers=None if getattr(args, "workers", None) is None else str(args.workers),
    ).with_instance_defaults()


async def _serve(settings: Settings) -> None:
    from hypercorn.asyncio import serve

    from remotelab.app import create_app, shutdown_trigger

    config = hypercorn_config(
        settings.server.host, settings.server.port, access_log=settings.server.access_log
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    print(f"remotelab serving on http://{settings.server.host}:{settings.server.port}", flush=True)
    await serve(app, config, shutdown_trigger=lambda: shutdown_trigger(app, stop))


async def _agent(settings: Settings) -> None:
    from remotelab.cluster.agent import agent_name, run

    logging.basicConfig(level=settings.server.log_level.upper())
    name = agent_name(settings.nats, settings.nats.agent_name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, name, stop)


async def _init_db(settings: Settings) -> None:
    revision = await migrate(settings)
    print(f"database ready at schema revision {revision}")


async def _create_user(settings: Settings, args: argparse.Namespace) -> None:
    from remotelab.auth.accounts import Accounts
    from remotelab.auth.delivery import MailQueue
    from remotelab.auth.mailer import open_transport
    from remotelab.auth.roles import Role
    from remotelab.storage.database import Database

    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat: "):
            raise RemotelabError("the passwords differ")
    db = Database(
        settings.storage.database_url,
        accounts=settings.storage.accounts,
        sqlite_synchronous=settings.storage.sqlite_synchronous,
    )
    mail = MailQueue(open_transport(settings.mail, settings.server.instance_path), settings.mail)
    try:
        async with db.startup_lock():
            await db.migrate()
        accounts = Accounts(settings, db, mail)
        user = await accounts.create_account(
            email=args.email,
            password=password,
            first_name=args.first_name,
            last_name=args.last_name,
            role=Role(args.role),
            verified=args.verified,
        )
    finally:
        await mail.close()
        await db.close()
    verified = " (email verified)" if user.is_verified else ""
    print(f"created user {user.id} <{user.email}> with role {user.role.value}{verified}")


async def _send_test_mail(settings: Settings, to: str) -> None:
    """One try, no queue: the answer of the server is what the operator wants to see."""
    from remotelab.auth.mailer import open_transport
    from remotelab.auth.messages import check_mail
    from remotelab.errors import MailError

    transport = open_transport(settings.mail, settings.server.instance_path)
    print(f"sending a test mail to {to} via the {transport.describe()}", flush=True)
    try:
        await transport.deliver(check_mail(to=to, lab_name=settings.mail.lab_name))
    except MailError as exc:
        kind = "temporary" if exc.temporary else "permanent"
        raise RemotelabError(
            f"the test mail was not sent ({kind} failure): {exc.message}"
        ) from None
    if settings.mail.smtp() is None:
        print("written to the outbox: set REMOTELAB_MAIL_URL to send mail for real")
    else:
        print(f"sent: the server took the test mail for {to}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="remotelab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--instance", help="instance folder (REMOTELAB_INSTANCE_PATH)")
        p.add_argument("--database-url", help="SQLAlchemy URL (REMOTELAB_DATABASE_URL)")

    serve = sub.add_parser(
        "serve", help="serve the lab with Hypercorn (several workers only over NATS)"
    )
    common(serve)
    serve.add_argument("--host", help="bind address (REMOTELAB_HOST)")
    serve.add_argument("--port", type=int, help="port (REMOTELAB_PORT)")
    serve.add_argument(
        "--device",
        choices=["emulator", "pslab", "auto"],
        help="instrument backend (REMOTELAB_DEVICE)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="front processes on the port; more than 1 needs REMOTELAB_NATS_URL "
        "(REMOTELAB_WORKERS)",
    )

    agent = sub.add_parser(
        "agent",
        help="serve one device to the web fronts over NATS (REMOTELAB_NATS_URL; "
        "docs/reference/deploy.md)",
    )
    agent.add_argument("--instance", help="instance folder (REMOTELAB_INSTANCE_PATH)")
    agent.add_argument(
        "--device",
        choices=["emulator", "pslab", "auto"],
        help="instrument backend (REMOTELAB_DEVICE)",
    )
    agent.add_argument("--bench", help="the emulator's bench file (REMOTELAB_EMULATOR_BENCH)")
    agent.add_argument(
        "--name", help="the name the device registers under (REMOTELAB_NATS_AGENT_NAME)"
    )

    init = sub.add_parser("init-db", help="create or upgrade the database schema")
    common(init)

    create = sub.add_parser("create-user", help="create an account")
    common(create)
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=["student", "teacher", "admin"], default="student")
    create.add_argument("--first-name")
    create.add_argument("--last-name")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (else prompt)",
    )
    create.add_argument(
        "--verified",
        action="store_true",
        help="mark the email as verified (no verification mail is sent by create-user)",
    )

    test_mail = sub.add_parser(
        "send-test-mail", help="send one mail with the REMOTELAB_MAIL_* settings, to check them"
    )
    common(test_mail)
    test_mail.add_argument("--to", required=True, help="address to send the test mail to")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.command == "serve":
            check_workers(settings)
            if settings.server.workers > 1:
                return supervise(settings)
            asyncio.run(_serve(settings))
        elif args.command == "agent":
            asyncio.run(_agent(settings))
        elif args.command == "init-db":
            asyncio.run(_init_db(settings))
        elif args.command == "create-user":
            asyncio.run(_create_user(settings, args))
        elif args.command == "send-test-mail":
            asyncio.run(_send_test_mail(settings, args.to))
    except RemotelabError as exc:
        print(f"remotelab: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
