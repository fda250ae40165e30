"""Generate completions from any Hugging Face causal LM and score them.

``run_benchmark(model, tokenizer, problems, settings) -> (samples, results)``.

Pure PyTorch + transformers: no Lightning here, so the training callback and the command line share it.
The settings are :class:`~lightning_lora.benchmark.settings.BenchmarkSettings` (the problem fields are not read here).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import torch

from lightning_lora.benchmark.extract import (
    EVALPLUS_PREFILL,
    EVALPLUS_STOP,
    EVALPLUS_SYSTEM_PROMPT,
    EVALPLUS_USER_PROMPT,
    FUNCTION_CHAT_PROMPT,
)
from lightning_lora.benchmark.sandbox import SandboxConfig
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.errors import UserError
from lightning_lora.inference.generation import GenerationOptions, generate_answers, resolve_engine, truncate_at_stop
from lightning_lora.problems.sources import Problem, ProblemSet

__all__ = ["FUNCTION_STOP", "default_stop", "generate_samples", "prompt_style_for", "run_benchmark", "truncate_at_stop"]

#: Where a base model's HumanEval continuation leaves the function body (the Codex paper's stop set).
FUNCTION_STOP = ("\nclass ", "\ndef ", "\n#", "\nif __name__", "\nprint(")


@torch.inference_mode()
def generate_samples(
    model: Any,
    tokenizer: Any,
    problems: Sequence[Problem],
    *,
    build_prompt: Callable[[str], str],
    prefill: str = "",
    n: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    max_new_tokens: int = 512,
    batch_size: int = 16,
    stop: Sequence[str] = (),
    seed: int = 0,
    progress: bool = True,
    engine: str = "generate",
    draft_tokens: int = 4,
) -> list[dict[str, Any]]:
    """Generate ``n`` completions per problem with :func:`~lightning_lora.inference.generation.generate_batch` (batched,
    left-padded, KV cache; the caller's state restored).

    Returns ``[{"task_id", "sample_index", "completion", "finish_reason", "truncated"}]`` in problem order: the
    decoded text cut at ``stop`` (after ``prefill``, the answer's start already written into the prompt), and
    whether the token budget cut it (``finish_reason`` ``length``).
    """
    jobs = [(p.task_id, j, build_prompt(p.prompt)) for p in problems for j in range(n)]
    options = GenerationOptions(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed)
    answers = generate_answers(model, tokenizer, [text for _, _, text in jobs], options, batch_size=batch_size,
                               progress=progress, engine=engine, draft_tokens=draft_tokens)
    return [{"task_id": t, "sample_index": j, "completion": prefill + a.text, "finish_reason": a.finish_reason,
             "truncated": a.truncated} for (t, j, _), a in zip(jobs, answers)]


def prompt_style_for(tokenizer: Any, kind: str, style: str) -> str:
    """The prompt style ``auto`` stands for: a model with a chat template gets ``chat`` for stdin problems and the
    ``evalplus`` instruct protocol for function problems; a model without one gets the raw prompt."""
    from lightning_lora.inference.prompting import has_chat_template

    if style != "auto":
        return style
    if not has_chat_template(tokenizer):
        return "raw"
    return "chat" if kind == "stdio" else "evalplus"


def system_prompt_for(style: str, settings: BenchmarkSettings) -> str | None:
    """The system prompt a prompt style sends: the settings' (a run's training one), else the EvalPlus protocol's
    for ``evalplus``; none for ``raw``."""
    if style == "raw":
        return None
    return settings.system_prompt or (EVALPLUS_SYSTEM_PROMPT if style == "evalplus" else None)


def _prompt_builder(tokenizer: Any, kind: str, style: str,
                    settings: BenchmarkSettings) -> tuple[Callable[[str], str], str]:
    """(prompt text for a problem statement, the answer's start written into the prompt)."""
    from lightning_lora.inference.prompting import build_prefilled_prompt, build_prompt

    if style == "raw":
        return (lambda prompt: prompt), ""
    if style == "evalplus":  # the Qwen2.5-Coder report's instruct protocol (EvalPlus-based): see extract.py
        system = system_prompt_for(style, settings)
        return (lambda prompt: build_prefilled_prompt(tokenizer, EVALPLUS_USER_PROMPT.format(prompt=prompt.strip()),
                                                      system, EVALPLUS_PREFILL)), EVALPLUS_PREFILL
    if kind == "function":  # the code prefix as a question; scoring takes the code out of the reply
        return (lambda prompt: build_prompt(tokenizer, FUNCTION_CHAT_PROMPT.format(prompt=prompt.rstrip()),
                                            settings.system_prompt)), ""
    return (lambda prompt: build_prompt(tokenizer, prompt, settings.system_prompt)), ""


def default_stop(kind: str, style: str) -> tuple[str, ...]:
    """Stop strings when the settings name none: the Codex set for a raw function continuation, the EvalPlus set
    for the instruct protocol, none for a chat reply (it ends at its end-of-turn token)."""
    if style == "evalplus":
        return EVALPLUS_STOP
    return FUNCTION_STOP if kind == "function" and style == "raw" else ()


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
    style = prompt_style_for(tokenizer, kind, settings.prompt_style)
    if style == "evalplus" and kind != "function":
        raise UserError("benchmark settings: prompt_style 'evalplus' asks to complete a Python function; these are "
                        "stdin problems (use chat or raw).")
    build, prefill = _prompt_builder(tokenizer, kind, style, settings)
    stop = tuple(settings.stop) if settings.stop is not None else default_stop(kind, style)
    engine = resolve_engine(model, settings.engine)
    start = time.monotonic()
    samples = generate_samples(
        model, tokenizer, problem_list, build_prompt=build, prefill=prefill, n=settings.n, temperature=settings.temperature,
        top_p=settings.top_p, max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size, stop=stop,
        seed=settings.seed, progress=settings.progress, engine=engine, draft_tokens=settings.draft_tokens,
    )
    generation_s = time.monotonic() - start
    results = evaluate(
        problems, samples, k=settings.k, workers=settings.workers, extract=settings.extract,
        sandbox=SandboxConfig(timeout_s=settings.timeout_s, memory_mb=settings.memory_mb, isolation=settings.isolation),
        progress=settings.progress,
    )
    results["summary"]["generation"] = {**settings.as_dict(), "stop": list(stop), "k": list(settings.k),
                                        "prompt_style": style, "system_prompt": system_prompt_for(style, settings),
                                        "prefill": prefill, "engine_used": engine,
                                        "generation_time_s": round(generation_s, 3)}
    return samples, results
