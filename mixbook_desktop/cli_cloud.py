"""The cloud mode's commands: `cloud` (settings), `cloud-login`, `upload`, `compare`, `sync`.

The cloud code is imported inside each command, so the rest of the command line (and local
mode as a whole) never loads boto3 or psycopg."""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from mixbook_desktop.store.project import Project

_SETTINGS_FLAGS = {
    "analysis": "--analysis",
    "bucket": "--bucket",
    "prefix": "--prefix",
    "region": "--region",
    "s3_endpoint": "--s3-endpoint",
    "rekognition_endpoint": "--rekognition-endpoint",
    "captions": "--captions",
    "openai_url": "--openai-url",
    "openai_model": "--openai-model",
    "bedrock_model": "--bedrock-model",
    "bedrock_endpoint": "--bedrock-endpoint",
    "postgres_url": "--postgres-url",
}


def _consoles() -> tuple[Any, Any]:
    from mixbook_desktop.cli import err, out

    return out, err


def cmd_cloud(args: argparse.Namespace) -> int:
    from mixbook_desktop.cloud import config

    out, err = _consoles()
    changes = {name: getattr(args, name) for name in _SETTINGS_FLAGS if getattr(args, name) is not None}
    with Project.open(args.book) as project:
        try:
            settings = config.save(project, **changes) if changes else config.load(project)
        except config.CloudError as exc:
            err.print(f"[red]not saved[/] {escape(str(exc))}")
            return 1
    if args.json:
        out.print_json(json.dumps(settings.as_json()))
        return 0
    table = Table("setting", "value", "flag")
    for name, flag in _SETTINGS_FLAGS.items():
        value = getattr(settings, name)
        table.add_row(name, escape("" if value is None else str(value)), flag)
    out.print(table)
    if changes:
        out.print(f"{escape(str(args.book))}: saved {', '.join(sorted(changes))}")
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    """Keys into the OS keyring, typed at a prompt: never on the command line, where they
    would stay in the shell's history and the process list."""
    from mixbook_desktop.cloud import aws
    from mixbook_desktop.cloud.captions import API_KEY_NAME
    from mixbook_desktop.cloud.config import CloudError

    out, err = _consoles()
    try:
        if args.openai_key:
            aws.save_secret(API_KEY_NAME, getpass.getpass("API key of the OpenAI-compatible endpoint: "))
            out.print("saved the endpoint's API key in the OS keyring")
            return 0
        if args.postgres:
            from mixbook_desktop.cloud import postgres

            postgres.save_pg_password(args.postgres, getpass.getpass(f"password for {args.postgres}: "))
            out.print("saved the PostgreSQL password in the OS keyring")
            return 0
        access = input("AWS access key id: ").strip()
        secret = getpass.getpass("AWS secret access key: ").strip()
        if not access or not secret:
            err.print("nothing saved: both keys are needed")
            return 1
        aws.save_to_keyring(access, secret)
    except CloudError as exc:
        err.print(f"[red]not saved[/] {escape(str(exc))}")
        return 1
    out.print("saved the AWS keys in the OS keyring (used when the AWS chain has none)")
    return 0


def _settings_or_fail(project: Project, need_bucket: bool = True) -> Any:
    from mixbook_desktop.cloud import config

    settings = config.load(project)
    if need_bucket and not settings.bucket:
        raise config.CloudError("the book has no S3 bucket yet: mixbook-desktop cloud BOOK --bucket NAME")
    return settings


