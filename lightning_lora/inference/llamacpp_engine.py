"""The ``llamacpp`` engine: generation by llama.cpp on the CPU (``pip install llama-cpp-python``), from GGUF files
this process writes with :mod:`lightning_lora.models.gguf_writer`.

Which files: a LoRA model whose base is a fetched real model (``models fetch`` keeps the release GGUF its weights
were de-quantized from, e.g. Qwen2.5-Coder's official Q4_K_M file) runs as that release file plus the adapter written
as a llama.cpp LoRA adapter (``export --format gguf-lora``), so the base is the release's own weights; any other model
(plain, an adapter on another base, or an adapter llama.cpp's format cannot hold: DoRA, IA3, trained biases) runs as
one merged GGUF (``export --format gguf``; a copy is merged, the model itself is left as it is) in the model's
precision: f32 for float32 weights, f16 otherwise (bf16 values are f16 values but for the tiniest and the largest).
Files go to a temporary folder of this process, named by a digest of the weights: a model generated with twice is
written once, trained further it is written again; the files of a model no longer loaded are removed.

How: llama.cpp's C API (the ``llama_cpp`` bindings), not its one-sequence ``Llama`` class. Up to ``batch_size``
sequences decode together, each under its own sequence id in one ``llama_decode`` call per step, each with its own
KV cache stream (``kv_unified`` off), large enough for the longest prompt and its budget; a finished sequence's cache
is dropped at once and the next prompt is prefilled in its place within the same call (in chunks when prompts
outgrow a call). Prompts are the project tokenizer's ids, as for every engine, so llama.cpp's tokenizer is never
used; answers are decoded by the project tokenizer and end at the model's EOS ids, a stop string or the budget
(``max_new_tokens``, or the model's context), as the ``refill`` engine's do. Greedy at temperature 0; otherwise
llama.cpp's samplers (temperature, then top-p) draw each answer from its own seed (the run's seed and the answer's
index), so answers do not depend on the batch size. A float32 model keeps its KV cache in f32 and attends without
llama.cpp's flash attention (whose CPU kernel rounds to f16: logits 3e-2 off on the tiny test model, against 3e-5 this
way), so its greedy answers equal ``generate``'s up to summation order; any other model runs with llama.cpp's defaults
(f16 cache, flash attention where it chooses). Threads: torch's (``torch.get_num_threads()``).
"""

from __future__ import annotations

import atexit
import copy
import ctypes
import hashlib
import logging
import shutil
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from tqdm import tqdm

from lightning_lora.errors import UserError
from lightning_lora.inference.refill import AnswerEnd
from lightning_lora.models.loading import weights_dtype

#: Tokens one ``llama_decode`` call takes at most (decoding rows plus prompt chunks being prefilled).
CALL_TOKENS = 2048
#: Tokens llama.cpp computes in one physical pass within a call (its default).
UBATCH_TOKENS = 512
_GGML_F32 = 0  # ggml_type of an f32 KV cache
_FLASH_ATTENTION_OFF = 0  # llama_flash_attn_type
#: Positions of a sequence's cache stream are a multiple of this (llama.cpp rounds them up to it).
_CACHE_ROUNDING = 256


def llama_cpp_module() -> Any:
    """The ``llama_cpp`` bindings, with llama.cpp's own log quiet but for errors; one line when not installed."""
    try:
        import llama_cpp
    except ImportError as err:
        raise UserError(f"engine llamacpp needs llama-cpp-python: pip install llama-cpp-python ({err}).") from err
    if not hasattr(llama_cpp, "llama_memory_seq_rm"):  # older bindings name the KV cache calls otherwise
        raise UserError(f"engine llamacpp: llama-cpp-python {llama_cpp.__version__} is too old (no "
                        "llama_memory_seq_rm); pip install -U llama-cpp-python.")
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)  # its log callback prints what this level lets by
    if not _STATE.get("backend"):
        llama_cpp.llama_backend_init()
        _STATE["backend"] = True
    return llama_cpp


