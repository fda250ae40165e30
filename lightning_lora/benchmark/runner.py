"""Generate completions from any Hugging Face causal LM and score them.

``run_benchmark(model, tokenizer, problems, settings) -> (samples, results)``.

Pure PyTorch + transformers: no Lightning here, so the training callback and the command line share it.
The settings are :class:`~lightning_lora.benchmark.settings.BenchmarkSettings` (the problem fields are not read here).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import torch

from lightning_lora.benchmark.extract import FUNCTION_CHAT_PROMPT
from lightning_lora.benchmark.sandbox import SandboxConfig
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.inference.generation import GenerationOptions, generate_batch, truncate_at_stop
from lightning_lora.problems.sources import Problem, ProblemSet

__all__ = ["FUNCTION_STOP", "generate_samples", "run_benchmark", "truncate_at_stop"]

#: Where a base model's HumanEval continuation leaves the function body (the Codex paper's stop set).
FUNCTION_STOP = ("\nclass ", "\ndef ", "\n#", "\nif __name__", "\nprint(")


@torch.inference_mode()
def generate_samples(
    model: Any,
    tokenizer: Any,
    problems: Sequence[Problem],
    *,
    build_prompt: Callable[[str], str],
    n: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    max_new_tokens: int = 512,
    batch_size: int = 16,
    stop: Sequence[str] = (),
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Generate ``n`` completions per problem with :func:`~lightning_lora.inference.generation.generate_batch` (batched,
    left-padded, KV cache; the caller's state restored).

    Returns ``[{"task_id", "sample_index", "completion"}]`` in problem order, the raw decoded text cut at ``stop``.
    """
    jobs = [(p.task_id, j, build_prompt(p.prompt)) for p in problems for j in range(n)]
    options = GenerationOptions(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed)
    completions = generate_batch(model, tokenizer, [text for _, _, text in jobs], options, batch_size=batch_size,
                                 progress=progress)
    return [{"task_id": t, "sample_index": j, "completion": c} for (t, j, _), c in zip(jobs, completions)]


def _prompt_builder(tokenizer: Any, kind: str, settings: BenchmarkSettings) -> tuple[Callable[[str], str], str]:
    from lightning_lora.inference.prompting import build_prompt, has_chat_template

    style = settings.prompt_style
    if style == "auto":
        style = "chat" if kind == "stdio" and has_chat_template(tokenizer) else "raw"
    if style == "raw":
        return (lambda prompt: prompt), style
    if kind == "function":  # the code prefix as a question; scoring takes the code out of the reply
        return (lambda prompt: build_prompt(tokenizer, FUNCTION_CHAT_PROMPT.format(prompt=prompt.rstrip()),
                                            settings.system_prompt)), style
    return (lambda prompt: build_prompt(tokenizer, prompt, settings.system_prompt)), style


def run_benchmark(
    model: Any, tokenizer: Any, problems: ProblemSet | Sequence[Problem], settings: BenchmarkSettings | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Generate with :func:`generate_samples`, score with :func:`~lightning_lora.benchmark.scoring.evaluate`.

    Returns ``(samples, results)``; ``results["summary"]["generation"]`` records the settings used.
    """
    settings = settings or BenchmarkSettings()
    problem_list = list(problems)
    kinds = {p.kind for p in problem_list}
    if len(kinds) != 1:
        raise ValueError(f"A benchmark run needs problems of one kind, got {sorted(kinds)}.")
    kind = kinds.pop()
    build, style = _prompt_builder(tokenizer, kind, settings)
    # The Codex stop set ends a raw continuation at the next top-level statement; a chat reply ends at its turn's end.
    codex = kind == "function" and style == "raw"
    stop = tuple(settings.stop) if settings.stop is not None else (FUNCTION_STOP if codex else ())
    start = time.monotonic()
    samples = generate_samples(
        model, tokenizer, problem_list, build_prompt=build, n=settings.n, temperature=settings.temperature,
        top_p=settings.top_p, max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size, stop=stop,
        seed=settings.seed, progress=settings.progress,
    )
    generation_s = time.monotonic() - start
    results = evaluate(
        problems, samples, k=settings.k, workers=settings.workers, extract=settings.extract,
        sandbox=SandboxConfig(timeout_s=settings.timeout_s, memory_mb=settings.memory_mb, isolation=settings.isolation),
        progress=settings.progress,
    )
    results["summary"]["generation"] = {**settings.as_dict(), "stop": list(stop), "k": list(settings.k),
                                        "prompt_style": style, "generation_time_s": round(generation_s, 3)}
    return samples, results
