"""A real PostgreSQL server on 127.0.0.1 for the tests, in a temporary folder of its own.

It uses password authentication (scram-sha-256), so tests prove that the password reaches the
server through the usual libpq sources and never ends up anywhere it should not. It can be
stopped cleanly, killed (SIGKILL, as when the machine or the network goes away) and started
again on the same port with the same data.

Debian keeps the server programs out of PATH (/usr/lib/postgresql/<version>/bin); root may
not run them, so as root they run as the `postgres` user, which owns the folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

USER = "app"
DATABASE = "postgres"
_SYSTEM_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server programs on this machine (scripts/setup.sh installs them)."""


def find_program(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    # Newest version first, should a machine have several.
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in versions:
        if (folder / name).is_file():
            return str(folder / name)
    raise PostgresUnavailable(f"{name} not found: run scripts/setup.sh (it installs PostgreSQL)")


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server started next."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_root() -> bool:
    return os.geteuid() == 0


class PostgresServer:
    """Use as a context manager; `url` has no password (`password` is apart, as a user's is)."""

    def __init__(self, password: str | None = None) -> None:
        self.password = password or "pg-" + secrets.token_urlsafe(18)
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mixbook-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._initdb = find_program("initdb")
        self._pg_ctl = find_program("pg_ctl")

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", _SYSTEM_USER, "--", *args] if _as_root() else list(args)
        # LC_ALL=C: initdb refuses a locale the machine lacks, and messages stay in English.
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGPASSWORD", None)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr}\n{log}")
        return done

    def init(self) -> None:
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n")
        if _as_root():
            shutil.chown(self.folder, _SYSTEM_USER)
            shutil.chown(pwfile, _SYSTEM_USER)
        self.folder.chmod(0o700)
        pwfile.chmod(0o600)
        self._run(
            self._initdb,
            "-D",
            str(self.data),
            "-U",
            USER,
            "-A",
            "scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
            "-E",
            "UTF8",
        )
        pwfile.unlink()

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c full_page_writes=off"
        self._run(self._pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def stop(self) -> None:
        self._run(self._pg_ctl, "-D", str(self.data), "-w", "-m", "fast", "stop")

    def running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and Path(f"/proc/{pid}").exists() and not _zombie(pid)

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL the server and every process it started: no shutdown, connections cut.
        Each PostgreSQL process is a session of its own, so the group cannot be killed at once."""
        pid = self._postmaster_pid()
        if pid is None:
            return
        children = [pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # The fields after the command name, which may itself hold spaces or brackets.
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    children.append(int(stat.parent.name))
        for each in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(each, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() and not _zombie(p) for p in children):
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not die")
            time.sleep(0.02)
        # A killed postmaster whose parent never reaps it (no init in a container) stays a
        # zombie holding its PID, and the next start would take it for a live server.
        for lock in (self.data / "postmaster.pid", self.folder / f".s.PGSQL.{self.port}.lock"):
            lock.unlink(missing_ok=True)

    def close(self) -> None:
        try:
            if self.running():
                try:
                    self.stop()
                except (RuntimeError, subprocess.TimeoutExpired):
                    self.kill()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


@contextlib.contextmanager
def postgres_server(password: str | None = None) -> Iterator[PostgresServer]:
    with PostgresServer(password) as server:
        yield server
