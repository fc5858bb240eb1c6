"""The data a fresh installation needs before it takes calls: prompts, tables, demo customers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from redis.asyncio import Redis

from ivr import store
from ivr.config import REPO_DIR, Settings, secret
from ivr.customers.demo import load_demo_customers
from ivr.prompts.build import build_prompts
from ivr.routing import Tables, load_tables, parse_tables
from ivr.stack.processes import LaunchError
from ivr.store import installation, users
from ivr.store import tables as table_versions
from ivr.web.accounts import hash_password

DEMO_CLOSURES = REPO_DIR / "routing" / "demo" / "closures.toml"


def prepare_data(
    settings: Settings, *, demo: bool = True, demo_closures: bool = False
) -> list[str]:
    """Build the prompts, publish the repository's tables unless some are published already
    (with the demo closure dates when asked), load the demo customers on a fresh installation
    unless told not to; one line of report per step."""
    tables = load_tables(settings.tables_dir)
    if demo_closures:
        tables = parse_tables(with_demo_closures(tables.files))
    report = build_prompts(settings, tables.tier_names)
    if report.failures:
        raise LaunchError("prompts could not be built:\n  " + "\n  ".join(report.failures))
    lines = [
        f"prompts: {report.built} built, {report.unchanged} unchanged "
        f"({report.seconds:.1f} s) in {settings.sounds_dir}"
    ]
    lines += asyncio.run(_load_redis_data(settings, tables, demo))
    return lines


async def _load_redis_data(settings: Settings, tables: Tables, demo: bool) -> list[str]:
    redis = store.connect(settings)
    try:
        lines = []
        active = await table_versions.active_tables(redis)
        if active is None:
            version = await table_versions.publish_tables(
                redis, dict(tables.files), "setup", f"initial tables from {settings.tables_dir}"
            )
            lines.append(f"tables: published {settings.tables_dir} as version {version}")
        else:
            lines.append(f"tables: version {active[0]} already active (left as it is)")
        lines += await _first_users(redis, settings)
        lines.append(await _demo_customers(redis, settings, tables, demo))
        return lines
    finally:
        await redis.aclose()


def with_demo_closures(files: Mapping[str, str]) -> dict[str, str]:
    """The bundle with the demo closure dates added to holidays.toml, marked as demo there."""
    demo = DEMO_CLOSURES.read_text(encoding="utf-8")
    return {**files, "holidays.toml": files["holidays.toml"].rstrip("\n") + "\n\n" + demo}


async def _demo_customers(redis: Redis, settings: Settings, tables: Tables, demo: bool) -> str:
    """Loaded on a fresh installation only (or never, when declined there): later set-ups and
    restarts leave the customers as the admins made them."""
    if not await installation.claim_demo_data_choice(redis, load=demo, now=datetime.now(UTC)):
        choice = await installation.demo_data_choice(redis)
        return f"demo customers: left as they are (first set-up: {choice})"
    if not demo:
        return "demo customers: none (this installation was set up without demo data)"
    try:
        loaded = await load_demo_customers(
            redis, pin_key=settings.pin_key, known_tiers=set(tables.tiers)
        )
    except BaseException:
        await installation.forget_demo_data_choice(redis)
        raise
    return f"demo customers: {len(loaded.created)} created, {len(loaded.updated)} updated"


async def _first_users(redis: Redis, settings: Settings) -> list[str]:
    """A fresh installation gets an admin and a desk user, with random passwords kept in the
    state folder's secrets; later runs leave the users alone."""
    if await users.list_users(redis):
        return ["web users: left as they are (`ivr users list`)"]
    lines = []
    for name, role in (("admin", "admin"), ("desk", "desk")):
        password = secret(settings, f"web-{name}-password")
        await users.save_user(redis, name, role, hash_password(password), now=datetime.now(UTC))
        lines.append(f"web users: created {name} ({role}), password {password}")
    return lines
