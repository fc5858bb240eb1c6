import argparse
import subprocess

import pytest

from ivr.commands import prompts as cli
from ivr.prompts.installed import sound_path


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ivr")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["prompts", *argv])
    return args.run(args)


@pytest.fixture
def installation(built, tier_names, tmp_path, monkeypatch):
    """Environment of an installation whose prompts are built into another sounds folder."""
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "tiers.toml").write_text(
        "".join(f'[[tier]]\nid = "{i}"\nname = "{n}"\n\n' for i, n in tier_names.items())
    )
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("IVR_PROMPTS_DIR", str(built.prompts_dir))
    monkeypatch.setenv("IVR_TABLES_DIR", str(tables))
    monkeypatch.setenv("IVR_SOUNDS_DIR", str(tmp_path / "not-here"))
    return built


def test_check_passes_on_a_built_installation(installation, capsys):
    assert run("check", "--sounds-dir", str(installation.sounds_dir)) == 0
    assert "catalogue and audio complete" in capsys.readouterr().out


def test_check_fails_naming_id_and_language(installation, capsys):
    sound_path(installation.sounds_dir, "en", "withdrawn").unlink()
    assert run("check", "--sounds-dir", str(installation.sounds_dir)) == 1
    assert "ivr prompts: withdrawn [en]: no audio at" in capsys.readouterr().err


def test_check_reads_the_tier_names_from_the_tables(installation, tmp_path, capsys):
    other = tmp_path / "other-tables"
    other.mkdir()
    (other / "tiers.toml").write_text('[[tier]]\nid = "gold"\nname = "Gold"\n')
    assert run("check", "--sounds-dir", str(installation.sounds_dir), "--tables", str(other)) == 1
    assert "tier/gold [de]: no audio" in capsys.readouterr().err


def test_check_without_tables_says_so(installation, tmp_path, capsys):
    code = run("check", "--sounds-dir", str(installation.sounds_dir), "--tables", str(tmp_path))
    assert code == 1
    assert "cannot read tier names from" in capsys.readouterr().err


def test_build_reports_what_it_did(installation, capsys):
    assert run("build", "--sounds-dir", str(installation.sounds_dir)) == 0
    out = capsys.readouterr().out
    assert out.startswith("prompts: 0 built, ")
    assert str(installation.sounds_dir) in out


def test_import_installs_and_says_where(installation, tmp_path, capsys):
    upload = tmp_path / "hold.ogg"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=f=500:d=1.5", str(upload)],
        check=True,
    )
    before = sound_path(installation.sounds_dir, "it", "please_hold").read_bytes()
    code = run(
        "import", "please_hold", "it", str(upload), "--sounds-dir", str(installation.sounds_dir)
    )
    assert code == 0
    assert "please_hold [it] now plays" in capsys.readouterr().out
    assert sound_path(installation.sounds_dir, "it", "please_hold").read_bytes() != before


def test_import_of_a_missing_file_fails_clearly(installation, tmp_path, capsys):
    code = run("import", "greeting", "de", str(tmp_path / "nowhere.wav"))
    assert code == 1
    assert "cannot read" in capsys.readouterr().err
