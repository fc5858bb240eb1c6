"""Attacks through the data admins enter in the real console: customer names, uploaded audio,
routing-table values. Each is refused with a clear 4xx naming what is wrong, and nothing is
half-applied.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from ivr.config import REPO_DIR
from ivr.store.tables import active_tables

pytestmark = pytest.mark.e2e

HIDDEN = {"NUL": "\x00", "ESC": "\x1b[31m", "RIGHT-TO-LEFT OVERRIDE": "\u202e"}


def csv_upload(text: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", text.encode(), filename="customers.csv", content_type="text/csv")
    return form


async def logged_in_admin(visitor):
    ada = await visitor()
    assert (await ada.log_in("ada")).status == 303
    return ada


@pytest.mark.parametrize("what", list(HIDDEN))
async def test_control_characters_in_names_are_refused(visitor, redis, what):
    ada = await logged_in_admin(visitor)
    name = f"Evil{HIDDEN[what]}Corp"
    row = f"evil-corp,{name},de,+41449990000,,no,basic,,,0\n"
    header = (
        "id,name,language,numbers,pin,pin_required,tier,valid_from,valid_to,free_units_per_month\n"
    )
    form = csv_upload(header + row)
    form.add_field("csrf_token", ada.csrf)
    imported = await ada.post("/admin/customers/import", form, csrf=False)
    assert imported.status == 422
    assert f"U+{ord(HIDDEN[what][0]):04X}" in await imported.text()
    typed = await ada.post(
        "/admin/customers/new",
        {"id": "evil-corp", "name": name, "language": "de", "numbers": "+41449990000",
         "tier": "basic"},
    )  # fmt: skip
    assert typed.status == 422
    assert await redis.hget("winet:customers", "evil-corp") is None


async def test_the_cli_shows_a_stored_control_character_escaped(stack_settings, redis):
    record = {
        "id": "legacy",
        "name": "Legacy\x1b[2J\u202eAG",
        "language": "de",
        "numbers": ["+41449990001"],
        "pin_required": False,
        "pin_hash": None,
        "contract": {"tier": "basic", "valid_from": None, "valid_to": None,
                     "free_units_per_month": 0},
    }  # fmt: skip
    await redis.hset("winet:customers", "legacy", json.dumps(record))
    try:
        shown = (
            await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "ivr", "customers", "show", "legacy"],
                env={
                    "PATH": "/usr/bin:/bin",
                    "IVR_REDIS_URL": stack_settings.redis_url,
                    "IVR_STATE_DIR": str(stack_settings.state_dir),  # its Redis password
                },
                cwd=REPO_DIR,
                capture_output=True,
                text=True,
                check=True,
            )
        ).stdout
    finally:
        await redis.hdel("winet:customers", "legacy")
    assert "legacy: Legacy\\x1b[2J\\u202eAG" in shown
    assert "\x1b" not in shown and "\u202e" not in shown


def ffmpeg(tmp_path: Path, name: str, *source: str) -> bytes:
    path = tmp_path / name
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *source, str(path)], check=True)
    return path.read_bytes()


async def upload(ada, data: bytes, filename: str, prompt_id: str = "greeting"):
    form = aiohttp.FormData()
    form.add_field("csrf_token", ada.csrf)
    form.add_field("prompt_id", prompt_id)
    form.add_field("lang", "de")
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    return await ada.post("/admin/prompts/upload", form, csrf=False)


async def test_bad_uploads_are_refused_and_a_small_file_cannot_take_much_memory(
    console, visitor, tmp_path
):
    ada = await logged_in_admin(visitor)
    hour = ffmpeg(tmp_path, "h.flac", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "3600")
    assert len(hour) < 1_000_000
    tone = ffmpeg(tmp_path, "t.wav", "-f", "lavfi", "-i", "sine=f=440:r=8000", "-t", "2")
    before = _peak_memory_kb(console.process.pid)
    cases = [
        (hour, "hour.flac", "greeting", "lasts 3600.0 s"),
        (tone[: len(tone) // 2], "half.wav", "greeting", "is cut off"),
        (tone, "gold.wav", "tier/gold", "no prompt &#x27;tier/gold&#x27;"),
    ]
    for data, filename, prompt_id, reason in cases:
        response = await upload(ada, data, filename, prompt_id)
        assert response.status == 422, filename
        assert reason in await response.text(), filename
    assert _peak_memory_kb(console.process.pid) - before < 40_000
    assert not (tmp_path / "state" / "recordings").exists()


async def test_a_good_upload_lands_in_the_state_folder_not_the_working_tree(
    console, visitor, tmp_path
):
    ada = await logged_in_admin(visitor)
    tone = ffmpeg(tmp_path, "t.wav", "-f", "lavfi", "-i", "sine=f=440:r=8000", "-t", "2")
    before = _tree_status()
    response = await upload(ada, tone, "greeting.wav")
    assert response.status == 303
    assert (tmp_path / "state/recordings/de/greeting.wav").read_bytes() == tone
    assert _tree_status() == before


DESK_DIAL = 'dial = "Local/xy-desk@desk-queue/n"'  # the desk queue (issue 13)
BAD_TABLE_VALUES = [
    ("destinations.toml", DESK_DIAL, 'dial = "Local/xy-desk@desk-queue/n&PJSIP/tech-anna"'),
    ("destinations.toml", DESK_DIAL, 'dial = "Local/xy-desk@default/n"'),
    ("destinations.toml", DESK_DIAL, 'dial = "PJSIP/xy-desk&PJSIP/tech-anna"'),
    ("destinations.toml", DESK_DIAL, 'dial = "Local/0900123456@default"'),
    ("destinations.toml", DESK_DIAL, 'dial = "PJSIP/xy-desk,,U(evil)"'),
    ("destinations.toml", DESK_DIAL, 'dial = "PJSIP/nobody"'),
    ("rota.toml", 'dial = "PJSIP/tech-lea"', 'dial = "PJSIP/anonymous"'),
    ("destinations.toml", "ring_timeout = 20", "ring_timeout = 99999999999"),
    ("hotline.toml", "attempts = 3", "attempts = 1000000"),
    ("hotline.toml", "attempts = 3", "attempts = 1e6"),
    ("hotline.toml", "first_digit_timeout = 8", "first_digit_timeout = inf"),
    ("hotline.toml", 'languages = ["de", "fr", "it", "en"]', 'languages = ["de", "../../x"]'),
    ("notice.toml", "billing_increment_minutes = 15", "billing_increment_minutes = 9999999"),
]


@pytest.mark.parametrize(("file", "old", "new"), BAD_TABLE_VALUES)
async def test_table_values_that_would_reach_asterisk_unchecked_are_refused(
    visitor, redis, file, old, new
):
    ada = await logged_in_admin(visitor)
    version, bundle = await active_tables(redis)
    assert old in bundle[file]
    text = bundle[file].replace(old, new, 1)
    response = await ada.post(
        f"/admin/tables/edit/{file}",
        {"text": text, "action": "publish", "comment": "attack", "base_version": str(version)},
    )
    assert response.status == 422, new
    assert "Not saved" in await response.text()
    assert (await active_tables(redis))[0] == version


def _tree_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "prompts"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _peak_memory_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")
