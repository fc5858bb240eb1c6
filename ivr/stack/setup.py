"""The data a fresh installation needs before it takes calls: prompts, tables, demo customers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from redis.asyncio import Redis

from ivr import store
from ivr.config import Settings, secret
from ivr.customers.demo import load_demo_customers
from ivr.prompts.build import build_prompts
from ivr.routing import Tables, load_tables
from ivr.stack.processes import LaunchError
from ivr.store import tables as table_versions
from ivr.store import users
from ivr.web.accounts import hash_password


def prepare_data(settings: Settings, *, demo: bool = True) -> list[str]:
    """Build the prompts, publish the repository's tables unless some are published already,
    load the demo customers; one line of report per step."""
    tables = load_tables(settings.tables_dir)
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
        if demo:
            loaded = await load_demo_customers(
                redis, pin_key=settings.pin_key, known_tiers=set(tables.tiers)
            )
            lines.append(
                f"demo customers: {len(loaded.created)} created, {len(loaded.updated)} updated"
            )
        return lines
    finally:
        await redis.aclose()


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