def amx_build(lib: Any) -> bool:
    """Whether this llama.cpp computes with Intel AMX (a build for the CPU it runs on, when that CPU has AMX).

    Such a build puts quantized weights in its AMX buffer type by default, and on a Xeon with AMX (2-core host of
    this project, llama-cpp-python 0.3.36 built from source) the official Qwen2.5-Coder-0.5B Q4_K_M file alone, no
    adapter, dies with a segmentation fault in its first decode (llama.cpp issue 20824, ``ggml_backend_amx_mul_mat``).
    Loading with llama.cpp's extra buffer types off (``use_extra_bufts``) keeps the weights in the plain CPU type,
    where the same file answers."""
    info = lib.llama_print_system_info()
    return b"AMX_INT8 = 1" in (info if isinstance(info, bytes) else str(info).encode())


_STATE: dict[str, Any] = {}  # backend initialised; the temporary folder; the model loaded now (one at a time)


@dataclass(frozen=True)
class GGUFFiles:
    """What llama.cpp loads: ``model``, and ``adapter`` (a LoRA adapter applied over it) or None. ``written``: the
    files this process wrote for it (removed when another model is loaded)."""

    model: Path
    adapter: Path | None = None
    written: tuple[Path, ...] = field(default=(), compare=False)


def _digest(tensors: Iterable[tuple[str, torch.Tensor]], *extra: str) -> str:
    """A digest of named tensors' names, types, shapes and bytes (and ``extra`` strings)."""
    digest = hashlib.blake2b(digest_size=16)
    for text in extra:
        digest.update(text.encode() + b"\0")
    for name, tensor in tensors:
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)}".encode() + b"\0")
        digest.update(flat.view(torch.uint8).numpy())
    return digest.hexdigest()


