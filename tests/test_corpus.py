"""The whole shared photo corpus: every file one result, EXIF as the manifest says, in bounds."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from tests.conftest import read_manifest, run_cli
from tests.expectations import check_against_manifest, expects_error

MEMORY_LIMIT_MB = 1536


@pytest.fixture(scope="module")
def corpus_import(shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    book = tmp_path_factory.mktemp("corpus") / "corpus.mbook"
    done = run_cli("import", str(book), str(shared_corpus), "--json")
    results = json.loads(done.stdout)
    listing = json.loads(run_cli("photos", str(book), "--json").stdout)
    # ru_maxrss of children: the largest of the CLI and its decoder processes so far (KiB).
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return read_manifest(shared_corpus / "MANIFEST.tsv"), results, listing, peak_mb


def test_every_corpus_file_has_exactly_one_result(corpus_import) -> None:  # type: ignore[no-untyped-def]
    manifest, results, listing, _ = corpus_import
    names = [Path(r["file"]).name for r in results]
    assert sorted(names) == sorted(row["filename"] for row in manifest)
    assert len(listing) == len(manifest)


def test_corpus_exif_matches_the_manifest(corpus_import) -> None:  # type: ignore[no-untyped-def]
    manifest, _, listing, _ = corpus_import
    by_name = {Path(r["file"]).name: r for r in listing}
    problems: list[str] = []
    for row in manifest:
        got = by_name[row["filename"]]
        if expects_error(row):
            assert got["status"] == "error", row["filename"]
            assert got["error"], row["filename"]
            continue
        assert got["status"] in ("ok", "duplicate"), (row["filename"], got["error"])
        problems += check_against_manifest(row, got)
    assert problems == []


def test_corpus_import_stays_in_time_and_memory(corpus_import) -> None:  # type: ignore[no-untyped-def]
    _, _, listing, peak_mb = corpus_import
    assert not [r for r in listing if "timed out" in str(r["error"]) or "crashed" in str(r["error"])]
    assert peak_mb < MEMORY_LIMIT_MB
