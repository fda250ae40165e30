"""Turn a ``data.path`` into named splits: hub id, local file or directory, or generated data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_lora.errors import UserError, first_line
from lightning_lora.files import default_cache_dir, find_non_utf8

#: Split names in the wild, mapped to the three we use.
SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "test": "test",
}
#: Bump when a generator in data/synthetic.py changes, so cached files are regenerated.
SYNTHETIC_VERSION = 3
FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
#: Column added to every loaded split: the row's index in its source (file or hub split), carried through
#: the shuffled train/validation split so a data error names the file's line, not a position in a split.
SOURCE_ROW = "__source_row__"


class DataError(UserError):
    """The data the user pointed at cannot be used; the message names the file, field or option."""


def _synthetic_file(name: str) -> Path:
    from lightning_lora.problems import synthetic

    generators = {"code": synthetic.code_sft_rows, "classification": synthetic.classification_rows,
                  "qa": synthetic.qa_rows, "chat": synthetic.chat_rows,
                  "classification-hard": synthetic.hard_classification_rows}
    if name not in generators:
        raise DataError(f"data.path 'synthetic:{name}' is unknown; choose one of: "
                        + ", ".join(f"synthetic:{n}" for n in generators) + ".")
    path = default_cache_dir() / "data" / f"synthetic-{name}-v{SYNTHETIC_VERSION}.jsonl"
    if not path.exists():
        synthetic.write_jsonl(generators[name](), path)
    return path


def looks_like_missing_file(path: str) -> bool:
    """A path-like ``data.path`` (not a hub id, not ``synthetic:``) that does not exist."""
    if path.startswith("synthetic:") or Path(path).expanduser().exists():
        return False
    return path.startswith((".", "/", "~")) or Path(path).suffix.lower() in FILE_BUILDERS


def load_raw(path: str, config_name: str | None) -> Any:
    """``path`` loaded as a ``DatasetDict`` of the source's own splits (a local file is one ``train`` split)."""
    import datasets

    if path.startswith("synthetic:"):
        path = str(_synthetic_file(path.split(":", 1)[1]))
    local = Path(path).expanduser()
    try:
        if local.is_file():
            try:
                with local.open("rb") as handle:
                    head = handle.read(4096)
            except OSError as err:
                raise DataError(f"Data file {path} (data.path) cannot be read: {_reason(err)}.") from err
            if not head.strip():
                raise DataError(f"Data file {path} (data.path) is empty.")
            builder = FILE_BUILDERS.get(local.suffix.lower())
            if builder is None:
                raise DataError(f"Data file {path} has suffix {local.suffix!r}; use one of {', '.join(FILE_BUILDERS)}.")
            place = find_non_utf8(local) if builder in ("json", "csv") else None
            if place is not None:  # datasets would load it, then fail with a traceback when the row is read
                raise DataError(f"Data file {path} (data.path), {place}: not UTF-8 text; save the file as UTF-8.")
            try:
                return datasets.load_dataset(builder, data_files={"train": str(local)})
            except Exception as err:
                raise DataError(_unparsable_file(path, local, err)) from err
        if local.is_dir() and local.suffix.lower() in FILE_BUILDERS:
            raise DataError(f"Data file {path} (data.path) is a folder, not a {local.suffix} file.")
        if local.is_dir():
            if (local / "dataset_dict.json").exists() or (local / "dataset_info.json").exists():
                loaded = datasets.load_from_disk(str(local))
                return loaded if isinstance(loaded, datasets.DatasetDict) else datasets.DatasetDict({"train": loaded})
            return datasets.load_dataset(str(local), config_name)
        if looks_like_missing_file(path):
            raise DataError(f"Data file {path} (data.path) does not exist.")
        return datasets.load_dataset(path, config_name)
    except DataError:
        raise
    except Exception as err:  # datasets raises many types; the user needs one sentence
        first = first_line(err)
        raise DataError(f"Could not load data.path {path!r}: {first}") from err


def _reason(err: OSError) -> str:
    """``permission denied``, ``is a directory``, ...: the OS's reason in lower case, without the path."""
    return (err.strerror or type(err).__name__).lower()


_FORMATS = {".jsonl": "JSON lines", ".json": "JSON", ".csv": "CSV", ".parquet": "Parquet"}


def _unparsable_file(path: str, local: Path, err: BaseException) -> str:
    """One sentence for a local data file ``datasets`` could not load: the first bad line of a .jsonl
    file, else the reader's own complaint (``datasets`` wraps it in a message that names nothing)."""
    import json

    suffix = local.suffix.lower()
    if suffix == ".jsonl":
        try:
            with local.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as bad:
                        return (f"Data file {path} (data.path), line {number}, is not valid JSON: "
                                f"{bad.msg} (column {bad.colno}).")
                    if not isinstance(row, dict):
                        return (f"Data file {path} (data.path), line {number}, holds a {type(row).__name__}; "
                                "every line must be one JSON object.")
        except UnicodeDecodeError as bad:
            return f"Data file {path} (data.path) is not UTF-8 text ({bad.reason} at byte {bad.start})."
    cause: BaseException | None = err
    while cause is not None and type(cause).__name__ == "DatasetGenerationError":
        cause = cause.__cause__ or cause.__context__
    detail = first_line(cause or err)
    return f"Could not read data file {path} (data.path) as {_FORMATS.get(suffix, suffix)}: {detail}"


