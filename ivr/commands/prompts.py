"""`ivr prompts check | build | import`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ivr.config import Settings
from ivr.prompts.build import build_prompts
from ivr.prompts.catalogue import CatalogueError
from ivr.prompts.check import check_catalogue
from ivr.prompts.recordings import FORMATS, RecordingError, import_recording
from ivr.prompts.tier_names import tier_names_from_tables


def register(subparsers: argparse._SubParsersAction) -> None:
    prompts = subparsers.add_parser("prompts", help="the prompt catalogue and its audio")
    commands = prompts.add_subparsers(dest="prompts_command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="fail when a prompt is missing in a language or its audio is not usable"
    )
    _add_location_options(check)
    check.set_defaults(run=run_check)

    build = commands.add_parser(
        "build", help="render and install every prompt that changed (espeak-ng or recording)"
    )
    _add_location_options(build)
    build.add_argument("--jobs", type=int, help="threads rendering at once (default: 2 per CPU)")
    build.add_argument("--force", action="store_true", help="render everything again")
    build.set_defaults(run=run_build)

    upload = commands.add_parser(
        "import",
        help=f"replace a prompt's voice in one language with a recording ({'/'.join(FORMATS)})",
    )
    upload.add_argument("prompt_id", metavar="ID", help="prompt id, e.g. greeting or notice/fee")
    upload.add_argument("lang", metavar="LANG", help="de, fr, it or en")
    upload.add_argument("file", metavar="FILE", type=Path)
    upload.add_argument("--sounds-dir", type=Path, help="install here instead of Asterisk's folder")
    upload.set_defaults(run=run_import)


def _add_location_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sounds-dir", type=Path, help="Asterisk's sounds folder to install into")
    parser.add_argument(
        "--tables", type=Path, help="routing tables folder with tiers.toml (default: installed)"
    )


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if args.sounds_dir is not None:
        settings = dataclasses.replace(settings, sounds_dir=args.sounds_dir)
    return settings


def run_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        tier_names = tier_names_from_tables(args.tables or settings.tables_dir)
    except CatalogueError as error:
        return _fail(error.problems)
    problems = check_catalogue(settings, tier_names)
    if problems:
        return _fail(problems)
    print(f"prompts: catalogue and audio complete in {settings.sounds_dir}")
    return 0


def run_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        tier_names = tier_names_from_tables(args.tables or settings.tables_dir)
        report = build_prompts(settings, tier_names, jobs=args.jobs, force=args.force)
    except CatalogueError as error:
        return _fail(error.problems)
    print(
        f"prompts: {report.built} built, {report.unchanged} unchanged, {report.removed} removed "
        f"in {report.seconds:.1f} s into {settings.sounds_dir}"
    )
    return _fail(report.failures) if report.failures else 0


def run_import(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        data = args.file.read_bytes()
    except OSError as error:
        return _fail([f"cannot read {args.file}: {error.strerror}"])
    try:
        result = import_recording(settings, args.prompt_id, args.lang, data, args.file.name)
    except (RecordingError, CatalogueError) as error:
        return _fail([str(error)])
    kept = f"; the previous one is kept as {result.previous}" if result.previous else ""
    print(
        f"prompts: {result.prompt_id} [{result.lang}] now plays {result.recording} "
        f"({result.seconds:.1f} s){kept}"
    )
    return 0


def _fail(problems: list[str]) -> int:
    for problem in problems:
        print(f"ivr prompts: {problem}", file=sys.stderr)
    return 1
