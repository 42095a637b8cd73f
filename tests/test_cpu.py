"""A processor without the extensions the shipped libraries were compiled for is named, and the
work that needs them falls back or stops in one line, instead of an illegal instruction."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from mixbook_desktop.analysis.embedding import FaceEmbedder
from mixbook_desktop.analysis.manifest import ModelError
from mixbook_desktop.captions.generator import GeneratorError
from mixbook_desktop.captions.llama_backend import LlamaCppGenerator
from mixbook_desktop.core import cpu

# An Intel Ivy Bridge: AVX, but neither AVX2 nor FMA.
IVY_BRIDGE = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i5-3470 CPU @ 3.20GHz\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr"
    " sse sse2 ht syscall nx rdtscp lm constant_tsc pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 popcnt aes"
    " xsave avx f16c rdrand lahf_lm\n"
)


@pytest.fixture
def ivy_bridge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(IVY_BRIDGE, encoding="ascii")
    monkeypatch.setattr(cpu, "_CPUINFO", cpuinfo)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    return cpuinfo


def test_this_machine_runs_what_ships() -> None:
    # The tests' machines run llama.cpp and dlib; were this to fail, so would their tests.
    assert cpu.missing(cpu.LLAMA_CPP + cpu.DLIB) == []


def test_an_older_processor_is_told_what_it_lacks(ivy_bridge: Path) -> None:
    assert cpu.missing(cpu.LLAMA_CPP) == ["avx2", "fma"]
    assert cpu.missing(cpu.DLIB) == []
    assert cpu.refusal("llama.cpp", cpu.LLAMA_CPP) == (
        "llama.cpp needs a processor with AVX2, FMA, which this one lacks"
    )


def test_captions_are_refused_in_one_line_before_llama_cpp_is_loaded(ivy_bridge: Path) -> None:
    with pytest.raises(GeneratorError, match="needs a processor with AVX2, FMA"):
        LlamaCppGenerator().load()


def test_faces_are_refused_in_one_line_without_avx(ivy_bridge: Path) -> None:
    ivy_bridge.write_text(IVY_BRIDGE.replace(" avx f16c", " f16c"), encoding="ascii")
    with pytest.raises(ModelError, match="needs a processor with AVX"):
        FaceEmbedder().load()


def test_elsewhere_nothing_is_assumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert cpu.missing(cpu.LLAMA_CPP) == []
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert cpu.missing(cpu.LLAMA_CPP, tmp_path / "no such file") == []
