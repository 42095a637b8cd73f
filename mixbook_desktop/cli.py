"""The `mixbook-desktop` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mixbook_desktop import __version__
from mixbook_desktop.core import paths
from mixbook_desktop.services.importer import Change, ImportReport, ImportResult, import_paths
from mixbook_desktop.services.relink import relink_missing
from mixbook_desktop.store.photos import PhotoStore
from mixbook_desktop.store.project import Project, ProjectError

# Human output to stdout; progress and diagnostics to stderr, so `--json` stays clean.
# Piped output gets a wide fixed width so tables stay readable in files and logs.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _run_import(book: Path, sources: Sequence[str], as_json: bool, jobs: int | None) -> ImportReport:
    with Project.open(book, create=True) as project:
        progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )

        def show(result: ImportResult) -> None:
            progress.advance(task)
            if as_json:
                return
            if result.change is Change.ERROR:
                out.print(f"[red]error[/]      {result.path}: {result.detail}")
            elif result.change is Change.DUPLICATE:
                out.print(f"[yellow]duplicate[/]  {result.path}: same content as {result.detail}")
            elif result.change is Change.RELINKED:
                out.print(f"relinked   {result.path} (was {result.detail})")

        with progress:
            task = progress.add_task("import", total=None)
            report = import_paths(
                project,
                sources,
                on_result=show,
                on_total=lambda n: progress.update(task, total=n),
                workers=jobs,
            )
    return report


def _summary(report: ImportReport, book: Path) -> str:
    parts = [
        f"{report.count(Change.NEW)} new",
        f"{report.count(Change.UNCHANGED)} already imported",
        f"{report.count(Change.DUPLICATE)} duplicate",
        f"{report.count(Change.ERROR)} error",
    ]
    if report.count(Change.RELINKED):
        parts.append(f"{report.count(Change.RELINKED)} relinked")
    if report.skipped:
        noun = "file" if report.skipped == 1 else "files"
        parts.append(f"{report.skipped} non-photo {noun} skipped")
    return f"{book}: " + ", ".join(parts)


def cmd_import(args: argparse.Namespace) -> int:
    report = _run_import(args.book, args.paths, args.json, args.jobs)
    if args.json:
        rows = [
            {"file": r.path, "status": r.status.value, "change": r.change.value, "detail": r.detail}
            for r in report.results
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        out.print(_summary(report, args.book))
    return 0


def _photo_table(rows: list[dict[str, object]]) -> Table:
    table = Table(show_lines=False, pad_edge=False)
    for column in ("file", "status", "size", "taken", "place", "camera"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row["status"] == "error":
            table.add_row(Path(str(row["file"])).name, "[red]error[/]", str(row["error"]), "", "", "")
            continue
        camera = row["camera"]
        camera_text = " ".join(v for v in camera.values() if v) if isinstance(camera, dict) else ""
        table.add_row(
            Path(str(row["file"])).name,
            str(row["status"]),
            f"{row['width']}x{row['height']}",
            str(row["taken_at"] or ""),
            str(row["place"] or ""),
            camera_text,
        )
    return table


def cmd_photos(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        rows = PhotoStore(project).listing()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        out.print(_photo_table(rows))
    return 0


def cmd_relink(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        report = relink_missing(project, args.folders)
    for old, new in report.relinked:
        out.print(f"relinked   {new} (was {old})")
    for path in report.still_missing:
        out.print(f"[red]missing[/]    {path}")
    out.print(f"{len(report.relinked)} relinked, {len(report.still_missing)} still missing")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    book: Path = args.book
    if args.fresh and book.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{book}{suffix}").unlink(missing_ok=True)
    out.print(f"Demo book: {book}")
    report = _run_import(book, [str(paths.demo_photos_dir())], False, args.jobs)
    with Project.open(book) as project:
        out.print(_photo_table(PhotoStore(project).listing()))
    out.print(_summary(report, book))
    out.print(f"Read it as JSON: mixbook-desktop photos {book} --json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixbook-desktop", description="A local-first photobook editor.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("import", help="import photos (files and folders, recursively) into a book")
    p.add_argument("book", type=Path, help="project file, created if missing (e.g. trip.mbook)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="photo files and folders")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.add_argument("--jobs", type=int, default=None, help="decoder processes (default: one per core)")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("photos", help="list the files of a book")
    p.add_argument("book", type=Path)
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")
    p.set_defaults(run=cmd_photos)

    p = sub.add_parser("relink", help="find moved photos by content under FOLDER")
    p.add_argument("book", type=Path)
    p.add_argument("folders", nargs="+", metavar="FOLDER")
    p.set_defaults(run=cmd_relink)

    p = sub.add_parser("demo", help="build the demo book from the bundled photos")
    p.add_argument("--book", type=Path, default=paths.default_demo_book())
    p.add_argument("--fresh", action="store_true", help="start from an empty book")
    p.add_argument("--jobs", type=int, default=None)
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ProjectError as exc:
        err.print(f"mixbook-desktop: {exc}")
        return 1
    except KeyboardInterrupt:
        err.print("mixbook-desktop: interrupted; everything reported so far is saved")
        return 130
    except BrokenPipeError:
        return 141  # stdout closed early (e.g. piped into head)
