import pytest

from ivr.config import REPO_DIR
from ivr.prompts.catalogue import (
    FLOW_PROMPTS,
    LANGUAGE_MENU_DIGITS,
    CatalogueError,
    load_catalogue,
    parse_catalogue,
)
from ivr.prompts.speech import LANGUAGES
from ivr.prompts.tier_names import tier_names_from_tables

GOOD_ENTRY = {"de": "Hallo", "fr": "Bonjour", "it": "Ciao", "en": "Hello"}


def full_catalogue(**changes):
    prompts = {prompt_id: dict(GOOD_ENTRY) for prompt_id in FLOW_PROMPTS}
    prompts.update(changes)
    return {"prompts": prompts}


def problems_of(raw, tmp_path):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(raw, tmp_path)
    return caught.value.problems


def test_the_repository_catalogue_has_every_flow_prompt_in_every_language():
    catalogue = load_catalogue(REPO_DIR / "prompts")
    for prompt_id in FLOW_PROMPTS:
        for lang in LANGUAGES:
            assert catalogue.text(prompt_id, lang).strip()


def test_texts_differ_between_languages():
    catalogue = load_catalogue(REPO_DIR / "prompts")
    for prompt_id in FLOW_PROMPTS:
        texts = {catalogue.text(prompt_id, lang) for lang in LANGUAGES}
        assert len(texts) > 1, prompt_id


def test_the_language_menu_says_each_languages_digit():
    catalogue = load_catalogue(REPO_DIR / "prompts")
    for lang, digit in LANGUAGE_MENU_DIGITS.items():
        assert digit in catalogue.text("language_menu", lang)
    assert set(LANGUAGE_MENU_DIGITS) == set(LANGUAGES)


def test_a_complete_catalogue_parses(tmp_path):
    catalogue = parse_catalogue(full_catalogue(), tmp_path)
    assert catalogue.text("greeting", "it") == "Ciao"
    assert catalogue.recording("greeting", "de") is None


def test_a_missing_language_names_id_and_language(tmp_path):
    entry = dict(GOOD_ENTRY)
    del entry["it"]
    assert problems_of(full_catalogue(pin_wrong=entry), tmp_path) == ["pin_wrong [it]: no text"]


def test_an_empty_text_is_refused(tmp_path):
    problems = problems_of(full_catalogue(goodbye={**GOOD_ENTRY, "fr": "  "}), tmp_path)
    assert problems == ["goodbye [fr]: the text must be a non-empty string"]


def test_a_missing_flow_prompt_is_named(tmp_path):
    raw = full_catalogue()
    del raw["prompts"]["notice/choice"]
    assert problems_of(raw, tmp_path) == ["notice/choice: missing from the catalogue"]


def test_unknown_keys_and_languages_are_refused(tmp_path):
    problems = problems_of(
        full_catalogue(greeting={**GOOD_ENTRY, "rm": "Allegra"}, extra={**GOOD_ENTRY}), tmp_path
    ) + problems_of({**full_catalogue(), "voices": {}}, tmp_path)
    assert "greeting: unknown key 'rm' (languages are de, fr, it, en)" in problems
    assert "unknown top-level key 'voices'" in problems


def test_generated_parts_take_recordings_but_no_texts(tmp_path):
    catalogue = parse_catalogue(
        full_catalogue(**{"num/7": {"recording": {"de": "recordings/de/num/7.wav"}}}), tmp_path
    )
    assert catalogue.recording("num/7", "de") == tmp_path / "recordings/de/num/7.wav"
    problems = problems_of(full_catalogue(**{"num/7": {"de": "sieben"}}), tmp_path)
    assert problems == ["num/7 [de]: the text of a generated part is not set in the catalogue"]


@pytest.mark.parametrize("path", ["/etc/passwd", "recordings/../../x.wav", "elsewhere/x.wav"])
def test_recordings_must_stay_in_the_recordings_folder(tmp_path, path):
    problems = problems_of(
        full_catalogue(greeting={**GOOD_ENTRY, "recording": {"de": path}}), tmp_path
    )
    assert problems == [
        f"greeting [de]: recording {path!r} must be a relative path under recordings/"
    ]


def test_bad_prompt_ids_are_refused(tmp_path):
    problems = problems_of(full_catalogue(**{"Greeting Two": dict(GOOD_ENTRY)}), tmp_path)
    assert problems == ["'Greeting Two': not a prompt id (lower-case words joined by '/')"]


def test_unreadable_toml_is_reported(tmp_path):
    (tmp_path / "catalogue.toml").write_text("[prompts.greeting\n")
    with pytest.raises(CatalogueError, match="is not valid TOML"):
        load_catalogue(tmp_path)
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "missing")


SOURCE = """\
# the greeting
[prompts.greeting]
de = "Hallo"
recording.fr = "recordings/fr/greeting.wav"
# a comment that belongs to the next entry

[prompts."notice/fee"]
de = "Gebühr"   # trailing comment
"""


def test_tier_names_are_read_from_the_tables(tmp_path):
    (tmp_path / "tiers.toml").write_text(
        '[[tier]]\nid = "gold"\nname = "Gold 7x24h"\n\n[[tier]]\nid = "tin"\nname = "Tin"\n'
    )
    assert tier_names_from_tables(tmp_path) == {"gold": "Gold 7x24h", "tin": "Tin"}


def test_tier_names_errors_name_the_file_and_tier(tmp_path):
    with pytest.raises(CatalogueError, match="cannot read tier names from"):
        tier_names_from_tables(tmp_path)
    (tmp_path / "tiers.toml").write_text('[[tier]]\nid = "gold"\n')
    with pytest.raises(CatalogueError, match="tier 'gold' has no name"):
        tier_names_from_tables(tmp_path)
    (tmp_path / "tiers.toml").write_text('[[tier]]\nid = "Gold Tier"\nname = "x"\n')
    with pytest.raises(CatalogueError, match="tier #1 has no usable id"):
        tier_names_from_tables(tmp_path)


REPOSITORY_CATALOGUE = load_catalogue(REPO_DIR / "prompts")


@pytest.mark.parametrize(
    ("lang", "started"),
    [("de", "angefangen"), ("fr", "entamée"), ("it", "iniziato"), ("en", "started")],
)
def test_every_language_says_every_started_block_is_billed(lang, started):
    assert started in REPOSITORY_CATALOGUE.text("notice/increment", lang)


@pytest.mark.parametrize(
    ("lang", "consent"),
    [("de", "Zustimmung"), ("fr", "accord"), ("it", "consenso"), ("en", "consent")],
)
def test_the_choice_says_that_silence_counts_as_consent(lang, consent):
    assert consent in REPOSITORY_CATALOGUE.text("notice/choice", lang)


DESK_WORDS = ("servicedesk", "service desk", "centre d'assistance")
TECHNICIAN_WORDS = ("techniker", "technicien", "tecnico", "technician")


@pytest.mark.parametrize(
    ("prompt_id", "words"),
    [
        ("identified_unknown", DESK_WORDS + TECHNICIAN_WORDS),
        ("pin_locked", DESK_WORDS + TECHNICIAN_WORDS),
        ("technician_unavailable", DESK_WORDS),
    ],
)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_prompts_before_a_hand_over_leave_the_destination_to_the_next_prompt(
    prompt_id, words, lang
):
    """The destination is said once, by connecting_desk or connecting_technician, whichever
    the call really goes to: never twice, never the wrong one."""
    text = REPOSITORY_CATALOGUE.text(prompt_id, lang).casefold()
    assert not any(word in text for word in words), text
