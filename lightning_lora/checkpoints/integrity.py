"""Digests of what a checkpoint or an export holds, recorded when it is written and checked when it is read, so a
file whose bytes changed (a flipped bit on disk, a bad copy, a partial overwrite that left the zip whole) is
refused in one line instead of loaded as garbage (``val/perplexity nan``) or failing deep inside a load.

A checkpoint's digests sit in its ``lightning_lora`` metadata block (``AdaptedModule.on_save_checkpoint``), one per
part (:data:`PARTS`): the trainable weights (``state_dict``) and the optimizer state (``optimizer_states``). Each
digest hashes the raw bytes of every tensor of the part, end to end in a fixed order (sorted keys), then their
names, dtypes and shapes (:func:`tensors_digest`; this layout is fixed for an algorithm's name: a new layout needs a
new name). Nothing but tensors is hashed (a damaged pickle fails to load by itself). An export records the digest of
each weight file in ``export.json``.

The hash is xxHash's XXH3-128 (the ``xxhash`` package, which ``datasets`` requires): about 10 GB/s on one core,
ten times blake2b or sha256, which is what keeps the check a small part of a save or load (see ``benchmarks/
checkpoint_integrity.py``). A digest stored inside the file it checks can only catch accidents, never tampering
(whoever rewrites the tensors can rewrite the digest), so a non-cryptographic hash gives up nothing. The algorithm
is recorded beside the digests; ``blake2b`` is read too.

Pure functions, no Lightning; the sentences that refuse a damaged file are the readers'
(:mod:`lightning_lora.checkpoints.reading`, :mod:`lightning_lora.export.reader`).
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

#: The hash new digests are made with.
ALGORITHM = "xxh3_128"
#: Where the digests sit in a checkpoint's ``lightning_lora`` metadata block, and in ``export.json``.
DIGEST_KEY = "digests"
#: The parts of a checkpoint that get a digest of their own, and what they are called in a sentence.
PARTS: dict[str, str] = {"state_dict": "the trainable weights", "optimizer_states": "the optimizer state"}
#: Files of a Hugging Face / PEFT model folder that hold weights (``save_pretrained`` writes these).
WEIGHT_FILE_PATTERNS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
_CHUNK = 16 * 2**20


class UnknownDigestAlgorithm(ValueError):
    """Digests made with a hash this version does not know."""


def _hasher(algorithm: str) -> Any:
    if algorithm == "xxh3_128":
        import xxhash

        return xxhash.xxh3_128()
    if algorithm == "blake2b":
        return hashlib.blake2b(digest_size=16)
    raise UnknownDigestAlgorithm(algorithm)


def _key_order(key: Any) -> tuple[str, Any]:
    """Sort dict keys of any one type among themselves (optimizer state is keyed by int, weights by str)."""
    return (type(key).__name__, key if isinstance(key, (int, float, str)) else str(key))


def named_tensors(obj: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor inside nested dicts, lists and tuples, as ``(path, tensor)`` in a fixed order (sorted keys)."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, Mapping):
        for key in sorted(obj, key=_key_order):
            yield from named_tensors(obj[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for index, item in enumerate(obj):
            yield from named_tensors(item, f"{prefix}.{index}" if prefix else str(index))


#: dtypes whose tensors numpy views as they are (no reinterpretation to bytes needed first).
_NUMPY_DTYPES = frozenset({torch.float64, torch.float32, torch.float16, torch.int64, torch.int32, torch.int16, torch.int8,
                           torch.uint8, torch.bool, torch.complex64, torch.complex128})


def _raw_bytes(tensor: torch.Tensor) -> Any:
    """A tensor's bytes as a buffer, without a copy for a contiguous CPU tensor (memory-mapped ones included)."""
    tensor = tensor.detach()
    if tensor.dtype in _NUMPY_DTYPES and tensor.layout == torch.strided and tensor.device.type == "cpu" \
            and tensor.is_contiguous():
        return tensor.numpy()  # the common case, kept short: a LoRA checkpoint has thousands of small tensors
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    return tensor.cpu().contiguous().reshape(-1).view(torch.uint8).numpy()  # bf16, fp8, a GPU tensor, a view


def tensors_digest(obj: Any, algorithm: str = ALGORITHM) -> str:
    """One hex digest of every tensor in ``obj`` (see :func:`named_tensors`): their bytes one after the other, then
    their names, dtypes and shapes (which fix where each tensor's bytes end)."""
    hasher = _hasher(algorithm)
    described = []
    for name, tensor in named_tensors(obj):
        described.append(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}")
        hasher.update(_raw_bytes(tensor))
    hasher.update("\n".join(described).encode())
    return hasher.hexdigest()


def checkpoint_digests(checkpoint: Mapping[str, Any], algorithm: str = ALGORITHM) -> dict[str, str]:
    """The digests a checkpoint records: ``{"algorithm": ..., part: hex}`` for each part of :data:`PARTS` it has."""
    return {"algorithm": algorithm,
            **{part: tensors_digest(checkpoint[part], algorithm) for part in PARTS if part in checkpoint}}


def damaged_parts(checkpoint: Mapping[str, Any], recorded: Mapping[str, str] | None,
                  parts: Iterable[str] = tuple(PARTS)) -> list[str]:
    """The parts among ``parts`` whose tensors no longer match the digests ``recorded`` when the checkpoint was
    saved. A part without a recorded digest (a checkpoint written before digests) or absent from the checkpoint is
    not checked. Raises :class:`UnknownDigestAlgorithm` for digests made with an unknown hash."""
    if not recorded:
        return []
    algorithm = recorded.get("algorithm", ALGORITHM)
    return [part for part in parts if part in recorded and part in checkpoint
            and tensors_digest(checkpoint[part], algorithm) != recorded[part]]


def file_digest(path: str | Path, algorithm: str = ALGORITHM) -> str:
    """The hex digest of a file's bytes: hashed through a memory map (no copy: twice as fast as reading it in
    chunks), or read in chunks where it cannot be mapped (an empty file, a filesystem without mmap)."""
    hasher = _hasher(algorithm)
    with open(path, "rb") as handle:
        try:
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                hasher.update(mapped)
                return hasher.hexdigest()
        except (ValueError, OSError):
            pass
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def weight_files(folder: str | Path) -> list[str]:
    """The names of the weight files in a model folder (adapter or whole model), sorted."""
    folder = Path(folder)
    return sorted({p.name for pattern in WEIGHT_FILE_PATTERNS for p in folder.glob(pattern) if p.is_file()})


def folder_digests(folder: str | Path, algorithm: str = ALGORITHM) -> dict[str, Any]:
    """What ``export.json`` records: ``{"algorithm": ..., "files": {name: hex}}`` for the folder's weight files."""
    folder = Path(folder)
    return {"algorithm": algorithm, "files": {name: file_digest(folder / name, algorithm) for name in weight_files(folder)}}


def damaged_files(folder: str | Path, recorded: Mapping[str, Any] | None) -> list[str]:
    """The weight files of ``folder`` that are missing or no longer match the digests ``recorded`` at export; a
    record without digests (an export written before them) checks nothing."""
    if not recorded:
        return []
    folder = Path(folder)
    algorithm = recorded.get("algorithm", ALGORITHM)
    return [name for name, digest in sorted(recorded.get("files", {}).items())
            if not (folder / name).is_file() or file_digest(folder / name, algorithm) != digest]