def check_max_samples(max_samples: int | None) -> None:
    """``data.max_samples`` keeps at least one row per split (0 would leave nothing to train on)."""
    if max_samples is not None and max_samples < 1:
        raise DataError(f"data.max_samples must be a positive number of rows per split (or unset for all rows), "
                        f"got {max_samples}.")


def load_source(path: str, config_name: str | None, split_field: str, val_fraction: float, seed: int,
                use_splits: list[str] | None = None, raw: Any = None) -> dict[str, Any]:
    """Load ``path`` and return ``{"train": ds, "validation": ds[, "test": ds]}``.

    A dataset's own splits are used when it has them (only those named in ``use_splits``, if
    given); otherwise rows are split by ``split_field`` when that column exists; otherwise a seeded
    ``val_fraction`` of the rows becomes validation. ``raw``: what :func:`load_raw` returned, if already loaded.
    """
    raw = load_raw(path, config_name) if raw is None else raw
    raw = type(raw)({name: dataset.add_column(SOURCE_ROW, list(range(len(dataset)))) for name, dataset in raw.items()})
    if use_splits is not None:
        unknown = [name for name in use_splits if name not in raw]
        if unknown:
            raise DataError(f"data.use_splits names {', '.join(unknown)}, but {path} has the splits {', '.join(raw)}.")
    splits: dict[str, Any] = {}
    for name, dataset in raw.items():
        canonical = SPLIT_ALIASES.get(name)
        if canonical and canonical not in splits and (use_splits is None or name in use_splits):
            splits[canonical] = dataset
    if "train" not in splits:
        raise DataError(f"{path} has no train split (found: {', '.join(raw.keys())}).")
    train = splits["train"]
    if len(splits) == 1 and split_field in train.column_names:
        values = train[split_field]
        unknown = sorted({str(v) for v in values} - set(SPLIT_ALIASES))
        if unknown:
            raise DataError(f"{path}: field {split_field!r} has values {', '.join(unknown)}; "
                            f"expected {', '.join(SPLIT_ALIASES)}.")
        by_split: dict[str, list[int]] = {}
        for index, value in enumerate(values):
            by_split.setdefault(SPLIT_ALIASES[str(value)], []).append(index)
        splits = {name: train.select(indices) for name, indices in by_split.items()}
        if "train" not in splits:
            raise DataError(f"{path}: no row has {split_field}='train'.")
    if len(splits["train"]) == 0:
        raise DataError(f"{path} has no rows.")
    if "validation" not in splits:
        if len(splits["train"]) < 2:
            raise DataError(f"{path} has {len(splits['train'])} row(s); at least 2 are needed to hold out a validation split.")
        parts = splits["train"].train_test_split(test_size=val_fraction, seed=seed)
        splits["train"], splits["validation"] = parts["train"], parts["test"]
    return splits


def load_rows(path: str, option: str) -> Any:
    """Every row of one local file, in file order (no split): the rows ``predict`` reads."""
    local = Path(path).expanduser()
    if not local.is_file():
        raise DataError(f"Data file {path} ({option}) does not exist.")
    if not local.read_bytes()[:4096].strip():
        raise DataError(f"Data file {path} ({option}) is empty.")
    if local.suffix.lower() not in FILE_BUILDERS:
        raise DataError(f"Data file {path} ({option}) has suffix {local.suffix!r}; use one of {', '.join(FILE_BUILDERS)}.")
    return load_raw(path, None)["train"]


def user_fields(dataset: Any) -> list[str]:
    """The dataset's own columns (without :data:`SOURCE_ROW`), for messages that list them."""
    return [name for name in dataset.column_names if name != SOURCE_ROW]


def source_location(path: str, record: int, source_split: str | None = None) -> str:
    """Where a record is in the user's data: ``data.jsonl, line 33`` for a JSON-lines file (blank lines
    counted), ``data.csv, row 5 after the header``, else ``<path>, record 12`` (0-based, in its source split)."""
    local = Path(path).expanduser()
    if path.startswith("synthetic:"):
        local = _synthetic_file(path.split(":", 1)[1])
    if local.is_file() and local.suffix.lower() == ".jsonl":
        seen = -1
        with local.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                seen += bool(line.strip())
                if seen == record:
                    return f"{path}, line {number}"
    if local.is_file() and local.suffix.lower() == ".csv":
        return f"{path}, row {record + 1} after the header"
    where = f" of its {source_split} split" if source_split and not local.is_file() else ""
    return f"{path}, record {record}{where}"
