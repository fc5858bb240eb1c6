"""Prompts in the admin console: every prompt by id and language, played in the browser,
replaced by an uploaded recording, and the synthetic ones rebuilt.

The prompt pipeline (`ivr.prompts`) does the work; it reads and writes files and runs
espeak-ng and ffmpeg, so it runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import io
import wave
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ivr.config import Settings
from ivr.prompts.build import Recording, build_prompts, plan_prompts
from ivr.prompts.catalogue import PROMPT_ID, CatalogueError, is_generated, load_catalogue
from ivr.prompts.installed import sound_path
from ivr.prompts.recordings import RecordingError, import_recording
from ivr.prompts.speech import LANGUAGES
from ivr.prompts.uploaded import FORMATS, uploaded_recordings
from ivr.web.active_tables import tables_for
from ivr.web.console import console_of
from ivr.web.html import Markup, element, join, options, render
from ivr.web.pages import csrf_input, page, redirect, refused
from ivr.web.security import allow, max_body, session_of

SAMPLE_RATE = 8000  # the installed .sln files: 8 kHz mono signed 16-bit little-endian
TEXT_SHOWN = 90  # characters of a prompt's text shown in the list
MAX_UPLOAD_BYTES = 32 * 1024 * 1024  # a two-minute WAV recording fits


@dataclass(frozen=True)
class PromptCell:
    text: str | None  # None for a recording
    recording: str | None  # the recording's file name
    installed: bool


@dataclass(frozen=True)
class PromptRow:
    prompt_id: str
    cells: dict[str, PromptCell]  # by language


@allow("admin")
async def prompts_page(request: web.Request) -> web.StreamResponse:
    settings = console_of(request).settings
    _, tables = await tables_for(request)
    try:
        rows = await asyncio.to_thread(prompt_rows, settings, tables.tier_names)
    except CatalogueError as error:
        raise web.HTTPInternalServerError(text=f"the prompt catalogue is broken: {error}") from None
    written = [row for row in rows if not _is_part(row.prompt_id)]
    parts = [row for row in rows if _is_part(row.prompt_id)]
    lang_headers = join(element("th", lang) for lang in LANGUAGES)
    body = render(
        "prompts",
        csrf=csrf_input(session_of(request).csrf_token),
        prompt_options=options(((row.prompt_id, row.prompt_id) for row in rows), None),
        lang_options=options(((lang, lang) for lang in LANGUAGES), None),
        formats=", ".join(f".{fmt}" for fmt in FORMATS),
        lang_headers=lang_headers,
        rows=join(_row(row) for row in written),
        generated_count=len(parts),
        generated_rows=join(_row(row) for row in parts),
    )
    return page(request, "Prompts", body, scripts=["prompts.js"])


@allow("admin")
async def prompt_audio(request: web.Request) -> web.StreamResponse:
    """An installed prompt as a WAV file, for the browser's <audio>."""
    lang = request.match_info["lang"]
    prompt_id = request.match_info["prompt_id"]
    if lang not in LANGUAGES or not PROMPT_ID.fullmatch(prompt_id):
        raise web.HTTPNotFound(text=f"no prompt {prompt_id!r} in {lang!r}")
    path = sound_path(console_of(request).settings.sounds_dir, lang, prompt_id)
    try:
        data = await asyncio.to_thread(wav_of_sln, path)
    except FileNotFoundError:
        raise web.HTTPNotFound(text=f"{prompt_id} [{lang}] is not built yet") from None
    return web.Response(body=data, content_type="audio/wav", headers={"Cache-Control": "no-store"})