def files_folder() -> Path:
    """This process's folder for GGUF files written on the fly (removed at exit)."""
    if "folder" not in _STATE:
        folder = Path(tempfile.mkdtemp(prefix="lightning_lora-llamacpp-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _STATE["folder"] = folder
    return _STATE["folder"]


def _unsupported(err: Exception) -> UserError:
    return UserError(f"engine llamacpp runs the model from a GGUF file, and it cannot be written as one: {err}")


def adapter_files(model: Any, folder: Path) -> GGUFFiles | None:
    """The release GGUF file of the base and the LoRA adapter as a llama.cpp adapter file, when the model is a LoRA
    (one llama.cpp's adapter format holds) on a fetched real model; None otherwise (the merged model is used)."""
    from lightning_lora.models.gguf_writer import GGUFExportError, gguf_arch, lora_layers, write_lora_gguf
    from lightning_lora.models.registry import release_gguf

    if not hasattr(model, "peft_config"):
        return None
    base = model.get_base_model()
    release = release_gguf(getattr(base.config, "name_or_path", "") or "")
    if release is None:
        return None
    try:
        gguf_arch(base.config)
        layers = lora_layers(model)
    except GGUFExportError:
        return None  # an adapter a llama.cpp LoRA file cannot hold: the merged model instead
    tensors = [(f"{name}.{part}", getattr(layer, f"lora_{part}")["default"].weight)
               for name, layer in layers for part in ("A", "B")]
    scalings = ",".join(f"{layer.scaling['default']!r}" for _, layer in layers)
    adapter = folder / f"adapter-{_digest(tensors, str(release.resolve()), scalings)}.gguf"
    if not adapter.is_file():
        try:
            write_lora_gguf(model, adapter, "f32")
        except GGUFExportError as err:
            raise _unsupported(err) from None
    return GGUFFiles(release, adapter, written=(adapter,))


def merged_file(model: Any, tokenizer: Any, folder: Path) -> GGUFFiles:
    """The whole model (its adapter merged into a copy) as one GGUF file: f32 for float32 weights, else f16."""
    from lightning_lora.models.gguf_writer import GGUFExportError, check_model, merged_model, write_model_gguf

    try:
        check_model(model)
    except GGUFExportError as err:
        raise _unsupported(err) from None
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base, "is_loaded_in_4bit", False) or getattr(base, "is_loaded_in_8bit", False):
        raise UserError("engine llamacpp: a quantized (QLoRA) base cannot be merged here; export the merged model "
                        "(export --merge) and generate with --model <folder>.")
    gguf_type = "f32" if weights_dtype(model) == torch.float32 else "f16"
    tokenizer_key = f"{getattr(tokenizer, 'name_or_path', '')}:{len(tokenizer)}"  # the file holds the tokenizer too
    path = folder / f"model-{_digest(model.state_dict().items(), gguf_type, tokenizer_key)}.gguf"
    if not path.is_file():
        try:
            whole = merged_model(copy.deepcopy(model)) if hasattr(model, "peft_config") else model
            write_model_gguf(whole, tokenizer, path, gguf_type)
        except GGUFExportError as err:
            raise _unsupported(err) from None
    return GGUFFiles(path, written=(path,))


def gguf_files(model: Any, tokenizer: Any, folder: Path | None = None) -> GGUFFiles:
    """The GGUF files that hold ``model`` (written to ``folder``, by default :func:`files_folder`, unless there
    already): the release file + adapter file where :func:`adapter_files` applies, else one merged file
    (:func:`merged_file`)."""
    folder = folder or files_folder()
    return adapter_files(model, folder) or merged_file(model, tokenizer, folder)


class LlamaCppModel:
    """A GGUF model (and LoRA adapter) loaded in llama.cpp, with a context sized for the sequences asked of it.

    Args:
        files: the model file and optional adapter.
        threads: CPU threads llama.cpp computes with.
        float32: compute as a float32 model does: f32 KV cache, no flash attention (llama.cpp's defaults otherwise).
    """

    def __init__(self, files: GGUFFiles, threads: int, float32: bool) -> None:
        self.lib = llama_cpp_module()
        self.files, self.threads, self.float32 = files, threads, float32
        self.ctx: Any = None
        self.adapter: Any = None
        self.seqs = self.seq_tokens = 0
        params = self.lib.llama_model_default_params()
        params.n_gpu_layers = 0
        if amx_build(self.lib) and hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False  # llama.cpp's AMX kernels crash on Q4_K files: see amx_build
        self.model = self.lib.llama_model_load_from_file(str(files.model).encode(), params)
        if not self.model:
            raise UserError(f"engine llamacpp: llama.cpp could not load {files.model} (its error is printed above).")
        if files.adapter is not None:
            self.adapter = self.lib.llama_adapter_lora_init(self.model, str(files.adapter).encode())
            if not self.adapter:
                self.close()
                raise UserError(f"engine llamacpp: llama.cpp could not apply the LoRA adapter {files.adapter} to "
                                f"{files.model} (its error is printed above).")
        self.vocab = self.lib.llama_model_get_vocab(self.model)

    def close(self) -> None:
        """Free the context, adapter and model."""
        if self.ctx:
            self.lib.llama_free(self.ctx)
        if self.adapter:
            self.lib.llama_adapter_lora_free(self.adapter)
        if self.model:
            self.lib.llama_model_free(self.model)
        self.ctx = self.adapter = self.model = None

    def _context(self, seqs: int, seq_tokens: int) -> Any:
        """A context for ``seqs`` sequences of up to ``seq_tokens`` positions each, its cache empty (the one held
        when it is large enough)."""
        lib = self.lib
        if self.ctx and self.seqs >= seqs and self.seq_tokens >= seq_tokens:
            lib.llama_memory_clear(lib.llama_get_memory(self.ctx), True)
            return self.ctx
        if self.ctx:
            lib.llama_free(self.ctx)
            self.ctx = None
        params = lib.llama_context_default_params()
        seq_tokens = -(-seq_tokens // _CACHE_ROUNDING) * _CACHE_ROUNDING
        params.n_seq_max = seqs
        params.n_ctx = seqs * seq_tokens
        params.n_batch, params.n_ubatch = CALL_TOKENS, UBATCH_TOKENS
        params.n_threads = params.n_threads_batch = self.threads
        params.kv_unified = False  # a cache stream per sequence: its attention sees its own positions only
        if self.float32:
            params.type_k = params.type_v = _GGML_F32
            params.flash_attn_type = _FLASH_ATTENTION_OFF
        params.no_perf = True
        self.ctx = lib.llama_init_from_model(self.model, params)
        if not self.ctx:
            raise UserError(f"engine llamacpp: llama.cpp could not make a context of {seqs} sequences x {seq_tokens} "
                            "tokens (its error is printed above); lower the batch size or max_new_tokens.")
        self.seqs, self.seq_tokens = seqs, seq_tokens
        if self.adapter:  # scale 1: llama.cpp scales by the file's alpha / r itself
            if hasattr(lib, "llama_set_adapters_lora"):
                adapters = (lib.llama_adapter_lora_p_ctypes * 1)(self.adapter)
                status = lib.llama_set_adapters_lora(self.ctx, adapters, 1, (ctypes.c_float * 1)(1.0))
            else:  # llama-cpp-python before the plural
                status = lib.llama_set_adapter_lora(self.ctx, self.adapter, 1.0)
            if status != 0:
                raise UserError(f"engine llamacpp: llama.cpp could not apply the adapter {self.files.adapter}.")
        return self.ctx

    def generate(self, prompts: Sequence[Sequence[int]], budgets: Sequence[int], *, tokenizer: Any,
                 eos_ids: Sequence[int], stop: Sequence[str] = (), temperature: float = 0.0, top_p: float = 1.0,
                 seed: int = 0, batch_size: int = 16, progress: bool = False, desc: str = "generate",
                 on_token: Callable[[int, list[int]], None] | None = None) -> list[list[int]]:
        """The generated ids of each tokenized prompt, in input order, up to and including the token that ended it:
        an id of ``eos_ids``, the one that completed a stop string (``tokenizer`` decodes), or the last of its
        budget. Prompts are taken longest first, ``batch_size`` sequences at a time. ``on_token(index, ids)``: called
        with a prompt's index and its ids so far after each new one (an exception it raises ends the generation)."""
        if any(len(p) == 0 for p in prompts):
            raise UserError("engine llamacpp: a prompt is empty; every prompt needs at least one token.")
        lib = self.lib
        budgets = [max(1, b) for b in budgets]  # a prompt that fills the context still gets its one token
        seqs = max(1, min(batch_size, len(prompts), CALL_TOKENS))  # each call has room for every decoding sequence
        ctx = self._context(seqs, max(len(p) + b for p, b in zip(prompts, budgets)) if prompts else 1)
        memory = lib.llama_get_memory(ctx)
        answer_end = AnswerEnd(tokenizer, eos_ids, stop)
        queue = deque(sorted(range(len(prompts)), key=lambda i: -len(prompts[i])))
        rows: list[_Row | None] = [None] * seqs
        results: list[list[int]] = [[] for _ in prompts]
        batch = lib.llama_batch_init(CALL_TOKENS, 0, 1)
        bar = tqdm(total=len(prompts), desc=desc, unit="answer", file=sys.stderr, disable=not progress)

        def put(n: int, token: int, position: int, seq: int, logits: bool) -> None:
            batch.token[n], batch.pos[n], batch.n_seq_id[n] = token, position, 1
            batch.seq_id[n][0], batch.logits[n] = seq, int(logits)

        def ended(row: _Row) -> bool:
            return answer_end(row.tokens, row.budget)

        try:
            while True:
                for seq in range(seqs):
                    if rows[seq] is None and queue:
                        job = queue.popleft()
                        rows[seq] = _Row(job, prompts[job], budgets[job],
                                         self._sampler(temperature, top_p, hash((seed, job)) % (2**32 - 1)))
                if all(row is None for row in rows):
                    break
                n, outputs = 0, []
                for seq, row in enumerate(rows):  # rows whose prompt is in the cache: their latest token
                    if row is not None and row.fed == len(row.prompt):
                        put(n, row.tokens[-1], len(row.prompt) + len(row.tokens) - 1, seq, True)
                        outputs.append((seq, n))
                        n += 1
                for seq, row in enumerate(rows):  # then prompts, as much of them as the call has room for
                    if row is None or row.fed == len(row.prompt) or n == CALL_TOKENS:
                        continue
                    take = min(CALL_TOKENS - n, len(row.prompt) - row.fed)
                    for position in range(row.fed, row.fed + take):
                        last = position == len(row.prompt) - 1
                        put(n, row.prompt[position], position, seq, last)
                        if last:
                            outputs.append((seq, n))
                        n += 1
                    row.fed += take
                batch.n_tokens = n
                status = lib.llama_decode(ctx, batch)
                if status != 0:
                    raise RuntimeError(f"llama_decode returned {status} for {n} tokens of {seqs} sequences "
                                       f"({self.seq_tokens} positions each)")
                for seq, index in outputs:
                    row = rows[seq]
                    assert row is not None
                    row.tokens.append(int(lib.llama_sampler_sample(row.sampler, ctx, index)))
                    if on_token is not None:
                        on_token(row.job, row.tokens)
                    if ended(row):
                        results[row.job] = row.tokens
                        lib.llama_sampler_free(row.sampler)
                        lib.llama_memory_seq_rm(memory, seq, -1, -1)
                        rows[seq] = None
                        bar.update()
        finally:
            bar.close()
            lib.llama_batch_free(batch)
            for row in rows:
                if row is not None:
                    lib.llama_sampler_free(row.sampler)
        return results

    def _sampler(self, temperature: float, top_p: float, seed: int) -> Any:
        """Greedy at temperature 0; else temperature, then top-p, then a draw from ``seed`` (transformers' order;
        ``seed`` below 2**32 - 1, which llama.cpp reads as "any seed")."""
        lib = self.lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if temperature <= 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(temperature))
        if top_p < 1.0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(top_p, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        return chain


@dataclass
class _Row:
    """One sequence being generated: its answer's index, prompt, budget and sampler; prompt tokens in the cache."""

    job: int
    prompt: Sequence[int]
    budget: int
    sampler: Any
    fed: int = 0
    tokens: list[int] = field(default_factory=list)


def loaded(files: GGUFFiles, threads: int, float32: bool) -> LlamaCppModel:
    """The llama.cpp model of ``files`` (kept loaded: one at a time; the files of the one replaced are removed)."""
    held: LlamaCppModel | None = _STATE.get("model")
    if held is not None and (held.files, held.threads, held.float32) == (files, threads, float32):
        return held
    if held is not None:
        held.close()
        del _STATE["model"]
        for path in held.files.written:
            if path not in files.written:
                path.unlink(missing_ok=True)
    _STATE["model"] = LlamaCppModel(files, threads, float32)
    return _STATE["model"]


def llamacpp_generate(model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], *, max_new_tokens: int,
                      eos_ids: Sequence[int], stop: Sequence[str] = (), temperature: float = 0.0, top_p: float = 1.0,
                      seed: int = 0, batch_size: int = 16, context: int | None = None, progress: bool = False,
                      desc: str = "generate", on_token: Callable[[int, list[int]], None] | None = None,
                      ) -> list[list[int]]:
    """The generated ids of each tokenized prompt through llama.cpp (see :meth:`LlamaCppModel.generate`), from the
    GGUF files of ``model`` (:func:`gguf_files`); the budget is ``max_new_tokens`` or what ``context`` leaves."""
    llama_cpp_module()  # the one-line error before anything is written
    files = gguf_files(model, tokenizer)
    engine = loaded(files, torch.get_num_threads(), weights_dtype(model) == torch.float32)
    budgets = [max_new_tokens if context is None else min(max_new_tokens, context - len(p)) for p in prompts]
    return engine.generate(prompts, budgets, tokenizer=tokenizer, eos_ids=eos_ids, stop=stop, temperature=temperature,
                           top_p=top_p, seed=seed, batch_size=batch_size, progress=progress, desc=desc,
                           on_token=on_token)
