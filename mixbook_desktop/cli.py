"""The `mixbook-desktop` command line."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from mixbook_desktop import __version__, cli_cloud
from mixbook_desktop.analysis import manifest
from mixbook_desktop.core import paths
from mixbook_desktop.core.book import PRODUCTS
from mixbook_desktop.core.captions import Source, Tone
from mixbook_desktop.export.pdf import ExportError, render_pngs, write_pdf
from mixbook_desktop.layout.checks import Problem, Severity, check_book
from mixbook_desktop.services import book as book_service
from mixbook_desktop.services import captions, catalog, people
from mixbook_desktop.services.analysis import (
    FACE_PACK_KEY,
    AnalysisReport,
    PhotoDone,
    analyze_book,
    cloud_settings,
)
from mixbook_desktop.services.importer import Change, ImportReport, ImportResult, import_paths
from mixbook_desktop.services.relink import relink_missing
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.captions import CaptionStore
from mixbook_desktop.store.project import Project, ProjectError, write_refused

# Human output to stdout; progress and diagnostics to stderr, so `--json` stays clean.
# Piped output gets a wide fixed width so tables stay readable in files and logs.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _run_import(book: Path, sources: Sequence[str], as_json: bool, jobs: int | None) -> ImportReport:
    with Project.open(book, create=True) as project:
        progress = _progress("importing")

        def show(result: ImportResult) -> None:
            progress.advance(task)
            if as_json:
                return
            # Paths are escaped: a file name such as "a[b]" is not markup.
            path, detail = escape(result.path), escape(str(result.detail))
            if result.change is Change.ERROR:
                out.print(f"[red]error[/]      {path}: {detail}")
            elif result.change is Change.DUPLICATE:
                out.print(f"[yellow]duplicate[/]  {path}: same content as {detail}")
            elif result.change is Change.RELINKED:
                out.print(f"relinked   {path}" + (f" (was {detail})" if result.detail else ""))

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
    return f"{escape(str(book))}: " + ", ".join(parts)


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
    for column in ("file", "status", "size", "taken", "place", "camera", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row["status"] == "error":
            name, error = escape(Path(str(row["file"])).name), escape(str(row["error"]))
            table.add_row(name, "[red]error[/]", error, "", "", "", "")
            continue
        camera = row["camera"]
        camera_text = " ".join(v for v in camera.values() if v) if isinstance(camera, dict) else ""
        cells = [
            Path(str(row["file"])).name,
            str(row["status"]),
            f"{row['width']}x{row['height']}",
            str(row["taken_at"] or ""),
            str(row["place"] or ""),
            camera_text,
            str(row.get("description") or ""),
        ]
        # EXIF text and places are the file's, never markup.
        table.add_row(*map(escape, cells))
    return table


def cmd_photos(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        rows = catalog.photo_listing(project)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        out.print(_photo_table(rows))
    return 0


def cmd_relink(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        report = relink_missing(project, args.folders)
    for old, new in report.relinked:
        out.print(f"relinked   {escape(new)} (was {escape(old)})")
    for path in report.still_missing:
        out.print(f"[red]missing[/]    {escape(path)}")
    for path in report.changed:
        out.print(
            f"[yellow]changed[/]    {escape(path)}: holds other content now, and the photo "
            "imported from it was not found (import the file to add what it holds now)"
        )
    for path in report.replaced:
        out.print(
            f"[red]replaced[/]   {escape(path)}: another photo's file was put here; the photo "
            "imported from it is in no file any more"
        )
    out.print(
        f"{len(report.relinked)} relinked, {len(report.still_missing)} still missing"
        + (f", {len(report.changed)} changed" if report.changed else "")
        + (f", {len(report.replaced)} replaced" if report.replaced else "")
    )
    return 0


def _run_analysis(book: Path, jobs: int | None, face_pack: Path | None = None) -> AnalysisReport:
    if face_pack is not None:
        err.print(f"faces from the InsightFace pack {escape(str(face_pack))}")
    with Project.open(book) as project:
        cloud = cloud_settings(project)
        if cloud is not None:
            where = cloud.rekognition_endpoint or f"AWS {cloud.region}"
            bucket, where = escape(str(cloud.bucket)), escape(where)
            err.print(f"analysing in the cloud: photos to s3://{bucket}, Rekognition at {where}")
        progress = _progress("{task.description}")
        sending: list[TaskID] = []

        def show(done: PhotoDone) -> None:
            progress.advance(task)
            for stage, reason in sorted(done.errors.items()):
                out.print(f"[red]error[/]      {escape(done.path)}: {stage}: {escape(reason)}")

        def uploading(sent: int, size: int) -> None:
            if not sending:
                sending.append(progress.add_task("uploading (bytes)", total=size))
            progress.update(sending[0], completed=sent, total=size)

        with progress:
            task = progress.add_task("analysing", total=None)
            report = analyze_book(
                project,
                on_done=show,
                on_total=lambda n: progress.update(task, total=n),
                workers=jobs,
                face_pack=face_pack,
                on_upload=uploading,
            )
    for problem in report.model_problems:
        err.print(f"[red]problem[/] {escape(str(problem))}")
    failed = len({d.sha256 for d in report.failed})
    noun = "photo" if len(report.done) == 1 else "photos"
    out.print(
        f"{escape(str(book))}: {len(report.done)} {noun} analysed, {failed} with errors, "
        f"{report.people_placed} faces placed among people, {report.duplicate_groups} duplicate groups"
    )
    return report


def cmd_analyze(args: argparse.Namespace) -> int:
    # The pack is a setting of the book: later runs keep using it until it is changed.
    with Project.open(args.book) as project:
        settings = AnalysisStore(project)
        if args.face_pack is not None:
            pack = str(Path(args.face_pack).expanduser().absolute()) if args.face_pack else None
            settings.set_setting(FACE_PACK_KEY, pack)
        saved = settings.get_setting(FACE_PACK_KEY)
    report = _run_analysis(args.book, args.jobs, Path(saved) if saved else None)
    return 1 if report.model_problems and not report.done and not report.people_placed else 0


def cmd_people(args: argparse.Namespace) -> int:
    # With --json, stdout carries only the JSON; what each change did goes to stderr.
    say = err.print if args.json else out.print
    with Project.open(args.book) as project:
        try:
            if args.threshold is not None:
                people.set_threshold(project, args.threshold, people.book_faces(project))
                say(f"people threshold set to {args.threshold:g}; run with --recluster to apply it")
            if args.name:
                person = people.name(project, args.name[0], args.name[1])
                say(f"person {person.id} is now called {escape(repr(person.name))}")
            if args.merge:
                person = people.merge(project, args.merge[0], args.merge[1])
                say(f"merged into person {person.id} ({escape(person.name or 'unnamed')})")
            if args.split is not None:
                person = people.split(project, args.split)
                say(f"face {args.split} is now person {person.id}")
            for ref in args.hide or []:
                person = people.hide(project, ref, True)
                say(f"person {person.id} hidden")
            for ref in args.unhide or []:
                person = people.hide(project, ref, False)
                say(f"person {person.id} shown again")
            if args.recluster:
                placed = people.recluster(project)
                say(f"re-clustered: {placed} faces placed; your names, merges, splits and hides kept")
        except people.PeopleError as exc:
            err.print(f"mixbook-desktop: {escape(str(exc))}")
            return 1
        everyone = people.listing(project)
    if args.json:
        print(json.dumps([p.as_json() for p in everyone], indent=2, ensure_ascii=False))
        return 0
    table = Table(pad_edge=False)
    for column in ("person", "name", "faces", "photos", "hidden"):
        table.add_column(column)
    for p in everyone:
        data = p.as_json()
        table.add_row(
            str(p.id),
            escape(p.name or ""),
            str(data["face_count"]),
            str(data["photo_count"]),
            "yes" if p.hidden else "",
        )
    out.print(table)
    return 0


def cmd_flagged(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        try:
            for sha in args.allow or []:
                catalog.set_moderation_override(project, sha, "allow")
            for sha in args.block or []:
                catalog.set_moderation_override(project, sha, "block")
            for sha in args.reset or []:
                catalog.set_moderation_override(project, sha, None)
        except LookupError as exc:
            err.print(f"mixbook-desktop: {escape(str(exc))}")
            return 1
        rows = catalog.flagged(project)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        out.print("no photo is flagged, waiting for review, or unchecked")
    for row in rows:
        mod = row["moderation"]
        state = "flagged" if mod["flagged"] else (mod["level"] or mod["status"])
        score = f"{mod['score']:.3f}" if mod["score"] is not None else "n/a"
        extra = f" (you chose: {escape(str(mod['override']))})" if mod["override"] else ""
        out.print(f"{state:<11} score {score}  {row['sha256'][:12]}  {escape(str(row['file']))}{extra}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    problems = 0
    for name, state in manifest.status():
        if state == "ok":
            out.print(f"ok       {escape(str(name))}")
        else:
            problems += 1
            out.print(f"[red]problem[/]  {escape(str(state))}")
    return 1 if problems else 0


def cmd_demo(args: argparse.Namespace) -> int:
    book: Path = args.book
    if args.fresh and book.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{book}{suffix}").unlink(missing_ok=True)
    out.print(f"Demo book: {escape(str(book))}")
    report = _run_import(book, [str(paths.demo_photos_dir())], False, args.jobs)
    out.print(_summary(report, book))
    with Project.open(book) as project:
        saved = AnalysisStore(project).get_setting(FACE_PACK_KEY)
    _run_analysis(book, args.jobs, Path(saved) if saved else None)
    _run_layout(book, None, None)
    _run_captions(book)
    with Project.open(book) as project:
        out.print(_photo_table(catalog.photo_listing(project)))
    pdf = book.with_suffix(".pdf")
    code = _run_export(book, pdf, book.parent / "pages")
    out.print(f"The book: {escape(str(pdf))}; its pages as pictures: {escape(str(book.parent / 'pages'))}")
    out.print(
        f"Read it as JSON: mixbook-desktop photos {escape(str(book))} --json; "
        f"the print check: mixbook-desktop check {escape(str(book))}"
    )
    if args.window == "no":
        return code
    # The editor on the finished book: in a window, or offscreen to screenshots.
    return cmd_gui(argparse.Namespace(book=book, screenshots=None, quit=False)) or code


def _run_captions(
    book: Path, only: list[str] | None = None, regenerate: bool = False, as_json: bool = False
) -> int:
    # With --json, stdout carries only the JSON; progress lines go to stderr.
    say = err.print if as_json else out.print
    with Project.open(book) as project:
        options = captions.load_options(project)
        model = options.model or "the bundled SmolLM2-135M-Instruct"
        words = f"{options.min_words}-{options.max_words} words"
        err.print(f"captions: tone {options.tone}, {words}, {escape(str(model))}")
        progress = _progress("captioning")

        def show(done: captions.Done) -> None:
            if done.source is None or done.source is Source.USER:
                say(f"[yellow]skipped[/]    {escape(done.target.label)}: {escape(str(done.note))}")
                return
            progress.advance(task)
            mark = "" if done.source is Source.MODEL else f"  [dim](template: {escape(str(done.note))})[/]"
            say(f"{escape(done.target.label)}: {escape(str(done.text))}{mark}")

        with progress:
            task = progress.add_task("caption", total=None)
            report = captions.caption_book(
                project,
                only=only,
                regenerate=regenerate,
                on_total=lambda n: progress.update(task, total=n),
                on_done=show,
            )
    made = report.count(Source.MODEL) + report.count(Source.TEMPLATE)
    say(
        f"{escape(str(book))}: {made} texts suggested ({report.count(Source.MODEL)} by the model, "
        f"{report.count(Source.TEMPLATE)} from templates)" + (", cancelled" if report.cancelled else "")
    )
    return 0


def _words(value: str) -> tuple[int, int]:
    low, _, high = value.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a range such as 6-10") from None


def cmd_caption(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        try:
            captions.save_options(
                project,
                tone=Tone(args.tone) if args.tone else None,
                style_hint=args.style,
                words=args.words,
                model=str(Path(args.model).expanduser())
                if args.model
                else ("" if args.model == "" else None),
            )
            if args.set:
                target = captions.resolve_target(project, args.set[0])
                captions.set_caption(project, target, args.set[1])
                said = f"{escape(str(args.set[0]))}: your caption is kept"
                out.print(f"{said}; regenerating will never replace it")
                return 0
            if args.pick:
                target = captions.resolve_target(project, args.pick[0])
                text = captions.pick(project, target, int(args.pick[1]))
                out.print(f"{escape(str(args.pick[0]))}: {escape(str(text))}")
                return 0
            for ref, action in [(args.lock, "lock"), (args.unlock, "unlock"), (args.clear, "clear")]:
                if ref:
                    target = captions.resolve_target(project, ref)
                    if action == "clear":
                        captions.clear(project, target)
                    else:
                        captions.lock(project, target, action == "lock")
                    out.print(f"{escape(str(ref))}: {action}ed")
                    return 0
            if args.history:
                target = captions.resolve_target(project, args.history)
                events = CaptionStore(project).history(target)
                if args.json:
                    print(json.dumps(events, indent=2, ensure_ascii=False))
                for e in events if not args.json else []:
                    out.print(f"{e['at']}  {e['action']:28} {escape(e['text'] or '')}")
                return 0
            only = [captions.resolve_photo(project, ref) for ref in args.photo] if args.photo else None
        except captions.CaptionError as exc:
            err.print(f"mixbook-desktop: {escape(str(exc))}")
            return 1
    code = _run_captions(args.book, only, args.regenerate, args.json)
    if args.json:
        with Project.open(args.book) as project:
            view = catalog.caption_view(project)
            targets = captions.collect_targets(project)
        print(
            json.dumps(
                [
                    {"target": t.key, "label": t.label, "sha256": t.sha256, **view.get(t.key, {})}
                    for t in targets
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
    return code


def _pages_table(project: Project) -> Table:
    printed = book_service.printed_book(project)
    names = {info.photo_id: info.name for info in book_service.photo_infos(project).values()}
    table = Table(pad_edge=False)
    for column in ("page", "chapter", "template", "photos", "texts", "locked"):
        table.add_column(column, overflow="fold")
    for page in printed.pages:
        photos = ", ".join(
            f"{p.slot + 1}:{names.get(p.photo_id, '?') if p.photo_id else '(empty)'}"
            + ("*" if p.placed_by_user else "")
            for p in page.photos
        )
        texts = " / ".join(": ".join(text for text, _ in t.parts()) or "(none yet)" for t in page.texts)
        cells = [page.label, page.chapter or "", page.template, photos, texts, "yes" if page.locked else ""]
        table.add_row(*map(escape, cells))
    return table


def _run_layout(book: Path, product: str | None, pages: int | None) -> book_service.LayoutReport:
    with Project.open(book) as project:
        report = book_service.layout_book(project, product, pages)
    out.print(
        f"{escape(str(book))}: {report.product.name}, {report.pages} pages, {report.placed} photos placed"
        + (f", {report.kept_pages} locked pages kept" if report.kept_pages else "")
        + (
            f"; the last {report.blank} are blank: not enough photos for {report.pages} pages "
            f"({report.product.name} books have at least {report.product.min_pages})"
            if report.blank
            else ""
        )
    )
    if pages and report.pages != pages:
        rule = report.product
        out.print(
            f"{pages} pages asked for, {report.pages} made: {rule.name} books have {rule.min_pages} to "
            f"{rule.max_pages} pages in steps of {rule.page_step}"
        )
    if report.left_out:
        out.print(
            f"[yellow]no room[/] for {len(report.left_out)}: {escape(', '.join(report.left_out))} "
            "(ask for more --pages)"
        )
    for reason, files in sorted(report.not_used.items()):
        out.print(f"not used ({reason}): {escape(', '.join(sorted(files)))}")
    return report


def cmd_layout(args: argparse.Namespace) -> int:
    try:
        _run_layout(args.book, args.product, args.pages)
    except book_service.BookError as exc:
        err.print(f"mixbook-desktop: {escape(str(exc))}")
        return 1
    if args.json:
        with Project.open(args.book) as project:
            print(json.dumps(book_service.pages_json(project), indent=2, ensure_ascii=False))
        return 0
    with Project.open(args.book) as project:
        out.print(_pages_table(project))
    return 0


def _page_count(value: str) -> int:
    """A page count, or 'auto' (0) for as many as the photos need."""
    if value == "auto":
        return 0
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a number of pages or 'auto'") from None


def _page_slot(value: str) -> tuple[int, int | None]:
    page, _, slot = value.partition(".")
    try:
        return int(page), int(slot) if slot else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give PAGE or PAGE.SLOT, e.g. 3 or 3.2") from None


def _crop_values(value: str) -> tuple[float, float, float]:
    try:
        x, y, w = (float(v) for v in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give X,Y,WIDTH as fractions, e.g. 0.1,0,0.8") from None
    return x, y, w


def _slot_of(where: str) -> tuple[int, int]:
    page, slot = _page_slot(where)
    if slot is None:
        raise argparse.ArgumentTypeError(f"{where}: say which slot, e.g. {where}.1")
    return page, slot


def _edit_pages(project: Project, args: argparse.Namespace) -> list[str]:
    """Every edit the command asks for, in a fixed order; what each did, to print."""
    done: list[str] = []
    for where, template in args.template or []:
        page, slot = _page_slot(where)
        if slot is not None:
            raise argparse.ArgumentTypeError(f"{where}: a template is for a whole page, e.g. {page}")
        book_service.set_template(project, page, template)
        done.append(f"page {page}: now {template}")
    for page, slot in args.lock or []:
        book_service.lock(project, page, slot, True)
        done.append(f"page {page}{f' slot {slot}' if slot else ''}: locked")
    for page, slot in args.unlock or []:
        book_service.lock(project, page, slot, False)
        done.append(f"page {page}{f' slot {slot}' if slot else ''}: unlocked")
    for where, ref in args.place or []:
        page, slot = _slot_of(where)
        outcome = book_service.place(project, page, slot, ref)
        done.append(
            f"page {page} slot {slot}: {ref} placed (and kept there)"
            + (f"; the photo it replaces: {outcome}" if outcome else "")
        )
    for ref in args.remove or []:
        emptied = book_service.remove(project, ref)
        done.append(f"{ref}: taken out of the book ({emptied} slots emptied until the next layout)")
    for ref in args.restore or []:
        book_service.restore(project, ref)
        done.append(f"{ref}: the layout may use it again")
    if args.crop:
        where, values = args.crop
        x, y, w = _crop_values(values)
        page, slot = _slot_of(where)
        box = book_service.set_crop(project, page, slot, x, y, w)
        done.append(f"page {page} slot {slot}: crop {box.as_list()} kept through re-layouts")
    # Last, in the order given: each numbers the pages as the one before left them.
    for after in args.add_page or []:
        added = book_service.add_page(project, after)
        done.append(f"page {added}: added, empty; the pages after it moved on by one")
    for page in args.remove_page or []:
        unplaced = book_service.remove_page(project, page)
        done.append(
            f"page {page}: removed, the pages after it moved back by one"
            + (f"; {len(unplaced)} photos no longer placed (Auto-fill may use them)" if unplaced else "")
        )
    return done


def cmd_pages(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        try:
            # All of the command's edits or none: a mistake in the last leaves the book as it was.
            with project.db.atomic():
                done = _edit_pages(project, args)
        except (book_service.BookError, argparse.ArgumentTypeError) as exc:
            err.print(f"mixbook-desktop: {escape(str(exc))}")
            return 1
        for line in done:
            (err.print if args.json else out.print)(escape(line))
        if args.json:
            print(json.dumps(book_service.pages_json(project), indent=2, ensure_ascii=False))
        else:
            out.print(_pages_table(project))
    return 0


def _print_problems(problems: list[Problem]) -> None:
    colour = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
    for problem in problems:
        out.print(
            f"[{colour[problem.severity]}]{problem.severity.value:<7}[/] "
            f"{escape(str(problem.where))}: {escape(problem.message)}"
        )


def _problem_summary(problems: list[Problem]) -> str:
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = sum(p.severity is Severity.WARNING for p in problems)
    return f"{errors} errors, {warnings} warnings"


def cmd_check(args: argparse.Namespace) -> int:
    with Project.open(args.book) as project:
        try:
            problems = check_book(book_service.printed_book(project))
        except book_service.BookError as exc:
            err.print(f"mixbook-desktop: {escape(str(exc))}")
            return 1
    if args.json:
        print(json.dumps([p.as_json() for p in problems], indent=2, ensure_ascii=False))
    else:
        _print_problems(problems)
        out.print(f"{escape(str(args.book))}: {_problem_summary(problems)}")
    return 1 if any(p.severity is Severity.ERROR for p in problems) else 0


def _run_export(book: Path, pdf: Path, png: Path | None) -> int:
    if pdf.expanduser().absolute() == book.expanduser().absolute() or pdf.suffix.lower() != ".pdf":
        err.print(
            f"mixbook-desktop: {escape(str(pdf))}: the book is written to a file ending in .pdf, "
            "beside the project"
        )
        return 1
    with Project.open(book) as project:
        try:
            printed = book_service.printed_book(project)
        except book_service.BookError as exc:
            err.print(f"mixbook-desktop: {escape(str(exc))}")
            return 1
        title = (catalog.caption_view(project).get("book") or {}).get("text")
    if not printed.pages:
        shown = escape(str(book))
        err.print(f"mixbook-desktop: {shown} has no pages yet; run `mixbook-desktop layout {shown}` first")
        return 1
    problems = check_book(printed)
    progress = _progress("exporting")
    with progress:
        task = progress.add_task("export", total=len(printed.pages))
        try:
            report = write_pdf(
                printed, pdf, on_page=lambda n, total: progress.update(task, completed=n), title=title
            )
        except ExportError as exc:
            err.print(f"mixbook-desktop: {escape(str(exc))}")
            return 1
    for problem in report.problems:
        out.print(f"[red]error[/]   {escape(problem)}")
    out.print(
        f"{escape(str(pdf))}: {report.pages} pages ({printed.product.name}), {report.original} photos "
        f"as their original JPEG, {report.resampled} resampled; print check: {_problem_summary(problems)}"
        + (
            f" (mixbook-desktop check {escape(str(book))})"
            if any(p.severity is not Severity.INFO for p in problems)
            else ""
        )
    )
    if png is not None:
        names = [f"page-{p.position:03d}" if p.position else "cover" for p in printed.pages]
        try:
            written = render_pngs(pdf, png, names)
        except OSError as exc:
            reason = escape(str(exc.strerror or exc))
            err.print(f"mixbook-desktop: page previews: cannot write into {escape(str(png))}: {reason}")
            return 1
        out.print(f"{len(written)} page previews in {escape(str(png))}")
    return 1 if report.problems else 0


def cmd_export(args: argparse.Namespace) -> int:
    return _run_export(args.book, args.pdf, args.png)


def cmd_make(args: argparse.Namespace) -> int:
    pdf: Path = args.pdf
    if pdf.suffix.lower() != ".pdf":
        err.print(f"mixbook-desktop: {escape(str(pdf))}: give the PDF's name, ending in .pdf")
        return 1
    book: Path = args.book or pdf.with_suffix(".mbook")
    steps = "import, analyse, lay out, caption, export"
    err.print(f"{escape(str(book))}: {steps}")
    report = _run_import(book, [str(args.photos)], False, args.jobs)
    out.print(_summary(report, book))
    with Project.open(book) as project:
        saved = AnalysisStore(project).get_setting(FACE_PACK_KEY)
        if args.tone:
            captions.save_options(project, tone=Tone(args.tone))
    _run_analysis(book, args.jobs, Path(saved) if saved else None)
    try:
        _run_layout(book, args.product, args.pages)
    except book_service.BookError as exc:
        err.print(f"mixbook-desktop: {escape(str(exc))}")
        return 1
    _run_captions(book)
    return _run_export(book, pdf, args.png)


def cmd_share(args: argparse.Namespace) -> int:
    from mixbook_desktop.services.share import share_copy

    out_path: Path = args.out
    if out_path.suffix.lower() != ".mbook":
        err.print(f"mixbook-desktop: {escape(str(out_path))}: give the copy's name, ending in .mbook")
        return 1
    report = share_copy(args.book, out_path, keep_faces=args.keep_faces)
    kept = "kept" if args.keep_faces else f"{report.embeddings_removed} face embeddings left out"
    size = f"{report.size / 1e6:.1f} MB"
    out.print(f"{escape(str(report.path))}: a copy to share ({size}), {report.faces} faces, {kept}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    # Qt is loaded only for the editor: the command line works without a display.
    from mixbook_desktop.ui.app import has_display, run

    book: Path = args.book
    if not book.exists():
        shown = escape(str(book))
        err.print(f"mixbook-desktop: no book at {shown} (make one: mixbook-desktop import {shown} PHOTOS)")
        return 1
    with Project.open(book):
        pass  # a file that is not a book is refused here, in one line, before any window
    screenshots = args.screenshots
    if not has_display() and screenshots is None:
        screenshots = book.parent / "screenshots"
        err.print(f"no display: the editor runs offscreen and saves its views in {escape(str(screenshots))}")
    if not has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return run(book, screenshots, quit_after=args.quit or not has_display())


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

    p = sub.add_parser("analyze", help="analyse photos on this machine: faces, people, labels, ...")
    p.add_argument("book", type=Path)
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument(
        "--face-pack",
        metavar="DIR",
        help="an InsightFace pack (SCRFD + ArcFace ONNX) for this book's faces; '' for the bundled models",
    )
    p.set_defaults(run=cmd_analyze)

    p = sub.add_parser("people", help="list, name, merge, split and hide the people in a book")
    p.add_argument("book", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--name", nargs=2, metavar=("PERSON", "NAME"), help="name a person (number or name)")
    p.add_argument("--merge", nargs=2, metavar=("A", "B"), help="move person A's faces into person B")
    p.add_argument("--split", type=int, metavar="FACE", help="make face FACE a person of its own")
    p.add_argument("--hide", action="append", metavar="PERSON", help="hide a person (repeatable)")
    p.add_argument("--unhide", action="append", metavar="PERSON")
    p.add_argument("--threshold", type=float, help="face distance under which faces are one person")
    p.add_argument("--recluster", action="store_true", help="group again, keeping your decisions")
    p.set_defaults(run=cmd_people)

    p = sub.add_parser("flagged", help="photos flagged as objectionable, to review, or unchecked")
    p.add_argument("book", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--allow", action="append", metavar="SHA256", help="use this photo although flagged")
    p.add_argument("--block", action="append", metavar="SHA256", help="keep this photo out of the book")
    p.add_argument("--reset", action="append", metavar="SHA256", help="forget your decision")
    p.set_defaults(run=cmd_flagged)

    p = sub.add_parser("caption", help="suggest captions, a book title and chapter titles; edit them")
    p.add_argument("book", type=Path)
    p.add_argument("--tone", choices=[t.value for t in Tone], help="kept for the book (default neutral)")
    p.add_argument("--style", metavar="HINT", help="a style hint of your own, kept for the book ('' clears)")
    p.add_argument("--words", type=_words, metavar="MIN-MAX", help="caption length in words (default 6-10)")
    p.add_argument(
        "--model", metavar="FILE", help="a GGUF chat model to use instead ('' for the bundled one)"
    )
    p.add_argument("--photo", action="append", metavar="SHA256", help="only this photo (repeatable)")
    p.add_argument("--regenerate", action="store_true", help="new suggestions (your edits are kept)")
    p.add_argument(
        "--set", nargs=2, metavar=("TARGET", "TEXT"), help="your own text; TARGET: SHA256, book, chapter:N"
    )
    p.add_argument(
        "--pick", nargs=2, metavar=("TARGET", "N"), help="accept the suggestion (0) or alternative N"
    )
    p.add_argument("--lock", metavar="TARGET", help="never regenerate it")
    p.add_argument("--unlock", metavar="TARGET")
    p.add_argument("--clear", metavar="TARGET", help="forget your text, show the suggestion again")
    p.add_argument("--history", metavar="TARGET", help="what was suggested and changed, oldest first")
    p.add_argument("--json", action="store_true", help="print every text as JSON")
    p.set_defaults(run=cmd_caption)

    p = sub.add_parser(
        "layout", help="lay the book out: chapters, pages, photos, crops (keeps what you locked)"
    )
    p.add_argument("book", type=Path)
    p.add_argument(
        "--product",
        metavar="PRODUCT",
        help=f"the book's format, kept: {', '.join(PRODUCTS)}, or a size such as 9.5x8in (default 8x8)",
    )
    p.add_argument(
        "--pages",
        type=_page_count,
        metavar="N",
        help="how many pages, kept; 'auto' (the default): as the photos need",
    )
    p.add_argument("--json", action="store_true", help="print the pages as JSON")
    p.set_defaults(run=cmd_layout)

    p = sub.add_parser("pages", help="list, add and remove pages; lock them, place, remove and crop photos")
    p.add_argument("book", type=Path)
    p.add_argument(
        "--lock", action="append", type=_page_slot, metavar="PAGE[.SLOT]", help="keep through re-layouts"
    )
    p.add_argument("--unlock", action="append", type=_page_slot, metavar="PAGE[.SLOT]")
    p.add_argument(
        "--place", action="append", nargs=2, metavar=("PAGE.SLOT", "SHA256"), help="put a photo there"
    )
    p.add_argument(
        "--template", action="append", nargs=2, metavar=("PAGE", "TEMPLATE"), help="change a page's template"
    )
    p.add_argument("--remove", action="append", metavar="SHA256", help="take a photo out of the book")
    p.add_argument("--restore", action="append", metavar="SHA256", help="let the layout use it again")
    p.add_argument(
        "--crop",
        nargs=2,
        metavar=("PAGE.SLOT", "X,Y,WIDTH"),
        help="show the photo from X,Y, WIDTH wide (fractions; the height follows the slot)",
    )
    p.add_argument(
        "--add-page",
        action="append",
        type=int,
        metavar="AFTER",
        help="add an empty page after AFTER (0: first)",
    )
    p.add_argument("--remove-page", action="append", type=int, metavar="PAGE", help="remove a page")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_pages)

    p = sub.add_parser("check", help="print checks: resolution, faces, text, empty slots, page count")
    p.add_argument("book", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("export", help="write the print-ready PDF")
    p.add_argument("book", type=Path)
    p.add_argument("pdf", type=Path, metavar="OUT.pdf")
    p.add_argument("--png", type=Path, metavar="DIR", help="also render page previews into DIR")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("make", help="photos to PDF in one go: import, analyse, lay out, caption, export")
    p.add_argument("photos", type=Path, metavar="PHOTOS_DIR")
    p.add_argument("pdf", type=Path, metavar="OUT.pdf")
    p.add_argument("--book", type=Path, help="project file (default: OUT.mbook beside the PDF)")
    p.add_argument("--product", metavar="PRODUCT", help="as for `layout` (default 8x8)")
    p.add_argument("--pages", type=_page_count, metavar="N", help="as for `layout`")
    p.add_argument("--tone", choices=[t.value for t in Tone])
    p.add_argument("--png", type=Path, metavar="DIR", help="also render page previews into DIR")
    p.add_argument("--jobs", type=int, default=None)
    p.set_defaults(run=cmd_make)

    p = sub.add_parser("gui", help="open the editor on a book (offscreen screenshots without a display)")
    p.add_argument("book", type=Path)
    p.add_argument("--screenshots", type=Path, metavar="DIR", help="save views of the window into DIR")
    p.add_argument("--quit", action="store_true", help="close after the screenshots")
    p.set_defaults(run=cmd_gui)

    p = sub.add_parser(
        "share", help="a copy of the book to give away: no face embeddings, no cloud settings or ids"
    )
    p.add_argument("book", type=Path)
    p.add_argument("out", type=Path, metavar="COPY.mbook")
    p.add_argument("--keep-faces", action="store_true", help="keep the face embeddings (biometric data)")
    p.set_defaults(run=cmd_share)

    p = sub.add_parser("models", help="check that every analysis model is present and intact")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("relink", help="find moved photos by content under FOLDER")
    p.add_argument("book", type=Path)
    p.add_argument("folders", nargs="+", metavar="FOLDER")
    p.set_defaults(run=cmd_relink)

    p = sub.add_parser("demo", help="build the demo book from the bundled photos")
    p.add_argument("--book", type=Path, default=paths.default_demo_book())
    p.add_argument("--fresh", action="store_true", help="start from an empty book")
    p.add_argument(
        "--window",
        choices=["auto", "no"],
        default="auto",
        help="then open the editor (auto: in a window, or offscreen to screenshots without a display)",
    )
    p.add_argument("--jobs", type=int, default=None)
    p.set_defaults(run=cmd_demo)
    cli_cloud.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ProjectError as exc:
        err.print(f"mixbook-desktop: {escape(str(exc))}")
        return 1
    except (sqlite3.OperationalError, OSError) as exc:
        if not write_refused(exc):
            raise
        # SQLite rolled the unfinished transaction back: the book is whole, with every commit.
        err.print(
            "mixbook-desktop: a write was refused (the disk is full, or failing): everything "
            "reported so far is saved; free some space and run it again"
        )
        return 1
    except KeyboardInterrupt:
        err.print("mixbook-desktop: interrupted; everything reported so far is saved")
        return 130
    except BrokenPipeError:
        return 141  # stdout closed early (e.g. piped into head)