@allow("admin")
@max_body(MAX_UPLOAD_BYTES)
async def upload_recording(request: web.Request) -> web.StreamResponse:
    settings = console_of(request).settings
    form = await request.post()
    upload = form.get("file")
    prompt_id = str(form.get("prompt_id", ""))
    lang = str(form.get("lang", ""))
    if not isinstance(upload, web.FileField):
        return refused(request, 422, "Choose a recording to upload.")
    data = await asyncio.to_thread(upload.file.read)
    _, tables = await tables_for(request)
    try:
        await asyncio.to_thread(
            import_recording,
            settings,
            tables.tier_names,
            prompt_id,
            lang,
            data,
            Path(upload.filename or "").name,
        )
    except (RecordingError, CatalogueError) as error:
        return refused(request, 422, f"Not installed: {error}")
    return redirect("/admin/prompts?msg=uploaded")


@allow("admin")
async def rebuild_prompts(request: web.Request) -> web.StreamResponse:
    settings = console_of(request).settings
    _, tables = await tables_for(request)
    try:
        report = await asyncio.to_thread(build_prompts, settings, tables.tier_names)
    except CatalogueError as error:
        return refused(request, 422, f"Not built: the prompt catalogue is broken: {error}")
    failures = Markup("")
    if report.failures:
        failures = element("ul", join(element("li", f) for f in report.failures), class_="error")
    body = render(
        "build_report",
        outcome="refused" if report.failures else "imported",
        title=f"{len(report.failures)} failed" if report.failures else "Prompts rebuilt",
        summary=f"{report.built} built, {report.unchanged} unchanged, {report.removed} removed, "
        f"in {report.seconds:.1f} s.",
        failures=failures,
    )
    return page(request, "Prompts rebuilt", body, status=500 if report.failures else 200)


def prompt_rows(settings: Settings, tier_names: dict[str, str]) -> list[PromptRow]:
    """Every planned prompt with its source per language (blocking: reads the file system)."""
    plan = plan_prompts(
        load_catalogue(settings.prompts_dir), tier_names, uploaded_recordings(settings)
    )
    ids = sorted({prompt_id for sources in plan.values() for prompt_id in sources})
    rows = []
    for prompt_id in ids:
        cells = {}
        for lang in LANGUAGES:
            source = plan[lang].get(prompt_id)
            if source is None:
                continue
            recording = source.path.name if isinstance(source, Recording) else None
            cells[lang] = PromptCell(
                text=None if recording else source.text,
                recording=recording,
                installed=sound_path(settings.sounds_dir, lang, prompt_id).exists(),
            )
        rows.append(PromptRow(prompt_id, cells))
    return rows


def wav_of_sln(path: Path) -> bytes:
    """The raw 8 kHz signed 16-bit sound as a WAV file (blocking: reads the file)."""
    frames = path.read_bytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(frames)
    return buffer.getvalue()


def _is_part(prompt_id: str) -> bool:
    return is_generated(prompt_id) and not prompt_id.startswith("tier/")


def _row(row: PromptRow) -> Markup:
    cells = [element("td", element("code", row.prompt_id))]
    for lang in LANGUAGES:
        cell = row.cells.get(lang)
        cells.append(element("td", _cell(row.prompt_id, lang, cell) if cell else "—"))
    return element("tr", join(cells))


def _cell(prompt_id: str, lang: str, cell: PromptCell) -> Markup:
    if cell.recording:
        what = element("span", f"recording {cell.recording}", class_="badge recording")
    else:
        text = cell.text or ""
        short = text if len(text) <= TEXT_SHOWN else text[: TEXT_SHOWN - 1] + "…"
        what = element("span", short, class_="prompt-text", title=text)
    if not cell.installed:
        return join([what, " ", element("span", "not built", class_="badge missing")])
    play = element(
        "a",
        "▶",
        href=f"/admin/prompts/audio/{lang}/{prompt_id}.wav",
        class_="play",
        title=f"play {prompt_id} [{lang}]",
    )
    return join([play, " ", what])


ROUTES = [
    web.get("/admin/prompts", prompts_page),
    web.get(r"/admin/prompts/audio/{lang}/{prompt_id:[a-z0-9_/+-]+}.wav", prompt_audio),
    web.post("/admin/prompts/upload", upload_recording),
    web.post("/admin/prompts/rebuild", rebuild_prompts),
]
