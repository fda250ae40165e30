"""Which families are held out: the benchmark's problems come only from :data:`HELDOUT`, training data only from
the others, so a tuned model is scored on skills it never saw a problem of (split by family, never by instance)."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from lightning_lora.problems.bank.core import Family, draw_problem
from lightning_lora.problems.problem import Problem, ProblemSet

#: Problems in the held-out benchmark: one from each held-out family (the seed study's 41 AtCoder problems).
BENCHMARK_SIZE = 41
#: The seed the benchmark's problems are drawn with (their parameters, phrasing and tests).
BENCHMARK_SEED = 1000

#: Pinned by :func:`choose_heldout` over the bank's families when the bank was written; pinned so that adding a
#: family never moves one from training to the benchmark.
HELDOUT: tuple[str, ...] = (
    "grid_count_cells", "grid_find_difference", "num_age", "num_clock_difference", "num_compare_powers",
    "num_count_divisors", "num_days_in_month", "num_gcd_lcm", "num_median_of_three", "num_perfect_square",
    "num_point_in_rectangle", "num_product_parity", "num_rectangle", "num_reverse_difference", "num_sum_range",
    "num_twelve_to_24", "seq_adjacent_equal", "seq_average_rounded", "seq_count_distinct", "seq_counter_commands",
    "seq_longest_run", "seq_max_minus_min", "seq_median", "seq_reach_total", "seq_rotate", "seq_rps_rounds",
    "seq_sort_print", "str_anagram", "str_caesar_shift", "str_contains", "str_count_case", "str_count_overlapping",
    "str_count_vowels", "str_ends_with", "str_find_index", "str_interleave", "str_palindrome", "str_remove_char",
    "str_replace_char", "str_valid_answer", "str_wildcard_match",
)


def choose_heldout(families: dict[str, Family], count: int = BENCHMARK_SIZE) -> list[str]:
    """``count`` family names, each topic giving its share (largest remainders settle the rounding), taken in a
    fixed pseudo-random order (sha256 of the name): both sides see every topic that has two families or more."""
    by_topic: dict[str, list[str]] = defaultdict(list)
    for name in sorted(families, key=lambda n: hashlib.sha256(n.encode()).hexdigest()):
        by_topic[families[name].topic].append(name)
    count = min(count, len(families))
    exact = {t: count * len(names) / len(families) for t, names in by_topic.items()}
    quota = {t: min(int(share), max(0, len(by_topic[t]) - 1)) for t, share in exact.items()}
    for topic in sorted(exact, key=lambda t: (quota[t] - exact[t], t)):  # largest remainder first
        if sum(quota.values()) >= count:
            break
        if quota[topic] < len(by_topic[topic]) - 1:
            quota[topic] += 1
    for topic in sorted(by_topic):  # still short (topics of one family): fill from the largest topics
        while sum(quota.values()) < count and quota[topic] < len(by_topic[topic]):
            quota[topic] += 1
    return sorted(name for topic, names in by_topic.items() for name in names[:quota[topic]])


def heldout_problems(families: dict[str, Family], names: tuple[str, ...] = HELDOUT) -> ProblemSet:
    """The benchmark: problem 0 of each held-out family, drawn with :data:`BENCHMARK_SEED`."""
    missing = [n for n in names if n not in families]
    if missing:
        raise ValueError(f"problem bank: held-out families {missing} are not in the bank")
    problems = [draw_problem(families[n], 0, seed=BENCHMARK_SEED) for n in names]
    for p in problems:
        p.task_id = f"heldout/{p.task_id}"
    return ProblemSet("atcoder-style-easy", problems, filters={"families": len(names), "seed": BENCHMARK_SEED})


def training_problems(families: dict[str, Family], per_family: int, seed: int = 0,
                      names: tuple[str, ...] = HELDOUT) -> list[Problem]:
    """``per_family`` problems of every family that is not held out, family by family."""
    return [draw_problem(f, i, seed=seed) for n, f in sorted(families.items()) if n not in names
            for i in range(per_family)]