def cmd_upload(args: argparse.Namespace) -> int:
    from mixbook_desktop.cli import _progress
    from mixbook_desktop.cloud import uploads
    from mixbook_desktop.cloud.config import CloudError

    out, err = _consoles()
    with Project.open(args.book) as project:
        try:
            settings = _settings_or_fail(project)
            progress = _progress("uploading")
            with progress:
                task = progress.add_task("upload", total=None)
                report = uploads.upload_book(
                    project,
                    settings,
                    on_progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
        except CloudError as exc:
            err.print(f"[red]upload stopped[/] {escape(str(exc))}")
            return 1
    for path, reason in report.failed:
        out.print(f"[red]error[/]      {escape(str(path))}: {escape(str(reason))}")
    out.print(
        f"{escape(str(args.book))}: {len(report.uploaded)} uploaded, {report.skipped} already there, "
        f"{len(report.failed)} failed, {report.bytes_sent / 1e6:.1f} MB sent"
    )
    return 1 if report.failed else 0


def _emotions(found: list[str | None]) -> str:
    return " ".join(e.lower() if e else "-" for e in found)


def cmd_compare(args: argparse.Namespace) -> int:
    from mixbook_desktop.cloud.config import CloudError
    from mixbook_desktop.services import cloud_analysis

    out, err = _consoles()
    with Project.open(args.book) as project:
        try:
            settings = _settings_or_fail(project)
            report = cloud_analysis.compare(
                project, settings, on_photo=lambda p: err.print(f"compared {escape(Path(p.path).name)}")
            )
        except CloudError as exc:
            err.print(f"[red]compare stopped[/] {escape(str(exc))}")
            return 1
    if args.json:
        out.print_json(json.dumps(report.as_json()))
        return 0
    table = Table("photo", "faces L/C", "emotions L / C", "tags L / C", "moderation L/C", "agree")
    for p in report.photos:
        if p.local is None or p.cloud is None or p.agreement is None:
            table.add_row(escape(Path(p.path).name), "", "", "", "", f"[red]{escape(str(p.error))}[/]")
            continue
        table.add_row(
            escape(Path(p.path).name),
            f"{len(p.local.faces)}/{len(p.cloud.faces)}",
            escape(f"{_emotions(p.local.emotions)} / {_emotions(p.cloud.emotions)}"),
            escape(f"{', '.join(sorted(p.local.tags))} / {', '.join(sorted(p.cloud.tags))}"),
            f"{p.local.moderation}/{p.cloud.moderation}",
            f"{p.agreement.overall:.0%}",
        )
    out.print(table)
    means = {k: report.mean(k) for k in ("faces", "emotions", "tags", "moderation", "overall")}
    out.print("agreement: " + ", ".join(f"{k} {v:.0%}" for k, v in means.items() if v is not None))
    return 1 if any(p.error for p in report.photos) else 0


def cmd_sync(args: argparse.Namespace) -> int:
    from mixbook_desktop.cloud import caption_sync
    from mixbook_desktop.cloud.config import CloudError

    out, err = _consoles()
    with Project.open(args.book) as project:
        try:
            settings = _settings_or_fail(project, need_bucket=False)
            if not settings.postgres_url:
                raise CloudError(
                    "the book has no PostgreSQL URL: mixbook-desktop cloud BOOK --postgres-url URL"
                )
            report = caption_sync.sync_captions(project, settings)
        except CloudError as exc:
            err.print(f"[red]sync stopped[/] {escape(str(exc))}; your captions are safe in the book")
            return 1
    out.print(f"{escape(str(args.book))}: {escape(report.summary())}")
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("cloud", help="show or change where the book is analysed and captioned (S3, AWS, ...)")
    p.add_argument("book", type=Path)
    p.add_argument(
        "--analysis", choices=["local", "cloud"], help="analyse on this machine or with Rekognition"
    )
    p.add_argument("--bucket", metavar="NAME", help="the S3 bucket for the book's photos")
    p.add_argument("--prefix", metavar="PREFIX", help="key prefix in the bucket (default mixbook)")
    p.add_argument("--region", metavar="REGION", help="AWS region (default us-east-1)")
    p.add_argument("--s3-endpoint", metavar="URL", help="an S3-compatible server instead of AWS ('' clears)")
    p.add_argument("--rekognition-endpoint", metavar="URL", help="Rekognition elsewhere than AWS ('' clears)")
    p.add_argument(
        "--captions", choices=["local", "openai", "bedrock"], help="where caption suggestions come from"
    )
    p.add_argument("--openai-url", metavar="URL", help="an OpenAI-compatible base URL, with its /v1")
    p.add_argument("--openai-model", metavar="NAME", help="the model name the endpoint expects")
    p.add_argument(
        "--bedrock-model", metavar="ID", help="a Bedrock model id, e.g. meta.llama3-2-3b-instruct-v1:0"
    )
    p.add_argument("--bedrock-endpoint", metavar="URL", help="Bedrock Runtime elsewhere than AWS ('' clears)")
    p.add_argument(
        "--postgres-url", metavar="URL", help="mirror captions to this database (no password in it)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_cloud)

    p = sub.add_parser(
        "cloud-login", help="save AWS keys (or an API key, a database password) in the OS keyring"
    )
    p.add_argument(
        "--openai-key", action="store_true", help="the OpenAI-compatible endpoint's API key instead"
    )
    p.add_argument("--postgres", metavar="URL", help="the password for this PostgreSQL URL instead")
    p.set_defaults(run=cmd_login)

    p = sub.add_parser("upload", help="upload the book's photos to its S3 bucket (already there: skipped)")
    p.add_argument("book", type=Path)
    p.set_defaults(run=cmd_upload)

    p = sub.add_parser("compare", help="local and cloud analysis side by side, photo by photo")
    p.add_argument("book", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("sync", help="mirror captions and their history to the book's PostgreSQL database")
    p.add_argument("book", type=Path)
    p.set_defaults(run=cmd_sync)
