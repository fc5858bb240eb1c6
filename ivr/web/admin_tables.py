"""The routing tables in the admin console: edit a file, check it, try it in the simulator,
publish it as a new version; the history with a diff per version; roll back.

A change is validated with `parse_tables`, the same checks as `ivr tables check`; with any
problem nothing is saved. Publishing stores a new version (`ivr.store.tables`), which every
worker loads on its notification, before its next call.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.asterisk_config import dialable_endpoints
from ivr.routing import Problem, Tables
from ivr.routing.tables import FILES
from ivr.store.tables import (
    TablesVersion,
    activate_tables_version,
    get_tables_version,
    publish_tables,
    tables_history,
)
from ivr.web.active_tables import Current, parsed
from ivr.web.console import console_of
from ivr.web.formatting import stamp
from ivr.web.html import Markup, element, join, render, url_part
from ivr.web.pages import csrf_input, page, redirect
from ivr.web.security import allow, session_of
from ivr.web.simulate import Question, answer_question, render_answer, render_inputs

FILE_HOLDS = {
    "hotline.toml": "time zone, languages, PIN rules, notice repeats, unidentified callers, "
    "fallback tier",
    "tiers.toml": "the tiers: covered windows per weekday, first-reaction rules, holidays",
    "holidays.toml": "the canton whose public holidays apply, closure dates",
    "rota.toml": "technicians, the weekly standby rotation, overrides",
    "destinations.toml": "the desk, the escalation ladder, ring timeout",
    "notice.toml": "what the cost notice states per tier",
}
MAX_COMMENT = 200
NOTHING = Markup("")


@allow("admin")
async def tables_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    current = await console.tables.get()
    meta = "The tables in the installation's folder; nothing has been published yet."
    if current.version is not None:
        found = await get_tables_version(console.redis, current.version)
        if found is not None:
            meta = _version_meta(found[0], console.tables.zone)
    body = render(
        "tables",
        version=_version_name(current),
        meta=meta,
        problems=_problems("The active tables have problems:", current.problems),
        files=join(_file_row(name) for name in FILES),
    )
    return page(request, "Routing tables", body)


@allow("admin")
async def edit_form(request: web.Request) -> web.StreamResponse:
    file = _file(request)
    current = await console_of(request).tables.get()
    return await _edit_page(request, file, current, current.bundle.get(file, ""), Markup(""))


@allow("admin")
async def edit_submit(request: web.Request) -> web.StreamResponse:
    file = _file(request)
    console = console_of(request)
    form = await request.post()
    text = str(form.get("text", "")).replace("\r\n", "\n")
    comment = str(form.get("comment", "")).strip()
    action = form.get("action")
    current = await console.tables.get()
    edited = parsed(None, {**current.bundle, file: text}, endpoints=dialable_endpoints())
    if edited.tables is None:
        outcome = _problems(
            "Not saved: the tables with this change have problems.", edited.problems
        )
        return await _edit_page(request, file, current, text, outcome, comment=comment, status=422)
    if action == "simulate":
        simulation = await _simulation(request, current, edited.tables)
        return await _edit_page(
            request, file, current, text, Markup(""), simulation, comment=comment
        )
    if action != "publish":
        outcome = element("p", "Valid: the tables with this change pass every check.", class_="ok")
        return await _edit_page(request, file, current, text, outcome, comment=comment)
    refusal = _publish_refusal(form.get("base_version"), current, file, text, comment)
    if refusal:
        outcome = element("p", refusal, class_="error")
        return await _edit_page(request, file, current, text, outcome, comment=comment, status=409)
    await publish_tables(
        console.redis, edited.bundle, session_of(request).user, comment, at=console.clock()
    )
    return redirect("/admin/tables?msg=published")


@allow("admin")
async def history_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    current = await console.tables.get()
    session = session_of(request)
    rows = [
        _history_row(
            version, version.version_id == current.version, session.csrf_token, console.tables.zone
        )
        for version in await tables_history(console.redis)
    ]
    body = render("history", rows=join(rows) or element("tr", element("td", "No versions yet.")))
    return page(request, "Routing tables: history", body)


@allow("admin")
async def version_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    version_id, (version, bundle) = await _requested_version(request)
    previous = await get_tables_version(console.redis, version_id - 1) if version_id > 1 else None
    current = await console.tables.get()
    if previous is None:
        diff_title = "The first version: no predecessor to compare with"
        diff = Markup("")
    else:
        diff_title = f"Changes from version {version_id - 1}"
        diff = render_diff(previous[1], bundle, version_id - 1, version_id)
    activate = Markup("")
    if version_id != current.version:
        activate = render(
            "activate", version=version_id, csrf=csrf_input(session_of(request).csrf_token)
        )
    body = render(
        "version",
        meta=_version_meta(version, console.tables.zone),
        activate=activate,
        diff_title=diff_title,
        diff=diff,
    )
    return page(request, f"Routing tables: version {version_id}", body)


@allow("admin")
async def activate_version(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    version_id, (_, bundle) = await _requested_version(request)
    checked = parsed(version_id, bundle)
    if checked.tables is None:
        problems = "; ".join(str(problem) for problem in checked.problems)
        raise web.HTTPConflict(text=f"version {version_id} fails today's checks: {problems}")
    await activate_tables_version(
        console.redis, version_id, session_of(request).user, at=console.clock()
    )
    return redirect("/admin/tables?msg=rolled-back")


def render_diff(old: Mapping[str, str], new: Mapping[str, str], old_id: int, new_id: int) -> Markup:
    """A unified diff per changed file; unchanged files are not shown."""
    sections = []
    for name in sorted(set(old) | set(new)):
        lines = list(
            difflib.unified_diff(
                old.get(name, "").splitlines(),
                new.get(name, "").splitlines(),
                fromfile=f"version {old_id}/{name}",
                tofile=f"version {new_id}/{name}",
                lineterm="",
            )
        )
        if lines:
            body = join(element("span", line, class_=_diff_class(line)) for line in lines)
            sections.append(join([element("h3", name), element("pre", body, class_="diff")]))
    return join(sections) or element("p", "No file changed.")


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    return {"+": "added", "-": "removed", "@": "hunk"}.get(line[:1], "same")


def _publish_refusal(
    base_version: object, current: Current, file: str, text: str, comment: str
) -> str | None:
    if str(base_version or "") != str(current.version or ""):
        return (
            "Not saved: the tables changed since you opened this page (now "
            f"{_version_name(current)}). Copy your change, reload the page and make it again."
        )
    if current.bundle.get(file, "") == text:
        return "Not saved: the text is the same as in the active version."
    if not comment:
        return "Not saved: write a comment saying what you changed and why, for the history."
    if len(comment) > MAX_COMMENT:
        return f"Not saved: the comment is longer than {MAX_COMMENT} characters."
    return None


async def _simulation(request: web.Request, current: Current, edited: Tables) -> Markup:
    question = Question.from_form(await request.post())
    if current.tables is None:
        versions = [("With your unsaved edit", edited)]
    else:
        versions = [
            (f"Active ({_version_name(current)})", current.tables),
            ("With your unsaved edit", edited),
        ]
    answer = await answer_question(request, question, edited)
    return render_answer(answer, versions)


async def _edit_page(
    request: web.Request,
    file: str,
    current: Current,
    text: str,
    outcome: Markup,
    simulation: Markup = NOTHING,
    *,
    comment: str = "",
    status: int = 200,
) -> web.Response:
    console = console_of(request)
    form = await request.post() if request.method == "POST" else request.query
    tables = current.tables
    inputs = Markup("")
    if tables is not None:
        inputs = render_inputs(Question.from_form(form), tables, console.now())
    body = render(
        "table_edit",
        file=file,
        version=_version_name(current),
        outcome=outcome,
        csrf=csrf_input(session_of(request).csrf_token),
        base_version=current.version or "",
        text=text,
        comment=comment,
        inputs=inputs,
        simulation=simulation,
    )
    return page(request, f"Routing tables: {file}", body, status=status)


def _problems(title: str, problems: tuple[Problem, ...]) -> Markup:
    if not problems:
        return Markup("")
    items = join(element("li", str(problem)) for problem in problems)
    return render("tables_problems", title=title, problems=items)


def _file(request: web.Request) -> str:
    file = request.match_info["file"]
    if file not in FILES:
        raise web.HTTPNotFound(
            text=f"no routing-tables file {file!r} (the files are {', '.join(FILES)})"
        )
    return file


async def _requested_version(
    request: web.Request,
) -> tuple[int, tuple[TablesVersion, dict[str, str]]]:
    """The version number in the URL and that version; 404 when there is none."""
    text = request.match_info["version"]
    if not text.isdigit():
        raise web.HTTPNotFound(text=f"{text!r} is not a version number")
    version_id = int(text)
    found = await get_tables_version(console_of(request).redis, version_id)
    if found is None:
        raise web.HTTPNotFound(text=f"no routing-tables version {version_id}")
    return version_id, found


def _version_name(current: Current) -> str:
    return f"version {current.version}" if current.version else "the folder's tables (unpublished)"


def _version_meta(version: TablesVersion, zone: ZoneInfo) -> str:
    restored = f", a copy of version {version.restored_from}" if version.restored_from else ""
    return (
        f"Version {version.version_id}{restored}, published "
        f"{stamp(version.created_at.astimezone(zone))} by {version.author}: {version.comment}"
    )


def _file_row(name: str) -> Markup:
    link = element("a", "Edit", href=f"/admin/tables/edit/{url_part(name)}")
    cells = [
        element("td", element("code", name)),
        element("td", FILE_HOLDS.get(name, "")),
        element("td", link),
    ]
    return element("tr", join(cells))


def _history_row(version: TablesVersion, active: bool, csrf_token: str, zone: ZoneInfo) -> Markup:
    restored = f" (copy of version {version.restored_from})" if version.restored_from else ""
    link = element(
        "a", f"version {version.version_id}", href=f"/admin/tables/versions/{version.version_id}"
    )
    action: object = element("strong", "active")
    if not active:
        action = render("activate", version=version.version_id, csrf=csrf_input(csrf_token))
    cells = [
        element("td", join([link, restored])),
        element("td", stamp(version.created_at.astimezone(zone))),
        element("td", version.author),
        element("td", version.comment),
        element("td", action),
    ]
    return element("tr", join(cells), class_="active" if active else None)


ROUTES = [
    web.get("/admin/tables", tables_page),
    web.get("/admin/tables/edit/{file}", edit_form),
    web.post("/admin/tables/edit/{file}", edit_submit),
    web.get("/admin/tables/history", history_page),
    web.get("/admin/tables/versions/{version}", version_page),
    web.post("/admin/tables/versions/{version}/activate", activate_version),
]
