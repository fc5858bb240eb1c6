import os
import shutil
from pathlib import Path

import pytest

from ivr.config import REPO_DIR, Settings
from ivr.prompts.build import build_prompts

# the routing tables' names, as the notice tests' fixture facts use them
TIER_NAMES = {
    "premium": "winCall premium 7x24h",
    "pro-plus": "winCall pro +, 6x12h",
    "pro": "winCall pro, 5x12h",
    "basic-plus": "winCall basic +, 5x6h",
    "basic": "winCall basic, 5x6h",
}


@pytest.fixture(scope="session")
def tier_names():
    return dict(TIER_NAMES)


def settings_for(root: Path) -> Settings:
    return Settings.from_env(
        {
            "IVR_STATE_DIR": str(root / "state"),
            "IVR_PROMPTS_DIR": str(root / "prompts"),
            "IVR_SOUNDS_DIR": str(root / "sounds"),
        }
    )


@pytest.fixture(scope="session")
def built_once(tmp_path_factory):
    """The repository's catalogue, built for real (espeak-ng, pydub, ffmpeg) once per session."""
    root = tmp_path_factory.mktemp("built")
    shutil.copytree(REPO_DIR / "prompts", root / "prompts")
    settings = settings_for(root)
    report = build_prompts(settings, TIER_NAMES)
    assert report.failures == []
    return root, report


@pytest.fixture
def built(built_once, tmp_path):
    """A private copy of the session's build, free to change.

    The sounds are hard links to the session's files, as the pipeline only ever replaces a
    file by renaming; a test that damages one must replace it too, never write into it.
    """
    root, _ = built_once
    shutil.copytree(root / "prompts", tmp_path / "prompts")
    shutil.copytree(root / "sounds", tmp_path / "sounds", copy_function=os.link)
    return settings_for(tmp_path)


@pytest.fixture
def catalogue_only(tmp_path):
    """The repository's catalogue with nothing built."""
    shutil.copytree(REPO_DIR / "prompts", tmp_path / "prompts")
    return settings_for(tmp_path)
