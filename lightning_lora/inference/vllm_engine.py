"""The ``vllm`` engine: batched generation through vLLM on a CUDA machine, from a model folder on disk.

vLLM loads weights from a folder (a merged export, ``export --merge``, or any Hugging Face model folder), so a
model with an unmerged adapter cannot use it. Never needed on a CPU or in CI: the ``refill`` engine is the default
there. ``pip install vllm`` on the GPU machine (it brings its own CUDA build of torch).

Prompts are the same rendered texts the other engines get, tokenized here with the model's tokenizer (no special
tokens added, as the other engines do), so answers and stop strings mean the same; each answer's draws come from
its own seed (the run's seed and its index), greedy when the temperature is 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from lightning_lora.errors import UserError

_ENGINES: dict[tuple[str, str, int], Any] = {}


def model_folder(model: Any) -> str:
    """The folder ``model`` was loaded from; a UserError when it has none (an in-memory or adapter-wrapped model)."""
    if hasattr(model, "get_base_model") or hasattr(model, "peft_config"):
        raise UserError("engine vllm loads weights from a folder: merge the adapter first (export --merge) and "
                        "benchmark the export with --model <folder>.")
    folder = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", "")
    if not folder or not (Path(folder) / "config.json").is_file():
        raise UserError(f"engine vllm needs a model folder with config.json on disk (--model <export folder>); this "
                        f"model came from {folder or 'memory'!r}.")
    return str(folder)


def vllm_generate(folder: str, prompts: Sequence[Sequence[int]], *, max_new_tokens: int, stop: Sequence[str],
                  temperature: float, top_p: float, seed: int, dtype: str = "bfloat16") -> list[tuple[str, str]]:
    """``(text, finish_reason)`` per tokenized prompt, in input order; ``finish_reason`` is ``stop`` (a stop
    string), ``eos`` or ``length``, as :func:`~lightning_lora.inference.generation.finish_reason` names them."""
    import torch

    if not torch.cuda.is_available():
        raise UserError("engine vllm needs a CUDA GPU; on this machine use engine refill (the default).")
    try:
        from vllm import LLM, SamplingParams
        from vllm.inputs import TokensPrompt
    except ImportError as err:
        raise UserError(f"engine vllm needs the vllm package on this GPU machine: pip install vllm ({err}).") from err
    key = (folder, dtype, seed)
    if key not in _ENGINES:
        _ENGINES.clear()  # one engine holds most of the GPU's memory
        _ENGINES[key] = LLM(model=folder, dtype=dtype, seed=seed, enable_prefix_caching=True,
                             gpu_memory_utilization=0.7)  # room for the copy the caller loaded
    llm = _ENGINES[key]
    params = [SamplingParams(n=1, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                             max_tokens=max_new_tokens, stop=list(stop) or None,
                             seed=hash((seed, index)) % 2**63 if temperature > 0 else None)
              for index in range(len(prompts))]
    outputs = llm.generate([TokensPrompt(prompt_token_ids=list(p)) for p in prompts], params, use_tqdm=False)
    answers = []
    for output in outputs:
        completion = output.outputs[0]
        if completion.finish_reason == "length":
            reason = "length"
        else:
            reason = "stop" if isinstance(completion.stop_reason, str) else "eos"
        answers.append((completion.text, reason))
    return answers
