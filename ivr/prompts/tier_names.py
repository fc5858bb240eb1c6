"""The tiers' display names, read from the routing tables for the `tier/<id>` prompts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ivr.prompts.catalogue import PROMPT_ID, CatalogueError

TIERS_FILE = "tiers.toml"


def tier_names_from_tables(tables_dir: Path) -> dict[str, str]:
    """Tier id -> display name from `tiers.toml` (`[[tier]]` tables with `id` and `name`)."""
    path = tables_dir / TIERS_FILE
    try:
        tiers = tomllib.loads(path.read_text(encoding="utf-8")).get("tier", [])
    except OSError as error:
        raise CatalogueError([f"cannot read tier names from {path}: {error.strerror}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError([f"{path} is not valid TOML: {error}"]) from None
    if not isinstance(tiers, list):
        raise CatalogueError([f"{path}: 'tier' must be a list of tables ([[tier]])"])
    names = {}
    for number, tier in enumerate(tiers, start=1):
        tier_id = tier.get("id") if isinstance(tier, dict) else None
        name = tier.get("name") if isinstance(tier, dict) else None
        if not isinstance(tier_id, str) or not PROMPT_ID.fullmatch(f"tier/{tier_id}"):
            raise CatalogueError([f"{path}: tier #{number} has no usable id"])
        if not isinstance(name, str) or not name.strip():
            raise CatalogueError([f"{path}: tier {tier_id!r} has no name"])
        names[tier_id] = name
    return names
