"""Cloud mode on this machine, for a try-out: the servers the cloud tests use, started on
127.0.0.1 and kept running until Ctrl-C, with a book pointed at them.

    .venv/bin/python -m tests.support.loopback BOOK

SeaweedFS stands in for S3, the project's Rekognition stand-in (answering from the local models)
for Rekognition, llama.cpp's own server for the caption endpoint, and a PostgreSQL in a temp
folder for the caption mirror when the system has one. It prints the credentials to export in
the shell that runs `mixbook-desktop`: made-up keys these servers accept, nothing of AWS's."""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mixbook_desktop.cloud import config
from mixbook_desktop.store.project import Project
from tests.cloud_support import ACCESS_KEY, REGION, SECRET_KEY, model_file, serving_at
from tests.support.postgres import PostgresServer, find_program, free_port
from tests.support.rekognition_server import serving
from tests.support.seaweed import seaweed


def _llama_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_file()), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_threads", "1", "--n_ctx", "2048"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not serving_at(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"llama_cpp.server did not start; see {log}")
        try:
            process.wait(timeout=0.2)  # paces the polling, and notices a server that died
            raise SystemExit(f"llama_cpp.server exited while starting; see {log}")
        except subprocess.TimeoutExpired:
            continue
    return process, f"http://127.0.0.1:{port}/v1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("book", type=Path, help="an existing book to point at the loopback servers")
    parser.add_argument("--bucket", default="tryout", help="S3 bucket on the local SeaweedFS")
    args = parser.parse_args()
    if not args.book.is_file():
        parser.error(f"{args.book}: no such book (make one: mixbook-desktop demo --window no)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mixbook-loopback-")))
        (root / "s3").mkdir()
        s3 = stack.enter_context(seaweed(root / "s3", ACCESS_KEY, SECRET_KEY))
        url, _state = stack.enter_context(serving(s3.endpoint, ACCESS_KEY, SECRET_KEY, REGION))
        llama, openai_url = _llama_server(root / "llama.log")
        stack.callback(llama.terminate)
        postgres_url = ""
        try:
            find_program("initdb")
            pg = stack.enter_context(PostgresServer())
            postgres_url = pg.url
            print(f"export PGPASSWORD={pg.password}")
        except (FileNotFoundError, OSError, RuntimeError) as exc:
            print(f"# no PostgreSQL here ({exc}); the caption mirror stays off", file=sys.stderr)
        with Project.open(args.book) as project:
            config.save(
                project,
                analysis="cloud",
                bucket=args.bucket,
                region=REGION,
                s3_endpoint=s3.endpoint,
                rekognition_endpoint=url,
                captions="openai",
                openai_url=openai_url,
                openai_model="smollm2",
                postgres_url=postgres_url,
            )
        print(f"export AWS_ACCESS_KEY_ID={ACCESS_KEY} AWS_SECRET_ACCESS_KEY={SECRET_KEY}")
        print(f"# {args.book} now uses S3 at {s3.endpoint}, Rekognition at {url}, captions from {openai_url}")
        print(f"# then: mixbook-desktop analyze {args.book}; mixbook-desktop compare {args.book}")
        print("# Ctrl-C stops the servers (the book keeps its settings: `cloud BOOK --analysis local`)")
        sys.stdout.flush()
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
