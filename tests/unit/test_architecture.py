"""The layering rules of `ivr/`, checked on every module's imports (README, "Layout").

- The routing core (`ivr.routing`) is pure: it imports nothing of ours but itself, and no I/O
  library (no Redis, no HTTP, no subprocess).
- The ARI plumbing (`ivr.ari`) knows nothing of customers, tiers or records: only itself.
- Only `ivr.store` talks to Redis: elsewhere, `redis` is imported for the client's type
  (`redis.asyncio.Redis`, handed to store functions) and its exceptions, nothing more.
- Command-line entry points live in `ivr.commands`; no other package imports them.
- `routing`, `store`, `ari` and `web` never import a call flow, a step, the conversation or
  the worker.
- Call flows and their steps speak through the conversation: they never import the ARI
  client, the web console or a command.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.config import REPO_DIR

IVR = REPO_DIR / "ivr"
IO_LIBRARIES = ("redis", "aiohttp", "subprocess", "socket", "urllib", "http", "asyncio")
REDIS_ALLOWED_OUTSIDE_STORE = ("redis.asyncio.Redis", "redis.exceptions")
FLOW_LAYERS = ("ivr.flows", "ivr.steps", "ivr.conversation", "ivr.worker")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str) -> Iterator[str]:
    """Every name a module imports, absolute and dotted (`from a import b` gives `a.b`)."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield from (f"{base}.{alias.name}" for alias in node.names)


def within(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def violations(module: str, imported: list[str]) -> list[str]:
    """The rules `module` breaks by importing `imported`."""
    found = []
    ours = [name for name in imported if within(name, "ivr")]
    if within(module, "ivr.routing"):
        found += [
            f"the pure routing core imports {n}" for n in ours if not within(n, "ivr.routing")
        ]
        found += [
            f"the pure routing core imports the I/O library {n}"
            for n in imported
            if within(n, *IO_LIBRARIES)
        ]
    if within(module, "ivr.ari"):
        found += [f"the ARI plumbing imports {n}" for n in ours if not within(n, "ivr.ari")]
    if not within(module, "ivr.store"):
        found += [
            f"only ivr.store talks to Redis, but this imports {n}"
            for n in imported
            if within(n, "redis") and not within(n, *REDIS_ALLOWED_OUTSIDE_STORE)
        ]
    if not within(module, "ivr.commands", "ivr.cli"):
        found += [f"imports the command module {n}" for n in ours if within(n, "ivr.commands")]
    if within(module, "ivr.routing", "ivr.store", "ivr.ari", "ivr.web"):
        found += [f"imports the call flow's {n}" for n in ours if within(n, *FLOW_LAYERS)]
    if within(module, "ivr.flows", "ivr.steps"):
        found += [
            f"a call flow imports {n}"
            for n in ours
            if within(n, "ivr.ari.client", "ivr.ari.app", "ivr.web", "ivr.commands")
        ]
    return found


def all_modules() -> list[tuple[str, list[str]]]:
    return [
        (module_name(path), list(imports(path.read_text(), module_name(path))))
        for path in sorted(IVR.rglob("*.py"))
    ]


@pytest.mark.parametrize(("module", "imported"), all_modules(), ids=lambda v: str(v))
def test_every_module_keeps_to_the_layering_rules(module: str, imported: list[str]):
    assert violations(module, imported) == []


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("ivr.routing.decide", "from ivr.store import customers", "routing core imports"),
        ("ivr.routing.tables", "import redis.asyncio", "I/O library"),
        ("ivr.ari.call", "from ivr.customers.model import Customer", "ARI plumbing imports"),
        ("ivr.web.admin_calls", "from ivr.commands.calls import list_records", "command"),
        ("ivr.steps.identify", "from redis.asyncio.client import Pipeline", "talks to Redis"),
        ("ivr.store.calls", "from ivr.flows.hotline import handle_call", "call flow's"),
        ("ivr.steps.connect", "from ivr.ari.client import AriClient", "a call flow imports"),
        ("ivr.steps.connect", "from ..web import desk", "a call flow imports"),
    ],
)
def test_a_wrong_import_is_caught(module: str, source: str, broken: str):
    found = violations(module, list(imports(source, module)))
    assert found and broken in found[0]


def test_the_rules_see_every_package():
    packages = {module.split(".")[1] for module, _ in all_modules() if "." in module}
    assert {"routing", "store", "ari", "web", "flows", "steps", "commands", "worker"} <= packages
