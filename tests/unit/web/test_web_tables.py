"""Routing tables in the admin console: check, try, publish, history, diff, roll back."""

import re

from ivr.store.tables import active_tables, publish_tables, tables_history
from tests.unit.web.records import default_tables

SATURDAY = "2026-11-28T10:00"


def tiers_text():
    return default_tables().files["tiers.toml"]


def with_pro_saturday(text):
    """pro covered on Saturdays 07:00-19:00 too."""
    friday = 'covered.fri = ["07:00-19:00"]\n'
    marker = friday + '\n[[tier]]\nid = "basic-plus"'
    assert marker in text
    return text.replace(marker, friday + 'covered.sat = ["07:00-19:00"]\n' + marker[len(friday) :])


async def publish_default(console):
    return await publish_tables(console.redis, dict(default_tables().files), "setup", "initial")


async def test_the_edit_page_shows_the_active_file(console, admin):
    await publish_default(console)
    page = await admin.page("/admin/tables/edit/tiers.toml")
    assert "winCall pro, 5x12h" in page
    assert 'name="base_version" value="1"' in page
    assert (await admin.get("/admin/tables/edit/passwd")).status == 404


async def test_a_broken_change_lists_the_problems_and_saves_nothing(console, admin):
    await publish_default(console)
    text = tiers_text().replace('covered.mon = ["07:00-19:00"]', 'covered.mon = ["19:00-07:00"]', 1)
    response = await admin.post(
        "/admin/tables/edit/tiers.toml",
        {"text": text, "action": "publish", "comment": "oops", "base_version": "1"},
    )
    assert response.status == 422
    page = await response.text()
    assert "Not saved: the tables with this change have problems." in page
    assert (
        "<li>tiers.toml: tier.pro-plus.covered.mon[0]: &#x27;19:00-07:00&#x27;: "
        "the end 07:00 is not after the start</li>"
    ) in page
    assert "19:00-07:00" in page  # the text stays in the form
    assert len(await tables_history(console.redis)) == 1
    broken_toml = await admin.post(
        "/admin/tables/edit/tiers.toml",
        {"text": "[[tier]\n", "action": "check", "base_version": "1"},
    )
    assert broken_toml.status == 422
    assert "tiers.toml: -: " in await broken_toml.text()


async def test_check_says_valid_without_saving(console, admin):
    await publish_default(console)
    response = await admin.post(
        "/admin/tables/edit/tiers.toml",
        {"text": with_pro_saturday(tiers_text()), "action": "check", "base_version": "1"},
    )
    assert response.status == 200
    assert "Valid: the tables with this change pass every check." in await response.text()
    assert len(await tables_history(console.redis)) == 1


async def test_trying_an_edit_shows_both_decisions(console, admin):
    await publish_default(console)
    response = await admin.post(
        "/admin/tables/edit/tiers.toml",
        {
            "text": with_pro_saturday(tiers_text()),
            "action": "simulate",
            "base_version": "1",
            "who": "tier",
            "tier": "pro",
            "at": SATURDAY,
        },
    )
    assert response.status == 200
    page = await response.text()
    destinations = re.findall(r'<dd class="decision-destination">(\w+)</dd>', page)
    assert destinations == ["desk", "technician"]
    assert "Active (version 1)" in page and "With your unsaved edit" in page
    assert len(await tables_history(console.redis)) == 1


async def test_publishing_makes_a_new_active_version_with_author_and_comment(console, admin):
    await publish_default(console)
    text = with_pro_saturday(tiers_text())
    response = await admin.post(
        "/admin/tables/edit/tiers.toml",
        {
            "text": text.replace("\n", "\r\n"),
            "action": "publish",
            "comment": "pro on Saturdays",
            "base_version": "1",
        },
    )
    assert response.status == 303
    assert response.headers["Location"] == "/admin/tables?msg=published"
    version, bundle = await active_tables(console.redis)
    assert version == 2 and bundle["tiers.toml"] == text  # line ends as the file had them
    newest = (await tables_history(console.redis))[0]
    assert (newest.author, newest.comment) == ("ada", "pro on Saturdays")
    page = await admin.page("/admin/tables?msg=published")
    assert "Published" in page and "by ada: pro on Saturdays" in page


async def test_publishing_is_refused_for_a_stale_page_no_change_or_no_comment(console, admin):
    await publish_default(console)
    text = with_pro_saturday(tiers_text())
    cases = [
        ({"text": tiers_text(), "comment": "same", "base_version": "1"}, "the text is the same"),
        ({"text": text, "comment": "", "base_version": "1"}, "write a comment"),
        ({"text": text, "comment": "x" * 201, "base_version": "1"}, "longer than 200"),
    ]
    for form, reason in cases:
        response = await admin.post("/admin/tables/edit/tiers.toml", {**form, "action": "publish"})
        assert response.status == 409
        assert reason in await response.text()
    await publish_tables(console.redis, dict(default_tables().files), "someone", "meanwhile")
    response = await admin.post(
        "/admin/tables/edit/tiers.toml",
        {"text": text, "comment": "late", "base_version": "1", "action": "publish"},
    )
    assert response.status == 409
    assert "the tables changed since you opened this page (now version 2)" in await response.text()
    assert len(await tables_history(console.redis)) == 2


async def test_history_diff_and_rollback(console, admin):
    await publish_default(console)
    await admin.post(
        "/admin/tables/edit/tiers.toml",
        {
            "text": with_pro_saturday(tiers_text()),
            "action": "publish",
            "comment": "sat",
            "base_version": "1",
        },
    )
    history = await admin.page("/admin/tables/history")
    assert re.findall(r'<a href="/admin/tables/versions/(\d+)">', history) == ["2", "1"]
    assert "sat" in history and "initial" in history
    diff = await admin.page("/admin/tables/versions/2")
    assert '<span class="added">+covered.sat = [&quot;07:00-19:00&quot;]</span>' in diff
    assert "Changes from version 1" in diff
    assert "The first version" in await admin.page("/admin/tables/versions/1")
    assert (await admin.get("/admin/tables/versions/9")).status == 404

    response = await admin.post("/admin/tables/versions/1/activate", {})
    assert response.status == 303
    version, bundle = await active_tables(console.redis)
    assert version == 3 and bundle == dict(default_tables().files)
    newest = (await tables_history(console.redis))[0]
    assert (newest.restored_from, newest.author) == (1, "ada")


async def test_a_version_that_fails_todays_checks_is_not_activated(console, admin):
    await publish_default(console)
    await publish_tables(console.redis, {"hotline.toml": "zone = 1"}, "old tool", "broken")
    await publish_default(console)
    response = await admin.post("/admin/tables/versions/2/activate", {})
    assert response.status == 409
    text = await response.text()
    assert "version 2 fails today&#x27;s checks: tiers.toml: -: missing" in text
    assert (await active_tables(console.redis))[0] == 3


async def test_before_any_publish_the_folders_tables_are_shown_and_editable(console, admin):
    page = await admin.page("/admin/tables")
    assert "nothing has been published yet" in page
    response = await admin.post(
        "/admin/tables/edit/tiers.toml",
        {
            "text": with_pro_saturday(tiers_text()),
            "action": "publish",
            "comment": "first",
            "base_version": "",
        },
    )
    assert response.status == 303
    assert (await active_tables(console.redis))[0] == 1
