"""`ivr web serve` and `ivr users add|list|remove`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from ivr.clock import clock_from_env
from ivr.commands.store_command import store_command
from ivr.config import Settings
from ivr.routing import TablesError, load_tables
from ivr.store import users
from ivr.web.accounts import check_password, check_user_name, hash_password
from ivr.web.serve import serve

DEFAULT_ZONE = ZoneInfo("Europe/Zurich")


def register(subparsers: argparse._SubParsersAction) -> None:
    web_parser = subparsers.add_parser("web", help="the admin console and the desk view")
    commands = web_parser.add_subparsers(dest="web_command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="serve the console on IVR_WEB_HOST:IVR_WEB_PORT (127.0.0.1:8080)"
    )
    serve.add_argument(
        "--secure-cookies",
        action="store_true",
        default=os.environ.get("IVR_WEB_SECURE_COOKIES") == "1",
        help="mark the session cookie Secure: for a console served over HTTPS by a proxy "
        "(also IVR_WEB_SECURE_COOKIES=1); off by default for plain HTTP on loopback",
    )
    serve.set_defaults(run=run_serve)

    users_parser = subparsers.add_parser("users", help="users of the web console")
    user_commands = users_parser.add_subparsers(
        dest="users_command", required=True, metavar="COMMAND"
    )
    add = user_commands.add_parser("add", help="create a user; asks for the password")
    add.add_argument("name")
    add.add_argument("--role", choices=users.ROLES, required=True)
    add.add_argument("--technician", help="for the technician role: their id in the rota")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    add.add_argument(
        "--replace",
        action="store_true",
        help="replace an existing user's role and password (ends its sessions)",
    )
    add.set_defaults(run=run_add)

    listing = user_commands.add_parser("list", help="the users and their roles")
    listing.set_defaults(run=store_command(list_all))

    remove = user_commands.add_parser("remove", help="remove a user and end its sessions")
    remove.add_argument("name")
    remove.set_defaults(run=store_command(remove_one))


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=os.environ.get("IVR_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = Settings.from_env()
    clock = clock_from_env(os.environ, _zone(settings))
    try:
        asyncio.run(serve(settings, clock, secure_cookies=args.secure_cookies))
    except OSError as error:
        print(
            f"ivr web serve: cannot listen on {settings.web_host}:{settings.web_port}: {error}",
            file=sys.stderr,
        )
        return 1
    return 0


def run_add(args: argparse.Namespace) -> int:
    try:
        check_user_name(args.name)
        password = _read_password(args.password_stdin)
        check_password(password)
    except ValueError as error:
        print(f"ivr users add: {error}", file=sys.stderr)
        return 2
    password_hash = hash_password(password)

    async def save(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
        now = clock_from_env(os.environ, DEFAULT_ZONE)()
        if not args.replace and await users.get_user(redis, args.name) is not None:
            print(
                f"ivr users add: user {args.name!r} exists; --replace to change it", file=sys.stderr
            )
            return 1
        try:
            created = await users.save_user(
                redis, args.name, args.role, password_hash, now=now, technician=args.technician
            )
        except ValueError as error:
            print(f"ivr users add: {error}", file=sys.stderr)
            return 2
        print(f"{'created' if created else 'replaced'} {args.role} user {args.name}")
        return 0

    return store_command(save)(args)


async def list_all(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    found = await users.list_users(redis)
    for user in found:
        role = f"{user.role} ({user.technician})" if user.technician else user.role
        print(f"{user.name:<24} {role:<6} created {user.created_at:%Y-%m-%d %H:%M} UTC")
    if not found:
        print("no users: create the first admin with `ivr users add NAME --role admin`")
    return 0


async def remove_one(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    try:
        await users.remove_user(redis, args.name)
    except users.UnknownUser as error:
        print(f"ivr users remove: {error}", file=sys.stderr)
        return 1
    print(f"removed user {args.name}; its sessions have ended")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ValueError("no password on stdin")
        return line.rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def _zone(settings: Settings) -> ZoneInfo:
    """The tables' zone, for reading IVR_NOW without an offset."""
    try:
        return load_tables(settings.tables_dir).zone
    except TablesError:
        return DEFAULT_ZONE
