"""Cloud settings live in the book, credentials never do; local mode loads no cloud code."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mixbook_desktop.cloud import aws, config
from mixbook_desktop.cloud.config import CloudError, CloudSettings
from mixbook_desktop.services import captions
from mixbook_desktop.store.project import Project
from tests.conftest import ROOT


def test_settings_are_saved_in_the_book_and_checked_first(tmp_path: Path) -> None:
    with Project.open(tmp_path / "b.mbook", create=True) as project:
        assert config.load(project) == CloudSettings()
        saved = config.save(
            project,
            analysis="cloud",
            bucket="my-book-photos",
            s3_endpoint="http://127.0.0.1:8333",
            captions="bedrock",
            bedrock_model="meta.llama3-2-3b-instruct-v1:0",
        )
        assert config.load(project) == saved
        refused: list[tuple[dict[str, Any], str]] = [
            ({"bucket": "Not_A_Bucket"}, "bucket"),
            ({"region": "mars"}, "region"),
            ({"s3_endpoint": "ftp://host"}, "http"),
            ({"postgres_url": "postgresql://app:hunter2@db/book"}, "password"),
            ({"openai_url": "http://user:pw@host/v1"}, "password"),
            ({"analysis": "cloud", "bucket": ""}, "bucket"),
            ({"captions": "openai"}, "URL"),
            ({"nonsense": 1}, "no cloud setting"),
            ({"postgres_url": "postgresql://db/app?password=hunter2"}, "password"),
            ({"postgres_url": "postgresql://db/app?sslpassword=hunter2"}, "password"),
            ({"openai_url": "http://host/v1?api_key=hunter2"}, "query"),
        ]
        for bad, why in refused:
            with pytest.raises(CloudError, match=why) as caught:
                config.save(project, **bad)
            assert "hunter2" not in str(caught.value) and "pw@" not in str(caught.value)
            assert config.load(project) == saved  # nothing of a refused change is kept
        # '' clears an optional setting.
        assert config.save(project, s3_endpoint="").s3_endpoint is None
        first = config.book_id(project)
        assert first == config.book_id(project) and len(first) == 32


def test_the_caption_backend_follows_the_book_settings(tmp_path: Path) -> None:
    with Project.open(tmp_path / "b.mbook", create=True) as project:
        assert captions.load_options(project).backend == "local"
        config.save(project, captions="openai", openai_url="http://127.0.0.1:9/v1", openai_model="m")
        options = captions.load_options(project)
        generator = captions.make_generator(options)
        assert options.backend == "openai"
        assert generator.name == "openai-compatible:m@127.0.0.1:9"
        # The backend is not provenance: switching keeps the book's suggestions current.
        assert options.provenance() == captions.Options().provenance()


def test_a_bedrock_backend_without_credentials_fails_each_request_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(aws, "keyring_credentials", lambda: None)
    with Project.open(tmp_path / "b.mbook", create=True) as project:
        config.save(project, captions="bedrock", bedrock_model="meta.llama3-2-3b-instruct-v1:0")
        generator = captions.make_generator(captions.load_options(project))
    from mixbook_desktop.captions.generator import GeneratorError, Sampling

    with pytest.raises(GeneratorError, match="no AWS credentials"):
        generator.generate([{"role": "user", "content": "hi"}], Sampling())


def test_logs_of_aws_libraries_never_hold_a_key_in_use() -> None:
    aws.remember("AKIDEXAMPLEKEY1234", "wJalrXUtnFEMIexampleSECRET")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("botocore.endpoint")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("Sending %s", {"Authorization": "Credential=AKIDEXAMPLEKEY1234/x, Signature=abc123"})
        logger.debug("secret %s", "wJalrXUtnFEMIexampleSECRET")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "AKIDEXAMPLEKEY1234" not in text and "wJalrXUtnFEMIexampleSECRET" not in text
    assert "abc123" not in text and text.count("***") >= 3


def test_local_mode_loads_no_cloud_library(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from mixbook_desktop.cli import main\n"
        f"main(['import', {str(tmp_path / 'b.mbook')!r}, {str(ROOT / 'resources' / 'demo')!r}])\n"
        "from mixbook_desktop.store.project import Project\n"
        "from mixbook_desktop.services import captions\n"
        f"with Project.open({str(tmp_path / 'b.mbook')!r}) as p:\n"
        "    captions.make_generator(captions.load_options(p)).close()\n"
        "loaded = [m for m in ('boto3', 'botocore', 'psycopg', 'keyring') if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout


def test_credentials_that_cannot_work_stop_the_run_and_thresholds_keep_to_their_kind() -> None:
    from botocore.exceptions import NoCredentialsError, ParamValidationError, UnauthorizedSSOTokenError

    from mixbook_desktop.cloud.rekognition import Failure, classify
    from mixbook_desktop.services.people import REKOGNITION_PREFIX, PeopleError, check_threshold

    assert classify(NoCredentialsError()).failure is Failure.STOP
    assert classify(UnauthorizedSSOTokenError()).failure is Failure.STOP
    assert classify(ParamValidationError(report="bad")).failure is Failure.PHOTO
    check_threshold(0.2, REKOGNITION_PREFIX + "c")
    check_threshold(0.8)  # a dlib distance
    with pytest.raises(PeopleError, match="Rekognition"):
        check_threshold(0.8, REKOGNITION_PREFIX + "c")
