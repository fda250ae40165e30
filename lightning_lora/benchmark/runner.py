"""Generate completions from any Hugging Face causal LM and score them.

``run_benchmark(model, tokenizer, problems, settings) -> (samples, results)``.

Pure PyTorch + transformers: no Lightning here, so the training callback and the command line share it.
The settings are :class:`~lightning_lora.benchmark.settings.BenchmarkSettings` (the problem fields are not read here).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Sequence

import torch
from tqdm import tqdm

from lightning_lora.benchmark.problems import Problem, ProblemSet
from lightning_lora.benchmark.sandbox import SandboxConfig
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.benchmark.settings import BenchmarkSettings

#: Where a base model's HumanEval continuation leaves the function body (the Codex paper's stop set).
FUNCTION_STOP = ("\nclass ", "\ndef ", "\n#", "\nif __name__", "\nprint(")


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the earliest occurrence of any stop string."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i != -1), default=len(text))
    return text[:cut]


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


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
    """Generate ``n`` completions per problem, batched with left padding and the KV cache.

    Prompts are sorted by length so a batch wastes little on padding; the output keeps problem order.
    Returns ``[{"task_id", "sample_index", "completion"}]`` with the raw decoded text, cut at ``stop``.
    The model's train/eval mode, the tokenizer's padding side and the caller's RNG state are restored.
    """
    jobs = [(p.task_id, j, build_prompt(p.prompt)) for p in problems for j in range(n)]
    lengths = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for _, _, text in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -lengths[i])
    completions: list[str] = [""] * len(jobs)

    was_training, padding_side, pad_token = model.training, tokenizer.padding_side, tokenizer.pad_token
    device = _device(model)
    sampling = temperature > 0
    gen_kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": sampling, "use_cache": True}
    if sampling:
        gen_kwargs.update(temperature=temperature, top_p=top_p)
    if stop:
        gen_kwargs.update(stop_strings=list(stop), tokenizer=tokenizer)
    fork_devices = [device] if device.type == "cuda" else []
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    gen_kwargs["pad_token_id"] = tokenizer.pad_token_id
    try:
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(seed)
            batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
            for batch in tqdm(batches, desc="generate", unit="batch", file=sys.stderr, disable=not progress):
                enc = tokenizer([jobs[i][2] for i in batch], return_tensors="pt", padding=True,
                                add_special_tokens=False).to(device)
                out = model.generate(**enc, **gen_kwargs)
                texts = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
                for i, text in zip(batch, texts):
                    completions[i] = truncate_at_stop(text, stop)
    finally:
        model.train(was_training)
        tokenizer.padding_side = padding_side
        tokenizer.pad_token = pad_token
    return [{"task_id": t, "sample_index": j, "completion": c} for (t, j, _), c in zip(jobs, completions)]


def _prompt_builder(tokenizer: Any, kind: str, settings: BenchmarkSettings) -> tuple[Callable[[str], str], str]:
    from lightning_lora.prompting import build_prompt, has_chat_template

    style = settings.prompt_style
    if style == "auto":
        style = "chat" if kind == "stdio" and has_chat_template(tokenizer) else "raw"
    if style == "raw":
        return (lambda prompt: prompt), style
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
    stop = tuple(settings.stop) if settings.stop is not None else (FUNCTION_STOP if kind == "function" else ())
    build, style = _prompt_builder(tokenizer, kind, settings)
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
