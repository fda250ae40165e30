"""Problem-bank families about short lists, sorting, small grids and simple simulations."""

from __future__ import annotations

import random
from collections import Counter
from typing import Iterable

from lightning_lora.problems.bank.core import Family, Params, ints, yes_no

# Shared program openings (plain text: no placeholders).
_READ_A = "n = int(input())\na = list(map(int, input().split()))\n"
_READ_GRID = "h, w = map(int, input().split())\ng = [input().strip() for _ in range(h)]\n"


def _st(*parts: str) -> str:
    """One statement from its paragraphs."""
    return "\n\n".join(parts)


def _read_nx(name: str) -> str:
    """A program opening that reads ``N <name>`` and then the list ``a``."""
    return f"n, {name} = map(int, input().split())\na = list(map(int, input().split()))\n"


def _seq(text: str, head: int = 1) -> tuple[list[int], list[int]]:
    """The first line's ``head`` integers (N first) and the N integers of the list after them."""
    values = ints(text)
    return values[:head], values[head:head + values[0]]


def _line(values: Iterable[object]) -> str:
    return " ".join(map(str, values))


def _seq_text(a: list[int], *head: int) -> str:
    """``N`` (and ``head``) on the first line, the list on the second."""
    return f"{_line((len(a), *head))}\n{_line(a)}\n"


def _values(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    """``n`` values in ``lo..hi``; half the time from a window of three values, so that ties are common."""
    if rng.random() < 0.5:
        lo = rng.randint(lo, max(lo, hi - 2))
        hi = min(hi, lo + 2)
    return [rng.randint(lo, hi) for _ in range(n)]


def _grid(text: str) -> list[str]:
    lines = text.split("\n")
    return [row.strip() for row in lines[1:1 + int(lines[0].split()[0])]]


def _grid_text(rows: list[str]) -> str:
    return f"{len(rows)} {len(rows[0])}\n" + "".join(row + "\n" for row in rows)


def _rand_grid(rng: random.Random, hmax: int = 5, wmax: int = 5) -> list[str]:
    h, w = rng.randint(1, hmax), rng.randint(1, wmax)
    p = rng.choice((0.15, 0.5, 0.85))
    return ["".join("#" if rng.random() < p else "." for _ in range(w)) for _ in range(h)]


# --- seq_max_minus_min -------------------------------------------------------------------------------------------


def _hi_params(rng: random.Random) -> Params:
    return {"hi": rng.choice((9, 100, 1000))}


def _max_minus_min_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    return f"{max(a) - min(a)}\n"


SEQ_MAX_MINUS_MIN = Family(
    name="seq_max_minus_min",
    topic="minmax",
    statements=(
        _st("You are given N integers A_1, A_2, ..., A_N. Print the largest of them minus the smallest of them.",
            "Input\n\nInput is given from Standard Input in the following format:\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint max(A) - min(A) as an integer.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= $hi\n- All values in input are integers."),
        _st("Takahashi measured the heights of N plants in centimetres: A_1, ..., A_N. By how many centimetres "
            "does the tallest plant exceed the shortest one? (With a single plant the answer is 0.)",
            "Input\n\nThe first line holds N; the second line holds A_1 ... A_N separated by spaces.",
            "Output\n\nPrint the difference on one line.",
            "Constraints\n\n- N is an integer, 1 <= N <= 10.\n- Each A_i is an integer between 1 and $hi inclusive."),
        _st("The spread of a list is its maximum element minus its minimum element. Compute the spread of "
            "A = (A_1, ..., A_N).",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= $hi (integers)",
            "Input\n\nN\nA_1 ... A_N",
            "Output\n\nOne integer: the spread of A."),
    ),
    params=_hi_params,
    answer=_max_minus_min_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, p["hi"])),
    edge_inputs=lambda p: ["1\n5\n", f"3\n{p['hi']} {p['hi']} {p['hi']}\n", "3\n5 1 9\n", "4\n1 9 3 5\n"],
    reference=_READ_A + "print(max(a) - min(a))\n",
    mutants=(
        _READ_A + "print(a[-1] - a[0])\n",  # assumes the list is already sorted
        _READ_A + "print(max(a) - a[0])\n",  # takes A_1 as the minimum
    ),
)

# --- seq_index_of_extreme ----------------------------------------------------------------------------------------


def _extreme_params(rng: random.Random) -> Params:
    return rng.choice(({"word": "largest", "fn": "max"}, {"word": "smallest", "fn": "min"}))


def _index_of_extreme_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    best = max(a) if p["fn"] == "max" else min(a)
    return f"{a.index(best) + 1}\n"


SEQ_INDEX_OF_EXTREME = Family(
    name="seq_index_of_extreme",
    topic="minmax",
    statements=(
        _st("You are given a sequence A_1, A_2, ..., A_N. Find the index i such that A_i is the $word value in "
            "the sequence. If several positions hold that value, answer the smallest such index. Indices start "
            "at 1.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the index (1-based).",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 100\n- All input values are integers."),
        _st("N runners finished a race; runner i (counting from 1) scored A_i points. Which runner has the "
            "$word score? On a tie, name the runner with the smallest number among the tied ones.",
            "Input\n\nInput is given from Standard Input in this format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the runner's number, an integer from 1 to N.",
            "Constraints\n\n1 <= N <= 10, 1 <= A_i <= 100, all integers."),
        _st("Print the position of the first occurrence of the $word element of the list A = (A_1, ..., A_N). "
            "Positions are numbered 1, 2, ..., N from the left.",
            "Constraints\n\n- 1 <= N <= 10\n- Each A_i is an integer with 1 <= A_i <= 100.",
            "Input\n\nThe first line contains N and the second line contains the N elements of A.",
            "Output\n\nPrint one integer."),
    ),
    params=_extreme_params,
    answer=_index_of_extreme_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, 100)),
    edge_inputs=lambda p: ["1\n5\n", "3\n7 7 7\n", "4\n2 9 1 9\n", "3\n1 2 3\n", "3\n3 2 1\n"],
    reference=_READ_A + "print(a.index($fn(a)) + 1)\n",
    mutants=(
        _READ_A + "print(a.index($fn(a)))\n",  # prints the 0-based index
        _READ_A + "print(n - a[::-1].index($fn(a)))\n",  # the last position on ties
    ),
)

# --- seq_second_distinct -----------------------------------------------------------------------------------------


def _second_distinct_params(rng: random.Random) -> Params:
    return rng.choice(({"word": "largest", "idx": -2, "end": -1}, {"word": "smallest", "idx": 1, "end": 0}))


def _second_distinct_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    rest = set(a) - {max(a) if p["word"] == "largest" else min(a)}
    return f"{max(rest) if p['word'] == 'largest' else min(rest)}\n"


def _second_distinct_input(rng: random.Random, p: Params) -> str:
    while True:
        a = _values(rng, rng.randint(2, 10), 1, 100)
        if len(set(a)) >= 2:
            return _seq_text(a)


SEQ_SECOND_DISTINCT = Family(
    name="seq_second_distinct",
    topic="minmax",
    statements=(
        _st("You are given N integers A_1, ..., A_N, not all equal. Among the distinct values that appear, print "
            "the second $word one. Equal values count only once.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the answer as an integer.",
            "Constraints\n\n- 2 <= N <= 10\n- 1 <= A_i <= 100\n- At least two of the A_i are different.\n"
            "- All values are integers."),
        _st("A shop sells N items with prices A_1, ..., A_N yen (several items may cost the same). Write down "
            "every different price once. Which price is the second $word on that list?",
            "Input\n\nInput is given in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint that price.",
            "Constraints\n\n- N is an integer between 2 and 10.\n- Each A_i is an integer between 1 and 100.\n"
            "- Not all prices are the same."),
        _st("Remove every occurrence of the $word value from the sequence A = (A_1, ..., A_N), then print the "
            "$word value of what remains. It is guaranteed that something remains.",
            "Constraints\n\n2 <= N <= 10; 1 <= A_i <= 100; the A_i are integers and not all equal.",
            "Input\n\nThe first line is N, the second line lists A_1 through A_N separated by spaces.",
            "Output\n\nOne line with the requested value."),
    ),
    params=_second_distinct_params,
    answer=_second_distinct_answer,
    make_input=_second_distinct_input,
    edge_inputs=lambda p: ["2\n1 2\n", "4\n5 5 1 1\n", "4\n4 1 3 2\n", "5\n9 9 9 9 8\n"],
    reference=_READ_A + "v = sorted(set(a))\nprint(v[$idx])\n",
    mutants=(
        _READ_A + "print(sorted(a)[$idx])\n",  # does not remove duplicates
        _READ_A + "v = sorted(set(a))\nprint(v[$end])\n",  # index off by one: prints the extreme value itself
    ),
)

# --- seq_count_compare -------------------------------------------------------------------------------------------

_COMPARISONS = (
    {"op": ">", "words": "greater than", "wrong": ">="},
    {"op": ">=", "words": "greater than or equal to", "wrong": ">"},
    {"op": "<", "words": "less than", "wrong": "<="},
    {"op": "<=", "words": "less than or equal to", "wrong": "<"},
)


def _count_compare_answer(p: Params, text: str) -> str:
    (_, x), a = _seq(text, 2)
    test = {">": lambda v: v > x, ">=": lambda v: v >= x, "<": lambda v: v < x, "<=": lambda v: v <= x}[p["op"]]
    return f"{sum(1 for v in a if test(v))}\n"


def _count_compare_input(rng: random.Random, p: Params) -> str:
    a = _values(rng, rng.randint(1, 10), 1, 20)
    return _seq_text(a, rng.choice(a) if rng.random() < 0.6 else rng.randint(1, 20))


SEQ_COUNT_COMPARE = Family(
    name="seq_count_compare",
    topic="lists",
    statements=(
        _st("You are given an integer X and a sequence of N integers A_1, ..., A_N. How many indices i satisfy "
            "A_i $op X, that is, A_i is $words X?",
            "Input\n\nN X\nA_1 A_2 ... A_N",
            "Output\n\nPrint the number of such indices.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= X <= 20\n- 1 <= A_i <= 20\n- All values are integers."),
        _st("N visitors of a park have heights A_1, ..., A_N, and a ride has a height mark X. A visitor is "
            "counted when their height is $words X. Print how many visitors are counted.",
            "Input\n\nInput is given from Standard Input as follows:\n\nN X\nA_1 ... A_N",
            "Output\n\nPrint the count as an integer (it may be 0).",
            "Constraints\n\nAll input values are integers; 1 <= N <= 10; 1 <= X, A_i <= 20."),
        _st("Count the elements v of the list A (length N) for which the comparison v $op X holds.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= X <= 20\n- 1 <= A_i <= 20 (integers)",
            "Input\n\nThe first line contains N and X separated by a space. The second line contains A_1, ..., "
            "A_N separated by spaces.",
            "Output\n\nOne integer: the number of such elements."),
    ),
    params=lambda rng: dict(rng.choice(_COMPARISONS)),
    answer=_count_compare_answer,
    make_input=_count_compare_input,
    edge_inputs=lambda p: ["3 5\n5 5 5\n", f"1 5\n{9 if '>' in p['op'] else 1}\n", "4 3\n1 2 3 4\n", "1 20\n20\n"],
    reference=_read_nx("x") + "print(sum(1 for v in a if v $op x))\n",
    mutants=(
        _read_nx("x") + "print(sum(1 for v in a if v $wrong x))\n",  # strict and non-strict mixed up
        _read_nx("x") + "print(sum(1 for i in range(1, n) if a[i] $op x))\n",  # skips A_1
    ),
)

# --- seq_sum_parity ----------------------------------------------------------------------------------------------


def _sum_parity_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    return f"{sum(v for v in a if v % 2 == p['r'])}\n"


SEQ_SUM_PARITY = Family(
    name="seq_sum_parity",
    topic="lists",
    statements=(
        _st("You are given N positive integers A_1, ..., A_N. Print the sum of those A_i that are $parity. If "
            "none of them is $parity, print 0.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the sum.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 100\n- All values in input are integers."),
        _st("Takahashi has N bags of coins; bag i holds A_i coins. He keeps only the bags holding an $parity number "
            "of coins. How many coins does he keep in total?",
            "Input\n\nInput is given in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the total number of coins he keeps (0 if he keeps no bag).",
            "Constraints\n\n1 <= N <= 10, 1 <= A_i <= 100, all integers."),
        _st("Add up every $parity value of the list A = (A_1, ..., A_N) and print the result. (The parity is "
            "that of the value A_i itself, not of its position.) An empty sum is 0.",
            "Constraints\n\n- N is an integer, 1 <= N <= 10.\n- Every A_i is an integer from 1 to 100.",
            "Input\n\nLine 1: N. Line 2: A_1 ... A_N, separated by spaces.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"parity": "even", "r": 0}, {"parity": "odd", "r": 1})),
    answer=_sum_parity_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, 100)),
    edge_inputs=lambda p: ["1\n7\n", "1\n4\n", "3\n3 2 5\n", "4\n2 4 6 8\n", "3\n1 3 5\n"],
    reference=_READ_A + "print(sum(v for v in a if v % 2 == $r))\n",
    mutants=(
        _READ_A + "print(sum(a[i] for i in range(n) if i % 2 == $r))\n",  # parity of the position, not the value
        _READ_A + "print(sum(1 for v in a if v % 2 == $r))\n",  # counts them instead of adding them
    ),
)

# --- seq_is_sorted -----------------------------------------------------------------------------------------------

_ORDERS = (
    {"order": "non-decreasing", "op": "<=", "wrong": "<", "chain": "A_1 <= A_2 <= ... <= A_N"},
    {"order": "strictly increasing", "op": "<", "wrong": "<=", "chain": "A_1 < A_2 < ... < A_N"},
    {"order": "non-increasing", "op": ">=", "wrong": ">", "chain": "A_1 >= A_2 >= ... >= A_N"},
    {"order": "strictly decreasing", "op": ">", "wrong": ">=", "chain": "A_1 > A_2 > ... > A_N"},
)


def _is_sorted_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    if p["op"] in ("<=", "<"):
        ok = a == sorted(a)
    else:
        ok = a == sorted(a, reverse=True)
    return yes_no(ok and (len(set(a)) == len(a) or "=" in p["op"]))


def _is_sorted_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 8)
    if rng.random() < 0.5:
        a = _values(rng, n, 1, 30)
        if rng.random() < 0.8:
            a = sorted(a, reverse=p["op"] in (">=", ">"))
        return _seq_text(a)
    a = sorted(rng.sample(range(1, 31), n), reverse=p["op"] in (">=", ">"))
    if n >= 2 and rng.random() < 0.4:  # one neighbour pair made equal or swapped
        i = rng.randrange(n - 1)
        if rng.random() < 0.5:
            a[i + 1] = a[i]
        else:
            a[i], a[i + 1] = a[i + 1], a[i]
    return _seq_text(a)


SEQ_IS_SORTED = Family(
    name="seq_is_sorted",
    topic="sorting",
    statements=(
        _st("You are given a sequence A_1, A_2, ..., A_N. Determine whether it is $order, that is, whether "
            "$chain holds.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint Yes if the sequence is $order, and No otherwise.",
            "Constraints\n\n- 1 <= N <= 8\n- 1 <= A_i <= 30\n- All values are integers."),
        _st("Aoki wrote N numbers on a board from left to right: A_1, ..., A_N. He says they are in "
            "$order order ($chain). Is he right? A single number always counts as ordered.",
            "Input\n\nInput is given from Standard Input in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nIf Aoki is right, print Yes; otherwise, print No.",
            "Constraints\n\n1 <= N <= 8, 1 <= A_i <= 30, integers."),
        _st("Check every pair of neighbours A_i, A_{i+1} (1 <= i < N) of the list A. Print Yes if each pair "
            "satisfies A_i $op A_{i+1}, and No if some pair does not.",
            "Constraints\n\n- N is an integer between 1 and 8.\n- Every A_i is an integer between 1 and 30.",
            "Input\n\nThe first line contains N; the second contains A_1 ... A_N separated by spaces.",
            "Output\n\nExactly Yes or No."),
    ),
    params=lambda rng: dict(rng.choice(_ORDERS)),
    answer=_is_sorted_answer,
    make_input=_is_sorted_input,
    edge_inputs=lambda p: ["1\n5\n", "3\n4 4 4\n", "3\n1 9 5\n", "3\n9 1 5\n", "4\n1 2 3 4\n", "4\n4 3 2 1\n"],
    reference=_READ_A + "print('Yes' if all(a[i] $op a[i + 1] for i in range(n - 1)) else 'No')\n",
    mutants=(
        _READ_A + "print('Yes' if all(a[i] $wrong a[i + 1] for i in range(n - 1)) else 'No')\n",  # strictness
        _READ_A + "print('Yes' if a[0] $op a[-1] else 'No')\n",  # compares only the two ends
    ),
)

# --- seq_count_distinct ------------------------------------------------------------------------------------------


def _count_distinct_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    return f"{len(set(a))}\n"


SEQ_COUNT_DISTINCT = Family(
    name="seq_count_distinct",
    topic="lists",
    statements=(
        _st("You are given N integers A_1, ..., A_N. How many different values occur among them?",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the number of distinct values.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= $hi\n- All values are integers."),
        _st("Snuke has N cards; card i shows the number A_i. He wants to put one card of each number into an "
            "album, and never two cards with the same number. How many cards can the album hold at most?",
            "Input\n\nInput is given from Standard Input in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the answer.",
            "Constraints\n\n- 1 <= N <= 10\n- Each A_i is an integer with 1 <= A_i <= $hi."),
        _st("Print the size of the set {A_1, A_2, ..., A_N}, i.e. the number of distinct elements of the list "
            "(a value that appears several times is counted once).",
            "Constraints\n\n1 <= N <= 10 and 1 <= A_i <= $hi; all values are integers.",
            "Input\n\nFirst line: N. Second line: A_1 ... A_N separated by spaces.",
            "Output\n\nOne integer."),
    ),
    params=_hi_params,
    answer=_count_distinct_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, p["hi"])),
    edge_inputs=lambda p: ["1\n5\n", "2\n3 3\n", "3\n1 2 1\n", "4\n7 7 7 7\n", "4\n1 2 3 4\n"],
    reference=_READ_A + "print(len(set(a)))\n",
    mutants=(
        _READ_A + "print(1 + sum(a[i] != a[i + 1] for i in range(n - 1)))\n",  # counts changes without sorting
        _READ_A + "print(sum(a.count(v) == 1 for v in set(a)))\n",  # counts values that occur exactly once
    ),
)

# --- seq_sort_print ----------------------------------------------------------------------------------------------


def _sort_print_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    return _line(sorted(a, reverse=p["rev"])) + "\n"


SEQ_SORT_PRINT = Family(
    name="seq_sort_print",
    topic="sorting",
    statements=(
        _st("You are given N integers A_1, ..., A_N. Sort them in $dir order and print the result.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the N sorted values on one line, separated by single spaces.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 100\n- All values are integers."),
        _st("N students got scores A_1, ..., A_N on a test. List all the scores in $dir order (equal scores "
            "are all listed).",
            "Input\n\nInput is given in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the N scores on a single line in $dir order, separated by spaces.",
            "Constraints\n\n1 <= N <= 10; each A_i is an integer between 1 and 100."),
        _st("Rearrange the list A of length N so that it is in $dir order, and output it.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 100 (integers)",
            "Input\n\nThe first line contains N, the second line contains A_1, ..., A_N.",
            "Output\n\nOne line: the rearranged list, its elements separated by spaces. Compare the elements as "
            "numbers."),
    ),
    params=lambda rng: rng.choice(({"dir": "ascending", "rev": False}, {"dir": "descending", "rev": True})),
    answer=_sort_print_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, 100)),
    edge_inputs=lambda p: ["1\n5\n", "2\n9 10\n", "3\n3 1 2\n", "4\n2 2 1 1\n", "3\n100 5 20\n"],
    reference=_READ_A + "print(*sorted(a, reverse=$rev))\n",
    mutants=(
        "n = int(input())\na = input().split()\nprint(*sorted(a, reverse=$rev))\n",  # sorts the strings
        _READ_A + "print(*sorted(a, reverse=not $rev))\n",  # the other direction
    ),
)

# --- seq_k_extreme -----------------------------------------------------------------------------------------------


def _k_extreme_answer(p: Params, text: str) -> str:
    (_, k), a = _seq(text, 2)
    return _line(sorted(a, reverse=p["rev"])[:k]) + "\n"


def _k_extreme_input(rng: random.Random, p: Params) -> str:
    a = _values(rng, rng.randint(1, 10), 1, 50)
    return _seq_text(a, rng.randint(1, len(a)))


SEQ_K_EXTREME = Family(
    name="seq_k_extreme",
    topic="sorting",
    statements=(
        _st("You are given N integers A_1, ..., A_N and an integer K. Print the K $word of them in $dir "
            "order. Equal values are separate elements: a value that appears twice may be printed twice.",
            "Input\n\nN K\nA_1 A_2 ... A_N",
            "Output\n\nPrint K integers on one line, separated by spaces.",
            "Constraints\n\n- 1 <= K <= N <= 10\n- 1 <= A_i <= 50\n- All values are integers."),
        _st("A contest had N entries with scores A_1, ..., A_N. The K $word scores are to be announced, in "
            "$dir order. Print them (repeated scores are announced as many times as they are among the K).",
            "Input\n\nInput is given from Standard Input in this format:\n\nN K\nA_1 ... A_N",
            "Output\n\nPrint the K scores in $dir order on a single line, separated by single spaces.",
            "Constraints\n\n1 <= K <= N <= 10, 1 <= A_i <= 50, integers."),
        _st("Sort the list A of length N in $dir order and print its first K elements.",
            "Constraints\n\n- 1 <= K <= N <= 10\n- Each A_i is an integer from 1 to 50.",
            "Input\n\nThe first line contains N and K; the second line contains A_1 through A_N.",
            "Output\n\nThe K elements on one line, separated by spaces."),
    ),
    params=lambda rng: rng.choice(({"word": "smallest", "dir": "ascending", "rev": False},
                                   {"word": "largest", "dir": "descending", "rev": True})),
    answer=_k_extreme_answer,
    make_input=_k_extreme_input,
    edge_inputs=lambda p: ["1 1\n5\n", "3 1\n5 4 2\n", "3 1\n2 4 5\n", "4 4\n3 1 4 1\n", "4 2\n7 7 7 7\n"],
    reference=_read_nx("k") + "print(*sorted(a, reverse=$rev)[:k])\n",
    mutants=(
        _read_nx("k") + "print(*sorted(a, reverse=$rev)[:k - 1])\n",  # one element short
        _read_nx("k") + "print(*sorted(a[:k], reverse=$rev))\n",  # sorts only the first K elements
    ),
)

# --- seq_median --------------------------------------------------------------------------------------------------


def _median_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    return f"{sorted(a)[len(a) // 2]}\n"


SEQ_MEDIAN = Family(
    name="seq_median",
    topic="sorting",
    statements=(
        _st("You are given an odd number N of integers A_1, ..., A_N. Print their median: the value in the "
            "middle position once the numbers are sorted.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the median.",
            "Constraints\n\n- 1 <= N <= 9\n- N is odd.\n- 1 <= A_i <= $hi\n- All values are integers."),
        _st("N judges gave scores A_1, ..., A_N (N is odd). The official score is the middle one: line the "
            "scores up from lowest to highest and take the ((N+1)/2)-th. Print the official score.",
            "Input\n\nInput is given in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the official score as an integer.",
            "Constraints\n\n1 <= N <= 9, N odd, 1 <= A_i <= $hi, integers."),
        _st("Print the ((N+1)/2)-th smallest element of the list A = (A_1, ..., A_N), counting equal elements "
            "separately. N is odd.",
            "Constraints\n\n- N is an odd integer between 1 and 9.\n- Each A_i is an integer, 1 <= A_i <= $hi.",
            "Input\n\nLine 1 holds N and line 2 holds A_1 ... A_N separated by spaces.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: {"hi": rng.choice((100, 1000))},
    answer=_median_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.choice((1, 3, 5, 7, 9)), 1, p["hi"])),
    edge_inputs=lambda p: ["1\n7\n", "3\n3 1 2\n", "5\n1 1 1 100 100\n", "3\n2 2 2\n", "5\n5 4 3 2 1\n"],
    reference=_READ_A + "print(sorted(a)[n // 2])\n",
    mutants=(
        _READ_A + "print(a[n // 2])\n",  # forgets to sort
        _READ_A + "print(sum(a) // n)\n",  # the mean, not the median
    ),
)

# --- seq_adjacent_equal ------------------------------------------------------------------------------------------


def _adjacent_equal_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    return f"{sum(1 for x, y in zip(a, a[1:]) if x == y)}\n"


SEQ_ADJACENT_EQUAL = Family(
    name="seq_adjacent_equal",
    topic="lists",
    statements=(
        _st("You are given a sequence A_1, ..., A_N. Count the indices i (1 <= i <= N-1) with A_i = A_{i+1}.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the count.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 9\n- All values are integers."),
        _st("N people stand in a row; person i wears a shirt of colour A_i. How many pairs of people standing "
            "directly next to each other wear the same colour?",
            "Input\n\nInput is given from Standard Input in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the number of such neighbouring pairs.",
            "Constraints\n\n1 <= N <= 10; 1 <= A_i <= 9; integers."),
        _st("Walk along the list A from left to right and count how many times an element equals the element "
            "just before it. Only neighbours are compared.",
            "Constraints\n\n- N is an integer, 1 <= N <= 10.\n- Each A_i is an integer between 1 and 9.",
            "Input\n\nFirst line: N. Second line: A_1 ... A_N.",
            "Output\n\nOne integer (0 if no element equals its predecessor)."),
    ),
    answer=_adjacent_equal_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, 9)),
    edge_inputs=lambda p: ["1\n4\n", "3\n5 5 5\n", "3\n1 2 2\n", "3\n1 2 1\n", "4\n3 3 1 2\n"],
    reference=_READ_A + "print(sum(1 for i in range(n - 1) if a[i] == a[i + 1]))\n",
    mutants=(
        _READ_A + "print(sum(1 for i in range(n) for j in range(i + 1, n) if a[i] == a[j]))\n",  # every pair
        _READ_A + "print(sum(1 for i in range(n - 2) if a[i] == a[i + 1]))\n",  # misses the last pair
    ),
)

# --- seq_longest_run ---------------------------------------------------------------------------------------------


def _longest_run_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    best = 1
    for start in range(len(a)):
        end = start
        while end + 1 < len(a) and (a[end] < a[end + 1] or (p["op"] == "<=" and a[end] == a[end + 1])):
            end += 1
        best = max(best, end - start + 1)
    return f"{best}\n"


_LONGEST_RUN_BODY = ("best = cur = 1\nfor i in range(1, n):\n    cur = cur + 1 if a[i - 1] $op a[i] else 1\n"
                     "    best = max(best, cur)\nprint(best)\n")

SEQ_LONGEST_RUN = Family(
    name="seq_longest_run",
    topic="lists",
    statements=(
        _st("You are given a sequence A_1, ..., A_N. Find the length of the longest contiguous part "
            "A_l, A_{l+1}, ..., A_r that is $order (every element $rel the next one). A single element counts "
            "as such a part of length 1.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint the maximum length.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 20\n- All values are integers."),
        _st("Takahashi recorded his score in N consecutive games: A_1, ..., A_N. A streak is a block of "
            "consecutive games in which each score is $rel the score of the following game in the block. How "
            "many games does his longest streak last? One game on its own is a streak of length 1.",
            "Input\n\nInput is given in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the length of the longest streak.",
            "Constraints\n\n1 <= N <= 10, 1 <= A_i <= 20, integers."),
        _st("Print the largest L such that some L consecutive elements of the list A form a $order run.",
            "Constraints\n\n- N is an integer between 1 and 10.\n- Every A_i is an integer from 1 to 20.",
            "Input\n\nThe first line contains N and the second line contains A_1 ... A_N.",
            "Output\n\nOne integer L."),
    ),
    params=lambda rng: rng.choice(({"order": "strictly increasing", "rel": "smaller than", "op": "<",
                                    "wrong": "<="},
                                   {"order": "non-decreasing", "rel": "smaller than or equal to", "op": "<=",
                                    "wrong": "<"})),
    answer=_longest_run_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, 20)),
    edge_inputs=lambda p: ["1\n5\n", "3\n2 2 2\n", "4\n3 1 2 3\n", "4\n4 3 2 1\n", "5\n1 2 3 1 2\n"],
    reference=_READ_A + _LONGEST_RUN_BODY,
    mutants=(
        # the run still open at the end is never counted
        _READ_A + "best, cur = 0, 1\nfor i in range(1, n):\n    if a[i - 1] $op a[i]:\n        cur += 1\n"
        "    else:\n        best = max(best, cur)\n        cur = 1\nprint(best)\n",
        _READ_A + _LONGEST_RUN_BODY.replace("$op", "$wrong"),  # strict and non-strict mixed up
    ),
)

# --- seq_reach_total ---------------------------------------------------------------------------------------------


def _reach_total_answer(p: Params, text: str) -> str:
    (_, t), a = _seq(text, 2)
    total = 0
    for step, v in enumerate(a, start=1):
        total += v
        if total > t or (p["op"] == ">=" and total == t):
            return f"{step}\n"
    return "-1\n"


def _reach_total_input(rng: random.Random, p: Params) -> str:
    a = [rng.randint(1, 10) for _ in range(rng.randint(1, 10))]
    prefix = [sum(a[:i + 1]) for i in range(len(a))]
    t = rng.choice(prefix) if rng.random() < 0.6 else rng.randint(1, min(100, prefix[-1] + 5))
    return _seq_text(a, t)


SEQ_REACH_TOTAL = Family(
    name="seq_reach_total",
    topic="simulation",
    statements=(
        _st("You are given N positive integers A_1, ..., A_N and a target T. Add A_1, A_2, ... one by one to a "
            "running total that starts at 0. After which addition does the total first become $words T? Print "
            "that step number (the first addition is step 1), or -1 if it never happens.",
            "Input\n\nN T\nA_1 A_2 ... A_N",
            "Output\n\nPrint the step number or -1.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= T <= 100\n- 1 <= A_i <= 10\n- All values are integers."),
        _st("A piggy bank is empty. On day i (i = 1, 2, ..., N) Snuke puts A_i coins into it. On which day does "
            "the bank first hold $words T coins? If that never happens within the N days, print -1.",
            "Input\n\nInput is given from Standard Input in the following format:\n\nN T\nA_1 ... A_N",
            "Output\n\nPrint the day number (days are numbered from 1), or -1.",
            "Constraints\n\n1 <= N <= 10, 1 <= T <= 100, 1 <= A_i <= 10, integers."),
        _st("Let S_k = A_1 + ... + A_k. Print the smallest k (1 <= k <= N) with S_k $op T. Print -1 when no "
            "such k exists.",
            "Constraints\n\n- N, T and every A_i are integers.\n- 1 <= N <= 10, 1 <= T <= 100, 1 <= A_i <= 10.",
            "Input\n\nThe first line contains N and T. The second line contains A_1, ..., A_N.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"op": ">=", "words": "at least", "wrong": ">"},
                                   {"op": ">", "words": "strictly more than", "wrong": ">="})),
    answer=_reach_total_answer,
    make_input=_reach_total_input,
    edge_inputs=lambda p: ["3 5\n5 1 1\n", "2 100\n1 1\n", "1 1\n1\n", "3 6\n1 2 3\n", "3 4\n1 1 3\n"],
    reference=_read_nx("t") + "s = 0\nfor i in range(n):\n    s += a[i]\n    if s $op t:\n        print(i + 1)\n"
    "        break\nelse:\n    print(-1)\n",
    mutants=(
        # the 0-based step
        _read_nx("t") + "s = 0\nfor i in range(n):\n    s += a[i]\n    if s $op t:\n        print(i)\n"
        "        break\nelse:\n    print(-1)\n",
        # strict and non-strict mixed up
        _read_nx("t") + "s = 0\nfor i in range(n):\n    s += a[i]\n    if s $wrong t:\n        print(i + 1)\n"
        "        break\nelse:\n    print(-1)\n",
    ),
)

# --- grid_count_cells --------------------------------------------------------------------------------------------


_GRID_FORMAT = "H W\nS_1\nS_2\n:\nS_H"

GRID_COUNT_CELLS = Family(
    name="grid_count_cells",
    topic="grid",
    statements=(
        _st("There is a grid with H rows and W columns. Row i is given as a string S_i of length W; '#' is a "
            "black cell and '.' is a white cell. Count the $colour cells.",
            "Input\n\n" + _GRID_FORMAT,
            "Output\n\nPrint the number of $colour cells ('$ch').",
            "Constraints\n\n- 1 <= H, W <= 10\n- Each S_i has length W and consists of '#' and '.'."),
        _st("A field is divided into H x W squares. A square drawn as '#' is planted and a square drawn as '.' "
            "is empty. How many squares are drawn as '$ch'?",
            "Input\n\nInput is given in the following format: first a line with H and W, then H lines, each a "
            "string of W characters '#' or '.'.",
            "Output\n\nPrint the answer as an integer.",
            "Constraints\n\n1 <= H <= 10, 1 <= W <= 10."),
        _st("Print how many times the character '$ch' appears in an H-by-W picture made of '#' and '.'.",
            "Constraints\n\n- H and W are integers between 1 and 10.\n- S_1, ..., S_H are strings of length W "
            "over '#' and '.'.",
            "Input\n\n" + _GRID_FORMAT,
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"colour": "black", "ch": "#"}, {"colour": "white", "ch": "."})),
    answer=lambda p, text: f"{sum(row.count(p['ch']) for row in _grid(text))}\n",
    make_input=lambda rng, p: _grid_text(_rand_grid(rng, 6, 6)),
    edge_inputs=lambda p: ["1 1\n#\n", "1 1\n.\n", "2 3\n###\n###\n", "2 3\n...\n...\n", "2 2\n#.\n.#\n"],
    reference="h, w = map(int, input().split())\nprint(sum(input().count('$ch') for _ in range(h)))\n",
    mutants=(
        "h, w = map(int, input().split())\nprint(sum(input().count('$ch') for _ in range(h - 1)))\n",  # last row
        "h, w = map(int, input().split())\nprint(sum('$ch' in input() for _ in range(h)))\n",  # rows that have one
    ),
)

# --- grid_full_line ----------------------------------------------------------------------------------------------

_COLUMNS = "[''.join(c) for c in zip(*g)]"


def _full_line_answer(p: Params, text: str) -> str:
    g = _grid(text)
    if p["line"] == "row":
        return yes_no(any(all(c == "#" for c in row) for row in g))
    return yes_no(any(all(row[j] == "#" for row in g) for j in range(len(g[0]))))


GRID_FULL_LINE = Family(
    name="grid_full_line",
    topic="grid",
    statements=(
        _st("You are given a grid of H rows and W columns; S_i describes row i, with '#' for a black cell and "
            "'.' for a white one. Is there a $line in which every cell is black?",
            "Input\n\n" + _GRID_FORMAT,
            "Output\n\nPrint Yes if such a $line exists, and No otherwise.",
            "Constraints\n\n- 1 <= H, W <= 6\n- Each S_i is a string of length W made of '#' and '.'."),
        _st("A cinema has H rows of W seats; '#' marks a sold seat and '.' a free one. Is there some $line of "
            "the hall that is completely sold out?",
            "Input\n\nThe first line holds H and W. Each of the next H lines holds W characters ('#' or '.').",
            "Output\n\nYes if some $line is entirely '#', otherwise No.",
            "Constraints\n\n1 <= H <= 6, 1 <= W <= 6."),
        _st("Determine whether at least one $line of the H x W picture below consists only of '#' characters.",
            "Constraints\n\n- H and W are integers, 1 <= H, W <= 6.\n- The picture contains only '#' and '.'.",
            "Input\n\n" + _GRID_FORMAT,
            "Output\n\nPrint exactly Yes or No."),
    ),
    params=lambda rng: rng.choice(({"line": "row", "lines": "g", "other": _COLUMNS},
                                   {"line": "column", "lines": _COLUMNS, "other": "g"})),
    answer=_full_line_answer,
    make_input=lambda rng, p: _grid_text(_rand_grid(rng, 4, 4)),
    edge_inputs=lambda p: ["1 1\n#\n", "1 1\n.\n", "2 2\n#.\n.#\n", "2 2\n##\n..\n", "2 2\n#.\n#.\n"],
    reference=_READ_GRID + "lines = $lines\nprint('Yes' if any(set(x) == {'#'} for x in lines) else 'No')\n",
    mutants=(
        _READ_GRID + "lines = $lines\nprint('Yes' if any('#' in x for x in lines) else 'No')\n",  # any, not all
        _READ_GRID + "lines = $other\nprint('Yes' if any(set(x) == {'#'} for x in lines) else 'No')\n",  # rows/cols
    ),
)

# --- grid_transpose ----------------------------------------------------------------------------------------------


def _transpose_answer(p: Params, text: str) -> str:
    g = _grid(text)
    return "".join("".join(row[j] for row in g) + "\n" for j in range(len(g[0])))


GRID_TRANSPOSE = Family(
    name="grid_transpose",
    topic="grid",
    statements=(
        _st("You are given a grid with H rows and W columns of '#' and '.'. Print its transpose: a grid with W "
            "rows and H columns whose cell in row j, column i equals the cell in row i, column j of the given "
            "grid.",
            "Input\n\n" + _GRID_FORMAT,
            "Output\n\nPrint W lines; the j-th line is a string of length H.",
            "Constraints\n\n- 1 <= H, W <= 5\n- Each S_i has length W and consists of '#' and '.'."),
        _st("Takahashi wrote a picture of H lines with W characters each. Aoki wants to read it column by "
            "column: for each column from left to right, he reads the characters from top to bottom and writes "
            "them as one line. Print what Aoki writes.",
            "Input\n\nInput is given in the following format:\n\nH W\nS_1\n:\nS_H",
            "Output\n\nPrint W lines, each of H characters.",
            "Constraints\n\n1 <= H <= 5, 1 <= W <= 5; the picture consists of '#' and '.'."),
        _st("Flip the H x W grid over its main diagonal (top-left to bottom-right), so rows become columns, and "
            "print the result.",
            "Constraints\n\n- H and W are integers between 1 and 5.\n- Every S_i is a string of W characters, "
            "each '#' or '.'.",
            "Input\n\nThe first line contains H and W; the following H lines contain S_1, ..., S_H.",
            "Output\n\nThe flipped grid: W lines of length H, without the sizes."),
    ),
    answer=_transpose_answer,
    make_input=lambda rng, p: _grid_text(_rand_grid(rng, 5, 5)),
    edge_inputs=lambda p: ["1 1\n#\n", "1 3\n#.#\n", "2 3\n#..\n##.\n", "3 1\n#\n.\n.\n", "2 2\n#.\n..\n"],
    reference=_READ_GRID + "for j in range(w):\n    print(''.join(g[i][j] for i in range(h)))\n",
    mutants=(
        _READ_GRID + "for j in range(h):\n    print(''.join(g[i][j] for i in range(w)))\n",  # H and W swapped
        _READ_GRID + "for j in range(w):\n    print(''.join(g[i][j] for i in reversed(range(h))))\n",  # rotates
    ),
)

# --- grid_black_neighbour ----------------------------------------------------------------------------------------

_DIRS4 = "((-1, 0), (1, 0), (0, -1), (0, 1))"
_DIRS8 = "((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))"


def _black_neighbour_answer(p: Params, text: str) -> str:
    g = _grid(text)
    h, w = len(g), len(g[0])
    count = 0
    for i in range(h):
        for j in range(w):
            near = [(i + di, j + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)
                    and (p["k"] == 8 or di == 0 or dj == 0)]
            if g[i][j] == "." and any(0 <= x < h and 0 <= y < w and g[x][y] == "#" for x, y in near):
                count += 1
    return f"{count}\n"


def _black_neighbour_program(bounds: str, cell: str = "g[i][j] == '.' and ") -> str:
    return (_READ_GRID + "d = $dirs\nans = 0\nfor i in range(h):\n    for j in range(w):\n"
            f"        if {cell}any({bounds} and g[i + di][j + dj] == '#' for di, dj in d):\n"
            "            ans += 1\nprint(ans)\n")


_IN_GRID = "0 <= i + di < h and 0 <= j + dj < w"

GRID_BLACK_NEIGHBOUR = Family(
    name="grid_black_neighbour",
    topic="grid",
    statements=(
        _st("A grid has H rows and W columns; '#' is black and '.' is white. Two cells are neighbours when they "
            "$touch. Count the white cells that have at least one black neighbour. Cells outside the grid do "
            "not exist.",
            "Input\n\n" + _GRID_FORMAT,
            "Output\n\nPrint the number of such white cells.",
            "Constraints\n\n- 1 <= H, W <= 6\n- Each S_i has length W and consists of '#' and '.'."),
        _st("A town map is an H x W grid: '#' is a house on fire and '.' is a safe house. A safe house is in "
            "danger if one of the squares that $touch it burns (each cell has at most $k such squares; the map "
            "does not wrap around). How many safe houses are in danger?",
            "Input\n\nInput is given in the following format:\n\nH W\nS_1\n:\nS_H",
            "Output\n\nPrint the number of safe houses in danger.",
            "Constraints\n\n1 <= H <= 6, 1 <= W <= 6; the map consists of '#' and '.'."),
        _st("For every '.' cell of the grid, look at its up to $k neighbouring cells (cells that $touch it, "
            "inside the grid only). Print how many '.' cells see at least one '#'.",
            "Constraints\n\n- H and W are integers between 1 and 6.\n- The grid contains only '#' and '.'.",
            "Input\n\nThe first line gives H and W; then H lines follow, the rows S_1, ..., S_H.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"k": 4, "dirs": _DIRS4, "other": _DIRS8, "touch": "share a side"},
                                   {"k": 8, "dirs": _DIRS8, "other": _DIRS4, "touch": "share a side or a corner"})),
    answer=_black_neighbour_answer,
    make_input=lambda rng, p: _grid_text(_rand_grid(rng, 5, 5)),
    edge_inputs=lambda p: ["1 1\n.\n", "1 1\n#\n", "1 3\n..#\n", "2 2\n#.\n..\n", "1 2\n##\n"],
    reference=_black_neighbour_program(_IN_GRID),
    mutants=(
        _black_neighbour_program("i + di < h and j + dj < w"),  # index -1 wraps around to the other side
        _black_neighbour_program(_IN_GRID).replace("$dirs", "$other"),  # the wrong neighbourhood
        _black_neighbour_program(_IN_GRID, cell=""),  # counts black cells too
    ),
)

# --- grid_find_difference ----------------------------------------------------------------------------------------


def _find_difference_answer(p: Params, text: str) -> str:
    lines = text.split("\n")
    h = int(lines[0].split()[0])
    a, b = lines[1:1 + h], lines[1 + h:1 + 2 * h]
    return next(f"{i + 1} {j + 1}\n" for i in range(h) for j in range(len(a[i])) if a[i][j] != b[i][j])


def _find_difference_input(rng: random.Random, p: Params) -> str:
    a = _rand_grid(rng, 4, 4)
    i, j = rng.randrange(len(a)), rng.randrange(len(a[0]))
    b = list(a)
    b[i] = b[i][:j] + ("." if b[i][j] == "#" else "#") + b[i][j + 1:]
    return _grid_text(a) + "".join(row + "\n" for row in b)


GRID_FIND_DIFFERENCE = Family(
    name="grid_find_difference",
    topic="grid",
    statements=(
        _st("You are given two grids A and B, each with H rows and W columns of '#' and '.'. They differ in "
            "exactly one cell. Find that cell.",
            "Input\n\nH W\nA_1\n:\nA_H\nB_1\n:\nB_H",
            "Output\n\nPrint the row number i and the column number j of the differing cell, separated by a "
            "space. Rows are numbered 1 to H from the top and columns 1 to W from the left.",
            "Constraints\n\n- 1 <= H, W <= 4\n- A_i and B_i are strings of length W over '#' and '.'.\n"
            "- A and B differ in exactly one cell."),
        _st("Spot the difference! Two pictures of size H x W are identical except for one square. Report that "
            "square as (row, column), both counted from 1, the row from the top and the column from the left.",
            "Input\n\nThe first line contains H and W. The next H lines are the first picture, and the H lines "
            "after them are the second picture. Each line has W characters, '#' or '.'.",
            "Output\n\nPrint two integers: the row, then the column.",
            "Constraints\n\n1 <= H <= 4, 1 <= W <= 4; exactly one square differs."),
        _st("Grids A and B of equal size (H rows, W columns) disagree at a single position (i, j). Print i and "
            "j in this order on one line, with 1-based indices (i is the row, j the column).",
            "Constraints\n\n- H and W are integers between 1 and 4.\n- The grids consist of '#' and '.'.\n"
            "- Exactly one cell differs.",
            "Input\n\nH W, then the H rows of A, then the H rows of B, one row per line.",
            "Output\n\ni j"),
    ),
    answer=_find_difference_answer,
    make_input=_find_difference_input,
    edge_inputs=lambda p: ["1 1\n#\n.\n", "1 3\n...\n..#\n", "2 3\n...\n...\n...\n#..\n", "2 2\n##\n##\n##\n#.\n"],
    reference="h, w = map(int, input().split())\na = [input() for _ in range(h)]\nb = [input() for _ in range(h)]\n"
    "for i in range(h):\n    for j in range(w):\n        if a[i][j] != b[i][j]:\n            print(i + 1, j + 1)\n",
    mutants=(
        # 0-based indices
        "h, w = map(int, input().split())\na = [input() for _ in range(h)]\nb = [input() for _ in range(h)]\n"
        "for i in range(h):\n    for j in range(w):\n        if a[i][j] != b[i][j]:\n            print(i, j)\n",
        # column printed before the row
        "h, w = map(int, input().split())\na = [input() for _ in range(h)]\nb = [input() for _ in range(h)]\n"
        "for i in range(h):\n    for j in range(w):\n        if a[i][j] != b[i][j]:\n            print(j + 1, i + 1)\n",
    ),
)

# --- seq_rotate --------------------------------------------------------------------------------------------------


def _rotate_answer(p: Params, text: str) -> str:
    (n, k), a = _seq(text, 2)
    for _ in range(k):
        a = a[1:] + a[:1] if p["dir"] == "left" else a[-1:] + a[:-1]
    return _line(a) + "\n"


def _rotate_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 8)
    return _seq_text([rng.randint(1, 9) for _ in range(n)], rng.randint(0, 3 * n))


SEQ_ROTATE = Family(
    name="seq_rotate",
    topic="lists",
    statements=(
        _st("You are given a sequence A = (A_1, ..., A_N) and an integer K. Perform the following operation K "
            "times: $how. Print the final sequence.",
            "Input\n\nN K\nA_1 A_2 ... A_N",
            "Output\n\nPrint the N elements on one line, separated by spaces.",
            "Constraints\n\n- 1 <= N <= 8\n- 0 <= K <= 24\n- 1 <= A_i <= 9\n- All values are integers."),
        _st("N children sit on a bench in the order A_1, ..., A_N (each A_i is a child's number). Every minute, "
            "the children shift: $how. After K minutes, in what order do they sit?",
            "Input\n\nInput is given from Standard Input in this format:\n\nN K\nA_1 ... A_N",
            "Output\n\nPrint the children's numbers from left to right on one line, separated by single spaces.",
            "Constraints\n\n1 <= N <= 8, 0 <= K <= 24, 1 <= A_i <= 9, integers."),
        _st("Rotate the list A to the $dir by K positions (one rotation step means: $how) and output the "
            "rotated list. K may be larger than N.",
            "Constraints\n\n- N and K are integers with 1 <= N <= 8 and 0 <= K <= 24.\n- 1 <= A_i <= 9.",
            "Input\n\nLine 1: N and K. Line 2: A_1 ... A_N.",
            "Output\n\nThe N elements on a single line, separated by spaces."),
    ),
    params=lambda rng: rng.choice(({"dir": "left", "sign": "", "other": "-",
                                    "how": "move the first element to the end"},
                                   {"dir": "right", "sign": "-", "other": "",
                                    "how": "move the last element to the front"})),
    answer=_rotate_answer,
    make_input=_rotate_input,
    edge_inputs=lambda p: ["1 5\n7\n", "3 0\n1 2 3\n", "3 4\n1 2 3\n", "4 1\n1 2 3 4\n", "3 3\n4 5 6\n"],
    reference=_read_nx("k") + "k = ${sign}k % n\nprint(*(a[k:] + a[:k]))\n",
    mutants=(
        _read_nx("k") + "print(*(a[${sign}k:] + a[:${sign}k]))\n",  # no reduction modulo N: wrong for K > N
        _read_nx("k") + "k = ${other}k % n\nprint(*(a[k:] + a[:k]))\n",  # rotates the other way
    ),
)

# --- seq_most_frequent -------------------------------------------------------------------------------------------


def _most_frequent_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    counts = Counter(a)
    top = max(counts.values())
    tied = [v for v in counts if counts[v] == top]
    return f"{min(tied) if p['fn'] == 'min' else max(tied)}\n"


SEQ_MOST_FREQUENT = Family(
    name="seq_most_frequent",
    topic="lists",
    statements=(
        _st("You are given N integers A_1, ..., A_N. Print the value that occurs most often. If several values "
            "occur the same largest number of times, print the $tie of them.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint that value.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 9\n- All values are integers."),
        _st("In a class vote, N pupils each wrote the number of their favourite song: A_1, ..., A_N. Which song "
            "got the most votes? When songs are tied for the most votes, the one with the $tie number wins.",
            "Input\n\nInput is given in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the number of the winning song.",
            "Constraints\n\n1 <= N <= 10, 1 <= A_i <= 9, integers."),
        _st("Find the mode of the list A (its most frequent value); among several equally frequent values "
            "choose the $tie value.",
            "Constraints\n\n- N is an integer, 1 <= N <= 10.\n- Each A_i is an integer with 1 <= A_i <= 9.",
            "Input\n\nThe first line has N, the second line has A_1 ... A_N separated by spaces.",
            "Output\n\nOne integer: the chosen value."),
    ),
    params=lambda rng: rng.choice(({"tie": "smallest", "fn": "min", "other": "max"},
                                   {"tie": "largest", "fn": "max", "other": "min"})),
    answer=_most_frequent_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, 9)),
    edge_inputs=lambda p: ["1\n4\n", "2\n5 3\n", "2\n3 5\n", "5\n1 2 2 3 3\n", "4\n9 9 9 9\n"],
    reference=_READ_A + "c = {}\nfor v in a:\n    c[v] = c.get(v, 0) + 1\nm = max(c.values())\n"
    "print($fn(v for v in c if c[v] == m))\n",
    mutants=(
        _READ_A + "print(max(a, key=a.count))\n",  # on ties, the value seen first in the input
        _READ_A + "c = {}\nfor v in a:\n    c[v] = c.get(v, 0) + 1\nm = max(c.values())\n"
        "print($other(v for v in c if c[v] == m))\n",  # the opposite tie-break
    ),
)

# --- seq_sum_k_extreme -------------------------------------------------------------------------------------------


def _sum_k_extreme_answer(p: Params, text: str) -> str:
    (_, k), a = _seq(text, 2)
    return f"{sum(sorted(a, reverse=p['rev'])[:k])}\n"


SEQ_SUM_K_EXTREME = Family(
    name="seq_sum_k_extreme",
    topic="sorting",
    statements=(
        _st("You are given N integers A_1, ..., A_N and an integer K. Choose K of them (different positions) "
            "so that their sum is as $goal as possible, and print that sum.",
            "Input\n\nN K\nA_1 A_2 ... A_N",
            "Output\n\nPrint the sum.",
            "Constraints\n\n- 1 <= K <= N <= 10\n- 1 <= A_i <= 100\n- All values are integers."),
        _st("A market stall has N melons weighing A_1, ..., A_N grams. Takahashi buys exactly K melons and "
            "wants them to weigh as $goal in total as possible. What is that total weight?",
            "Input\n\nInput is given from Standard Input in the following format:\n\nN K\nA_1 ... A_N",
            "Output\n\nPrint the total weight in grams.",
            "Constraints\n\n1 <= K <= N <= 10, 1 <= A_i <= 100, integers."),
        _st("Print the sum of the K $word elements of the list A of length N (equal values at different "
            "positions are different elements).",
            "Constraints\n\n- N and K are integers with 1 <= K <= N <= 10.\n- 1 <= A_i <= 100 for all i.",
            "Input\n\nThe first line contains N and K. The second line contains A_1, ..., A_N.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"word": "largest", "goal": "large", "rev": True},
                                   {"word": "smallest", "goal": "small", "rev": False})),
    answer=_sum_k_extreme_answer,
    make_input=_k_extreme_input,
    edge_inputs=lambda p: ["1 1\n5\n", "3 1\n1 2 3\n", "3 1\n3 2 1\n", "3 3\n4 4 4\n", "4 2\n5 1 5 1\n"],
    reference=_read_nx("k") + "print(sum(sorted(a, reverse=$rev)[:k]))\n",
    mutants=(
        _read_nx("k") + "print(sum(a[:k]))\n",  # the first K elements, unsorted
        _read_nx("k") + "print(sum(sorted(a, reverse=not $rev)[:k]))\n",  # sorted the wrong way
    ),
)

# --- seq_pair_sum ------------------------------------------------------------------------------------------------


def _pair_sum_answer(p: Params, text: str) -> str:
    (n, s), a = _seq(text, 2)
    pairs = [a[i] + a[j] for i in range(n) for j in range(i + 1, n)]
    return f"{sum(1 for v in pairs if v == s or (p['op'] == '<=' and v < s))}\n"


def _pair_sum_input(rng: random.Random, p: Params) -> str:
    a = _values(rng, rng.randint(1, 10), 1, 10)
    s = rng.choice(a) + rng.choice(a) if rng.random() < 0.7 else rng.randint(2, 20)
    return _seq_text(a, s)


SEQ_PAIR_SUM = Family(
    name="seq_pair_sum",
    topic="lists",
    statements=(
        _st("You are given N integers A_1, ..., A_N and an integer S. Count the pairs of indices (i, j) with "
            "1 <= i < j <= N such that A_i + A_j is $words S.",
            "Input\n\nN S\nA_1 A_2 ... A_N",
            "Output\n\nPrint the number of such pairs.",
            "Constraints\n\n- 1 <= N <= 10\n- 2 <= S <= 20\n- 1 <= A_i <= 10\n- All values are integers."),
        _st("There are N weights; weight i weighs A_i. A scale accepts two different weights at once when their "
            "total is $words S. How many ways are there to choose two different weights (the order of the two "
            "does not matter) that the scale accepts?",
            "Input\n\nInput is given in this format:\n\nN S\nA_1 ... A_N",
            "Output\n\nPrint the number of ways (0 if there is none).",
            "Constraints\n\n1 <= N <= 10, 2 <= S <= 20, 1 <= A_i <= 10, integers."),
        _st("How many unordered pairs of distinct positions {i, j} of the list A satisfy A_i + A_j $op S? "
            "An element may not be paired with itself.",
            "Constraints\n\n- N, S and all A_i are integers.\n- 1 <= N <= 10, 2 <= S <= 20, 1 <= A_i <= 10.",
            "Input\n\nThe first line gives N and S; the second line gives A_1 ... A_N.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"op": "==", "words": "equal to"}, {"op": "<=", "words": "at most"})),
    answer=_pair_sum_answer,
    make_input=_pair_sum_input,
    edge_inputs=lambda p: ["1 4\n2\n", "2 4\n2 2\n", "3 5\n1 2 3\n", "4 2\n1 1 1 1\n", "2 20\n10 10\n"],
    reference=_read_nx("s") + "print(sum(1 for i in range(n) for j in range(i + 1, n) if a[i] + a[j] $op s))\n",
    mutants=(
        # counts (i, j) and (j, i) both
        _read_nx("s") + "print(sum(1 for i in range(n) for j in range(n) if i != j and a[i] + a[j] $op s))\n",
        _read_nx("s") + "print(sum(1 for i in range(n) for j in range(i, n) if a[i] + a[j] $op s))\n",  # i = j too
    ),
)

# --- grid_robot_moves --------------------------------------------------------------------------------------------

_LETTERS = (
    {"u": "U", "d": "D", "l": "L", "r": "R"},
    {"u": "N", "d": "S", "l": "W", "r": "E"},
)


def _robot_answer(p: Params, text: str) -> str:
    x = y = 0
    for c in text.strip():
        dx, dy = {p["u"]: (0, 1), p["d"]: (0, -1), p["l"]: (-1, 0), p["r"]: (1, 0)}[c]
        x, y = x + dx, y + dy
    return f"{x} {y}\n"


def _robot_input(rng: random.Random, p: Params) -> str:
    letters = [p["u"], p["d"], p["l"], p["r"]]
    n = rng.randint(1, 20)
    if rng.random() < 0.3:  # only two opposite letters: often back at the start
        letters = rng.choice(([p["u"], p["d"]], [p["l"], p["r"]]))
    return "".join(rng.choice(letters) for _ in range(n)) + "\n"


_ROBOT_READ = "s = input().strip()\nx = s.count('$r') - s.count('$l')\n"

GRID_ROBOT_MOVES = Family(
    name="grid_robot_moves",
    topic="simulation",
    statements=(
        _st("A robot stands at the point (0, 0) of an infinite grid. It executes the commands of a string S "
            "one by one: '$u' moves it to (x, y+1), '$d' to (x, y-1), '$l' to (x-1, y) and '$r' to (x+1, y). "
            "Print the robot's final position.",
            "Input\n\nS",
            "Output\n\nPrint x and y, separated by a space.",
            "Constraints\n\n- 1 <= |S| <= 20\n- S consists of the letters $u, $d, $l and $r."),
        _st("Snuke starts at the origin of a map where x grows to the east and y grows to the north. He follows "
            "the instructions in S, each moving him one step: $u is north, $d is south, $l is west and $r is "
            "east. Where does he end up?",
            "Input\n\nInput is given from Standard Input as a single string S.",
            "Output\n\nPrint his final x coordinate and y coordinate on one line, in this order, separated by a "
            "space.",
            "Constraints\n\n1 <= |S| <= 20; every character of S is one of $u, $d, $l, $r."),
        _st("Starting from (x, y) = (0, 0), apply the moves of S: '$r' adds 1 to x, '$l' subtracts 1 from x, "
            "'$u' adds 1 to y and '$d' subtracts 1 from y. Output the final (x, y).",
            "Constraints\n\n- S is a string of length between 1 and 20 over the letters $u, $d, $l, $r.",
            "Input\n\nOne line containing S.",
            "Output\n\nTwo integers x y on one line."),
    ),
    params=lambda rng: dict(rng.choice(_LETTERS)),
    answer=_robot_answer,
    make_input=_robot_input,
    edge_inputs=lambda p: [f"{p['u']}\n", f"{p['l'] * 4}\n", f"{p['u']}{p['d']}{p['l']}{p['r']}\n",
                           f"{p['r'] * 2}{p['u']}\n", f"{p['d'] * 3}{p['r']}\n"],
    reference=_ROBOT_READ + "y = s.count('$u') - s.count('$d')\nprint(x, y)\n",
    mutants=(
        _ROBOT_READ + "y = s.count('$d') - s.count('$u')\nprint(x, y)\n",  # y grows downwards
        _ROBOT_READ + "y = s.count('$u') - s.count('$d')\nprint(y, x)\n",  # prints y before x
    ),
)

# --- seq_counter_commands ----------------------------------------------------------------------------------------


def _counter_answer(p: Params, text: str) -> str:
    lines = text.split("\n")
    value = 0
    for line in lines[1:1 + int(lines[0])]:
        op, x = line.split()
        value = value + int(x) if op == p["inc"] else max(0, value - int(x))
    return f"{value}\n"


def _counter_input(rng: random.Random, p: Params) -> str:
    q = rng.randint(1, 8)
    lines = [f"{rng.choice((p['inc'], p['dec']))} {rng.randint(1, 10)}" for _ in range(q)]
    return f"{q}\n" + "".join(line + "\n" for line in lines)


_COUNTER_PROGRAM = ("q = int(input())\nc = 0\nfor _ in range(q):\n    op, x = input().split()\n"
                    "    c = c + int(x) if op == '$inc' else max(0, c - int(x))\nprint(c)\n")

SEQ_COUNTER_COMMANDS = Family(
    name="seq_counter_commands",
    topic="simulation",
    statements=(
        _st("A counter starts at 0. You are given Q commands. A command '$inc x' adds x to the counter, and a "
            "command '$dec x' subtracts x, except that the counter never goes below 0: if the result would be "
            "negative, the counter becomes 0. Print the counter's value after all commands.",
            "Input\n\nQ\nc_1 x_1\n:\nc_Q x_Q\n\nwhere each c_i is $inc or $dec.",
            "Output\n\nPrint the final value.",
            "Constraints\n\n- 1 <= Q <= 8\n- 1 <= x_i <= 10\n- Each x_i is an integer."),
        _st("A room is empty at first. Q events happen in order: '$inc x' means x people enter, '$dec x' means "
            "x people want to leave (if fewer than x people are inside, everybody inside leaves). How many "
            "people are in the room at the end?",
            "Input\n\nThe first line contains Q. Each of the next Q lines contains a word ($inc or $dec) and an "
            "integer x, separated by a space.",
            "Output\n\nPrint the number of people in the room.",
            "Constraints\n\n1 <= Q <= 8; 1 <= x <= 10."),
        _st("Simulate a value v (initially 0) under Q operations: '$inc x' sets v to v + x and '$dec x' sets "
            "v to max(0, v - x). Output v after the last operation.",
            "Constraints\n\n- Q is an integer between 1 and 8.\n- Every x is an integer between 1 and 10.",
            "Input\n\nQ on the first line, then one operation per line.",
            "Output\n\nThe final v as an integer."),
    ),
    params=lambda rng: rng.choice(({"inc": "+", "dec": "-"}, {"inc": "add", "dec": "sub"},
                                   {"inc": "in", "dec": "out"})),
    answer=_counter_answer,
    make_input=_counter_input,
    edge_inputs=lambda p: [f"1\n{p['dec']} 5\n", f"2\n{p['dec']} 5\n{p['inc']} 3\n", f"1\n{p['inc']} 7\n",
                           f"3\n{p['inc']} 4\n{p['dec']} 4\n{p['dec']} 1\n"],
    reference=_COUNTER_PROGRAM,
    mutants=(
        _COUNTER_PROGRAM.replace("max(0, c - int(x))", "c - int(x)"),  # lets the counter go negative
        # clamps only once, at the end
        _COUNTER_PROGRAM.replace("max(0, c - int(x))", "c - int(x)").replace("print(c)", "print(max(0, c))"),
    ),
)

# --- seq_elevator_distance ---------------------------------------------------------------------------------------


def _elevator_answer(p: Params, text: str) -> str:
    _, f = _seq(text)
    stops = [p["start"], *f]
    return f"{sum(abs(b - a) for a, b in zip(stops, stops[1:]))}\n"


_ELEVATOR_READ = "n = int(input())\nf = list(map(int, input().split()))\n"

SEQ_ELEVATOR_DISTANCE = Family(
    name="seq_elevator_distance",
    topic="simulation",
    statements=(
        _st("An elevator is at floor $start. It then stops at floors F_1, F_2, ..., F_N in this order. Moving "
            "between floors a and b takes |a - b| floors of travel. How many floors does it travel in total?",
            "Input\n\nN\nF_1 F_2 ... F_N",
            "Output\n\nPrint the total number of floors travelled.",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= F_i <= 20\n- All values are integers."),
        _st("Takahashi stands on floor $start of a tall building. He has N errands, on floors F_1, ..., F_N, "
            "and does them in that order, taking the stairs straight up or down each time. Count the floors he "
            "climbs or descends altogether. (An errand on the floor where he already is costs nothing.)",
            "Input\n\nInput is given from Standard Input in the following format:\n\nN\nF_1 ... F_N",
            "Output\n\nPrint the total.",
            "Constraints\n\n1 <= N <= 10, 1 <= F_i <= 20, integers."),
        _st("Let F_0 = $start. Print |F_1 - F_0| + |F_2 - F_1| + ... + |F_N - F_{N-1}|.",
            "Constraints\n\n- N is an integer between 1 and 10.\n- Every F_i is an integer, 1 <= F_i <= 20.",
            "Input\n\nThe first line holds N; the second holds F_1 ... F_N.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: {"start": rng.randint(1, 3)},
    answer=_elevator_answer,
    make_input=lambda rng, p: _seq_text([rng.randint(1, rng.choice((5, 20))) for _ in range(rng.randint(1, 10))]),
    edge_inputs=lambda p: [f"1\n{p['start']}\n", f"1\n{p['start'] + 5}\n", f"3\n{p['start'] + 4} {p['start']} "
                           f"{p['start'] + 4}\n", "2\n20 1\n"],
    reference=_ELEVATOR_READ + "cur, total = $start, 0\nfor x in f:\n    total += abs(x - cur)\n    cur = x\n"
    "print(total)\n",
    mutants=(
        # forgets where the elevator starts
        _ELEVATOR_READ + "cur, total = f[0], 0\nfor x in f:\n    total += abs(x - cur)\n    cur = x\nprint(total)\n",
        _ELEVATOR_READ + "print(max(f + [$start]) - min(f + [$start]))\n",  # only the span of floors visited
    ),
)

# --- seq_rps_rounds ----------------------------------------------------------------------------------------------

_HANDS = (
    {"rock": "R", "paper": "P", "scissors": "S", "beats": "{'R': 'S', 'S': 'P', 'P': 'R'}"},
    {"rock": "G", "paper": "P", "scissors": "C", "beats": "{'G': 'C', 'C': 'P', 'P': 'G'}"},
)


def _rps_answer(p: Params, text: str) -> str:
    _, s, t = text.split()
    win = {(p["rock"], p["scissors"]), (p["scissors"], p["paper"]), (p["paper"], p["rock"])}
    return f"{sum((a, b) in win for a, b in zip(s, t))} {sum((b, a) in win for a, b in zip(s, t))}\n"


def _rps_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 10)
    hands = p["rock"] + p["paper"] + p["scissors"]
    s = "".join(rng.choice(hands) for _ in range(n))
    t = "".join(c if rng.random() < 0.3 else rng.choice(hands) for c in s)
    return f"{n}\n{s}\n{t}\n"


_RPS_READ = "n = int(input())\ns = input().strip()\nt = input().strip()\nbeats = $beats\n"

SEQ_RPS_ROUNDS = Family(
    name="seq_rps_rounds",
    topic="simulation",
    statements=(
        _st("Takahashi and Aoki play N rounds of rock-paper-scissors. In round i Takahashi shows X_i and Aoki "
            "shows Y_i, where $rock is rock, $paper is paper and $scissors is scissors. Rock beats scissors, "
            "scissors beats paper and paper beats rock; equal hands are a draw. Print how many rounds each "
            "player wins.",
            "Input\n\nN\nX\nY",
            "Output\n\nPrint Takahashi's number of wins and Aoki's number of wins, separated by a space.",
            "Constraints\n\n- 1 <= N <= 10\n- X and Y are strings of length N over $rock, $paper, $scissors."),
        _st("Two players recorded N games of rock ($rock), paper ($paper) and scissors ($scissors): the first "
            "player's hands form the string X, the second player's the string Y. A rock crushes scissors, "
            "scissors cut paper, paper wraps rock, and identical hands win nothing. Count the wins of both "
            "players.",
            "Input\n\nThe first line contains N, the second X and the third Y.",
            "Output\n\nTwo integers on one line: the first player's wins, then the second player's wins.",
            "Constraints\n\n1 <= N <= 10; |X| = |Y| = N; only the letters $rock, $paper, $scissors occur."),
        _st("For each i (1 <= i <= N) compare the hands X_i and Y_i ($rock = rock, $paper = paper, $scissors = "
            "scissors, with the usual rules: rock > scissors > paper > rock). Output the number of i where X_i "
            "wins and the number of i where Y_i wins.",
            "Constraints\n\n- N is an integer between 1 and 10.\n- X and Y have length N and consist of "
            "$rock, $paper and $scissors.",
            "Input\n\nN, X and Y, each on its own line.",
            "Output\n\nThe two counts separated by a space, X's count first."),
    ),
    params=lambda rng: dict(rng.choice(_HANDS)),
    answer=_rps_answer,
    make_input=_rps_input,
    edge_inputs=lambda p: [f"1\n{p['rock']}\n{p['rock']}\n", f"1\n{p['rock']}\n{p['scissors']}\n",
                           f"3\n{p['rock']}{p['paper']}{p['scissors']}\n{p['scissors']}{p['rock']}{p['paper']}\n",
                           f"2\n{p['paper'] * 2}\n{p['scissors'] * 2}\n"],
    reference=_RPS_READ + "print(sum(beats[a] == b for a, b in zip(s, t)), sum(beats[b] == a for a, b in zip(s, t)))\n",
    mutants=(
        # the rules backwards: paper loses to rock
        _RPS_READ + "print(sum(beats[b] == a for a, b in zip(s, t)), sum(beats[a] == b for a, b in zip(s, t)))\n",
        # a draw counts as a win for both
        _RPS_READ + "print(sum(beats[a] == b or a == b for a, b in zip(s, t)), "
        "sum(beats[b] == a or a == b for a, b in zip(s, t)))\n",
    ),
)

# --- seq_calendar_stamps -----------------------------------------------------------------------------------------


def _stamps_params(rng: random.Random) -> Params:
    k = rng.randint(2, 10)
    return {"k": k, "first": rng.randint(1, k - 1)}


def _stamps_answer(p: Params, text: str) -> str:
    n = int(text.split()[0])
    return f"{len(range(p['first'], n + 1, p['k']))}\n"


SEQ_CALENDAR_STAMPS = Family(
    name="seq_calendar_stamps",
    topic="simulation",
    statements=(
        _st("Takahashi goes to the gym on day $first and then every $k days (days $first, $first + $k, "
            "$first + 2*$k, ...). Each visit earns a stamp on his calendar. How many stamps does he have after "
            "days 1 through N?",
            "Input\n\nN",
            "Output\n\nPrint the number of stamps.",
            "Constraints\n\n- 1 <= N <= 100\n- N is an integer."),
        _st("A town collects paper every $k days, the first collection being on day $first. Counting days 1, "
            "2, ..., N, on how many of them is paper collected? (It may be none.)",
            "Input\n\nInput is given from Standard Input as one integer N.",
            "Output\n\nPrint the count.",
            "Constraints\n\n1 <= N <= 100, N integer."),
        _st("Count the integers d with 1 <= d <= N such that d >= $first and d - $first is a multiple of $k.",
            "Constraints\n\n- N is an integer between 1 and 100.",
            "Input\n\nN",
            "Output\n\nOne integer."),
    ),
    params=_stamps_params,
    answer=_stamps_answer,
    make_input=lambda rng, p: f"{rng.randint(1, 100)}\n",
    edge_inputs=lambda p: [f"{p['first']}\n", "1\n", "100\n", f"{max(1, p['first'] - 1)}\n",
                           f"{p['first'] + p['k']}\n"],
    reference="n = int(input())\nprint(sum(1 for d in range(1, n + 1) if d >= $first and (d - $first) % $k == 0))\n",
    mutants=(
        "n = int(input())\nprint(n // $k)\n",  # counts multiples of the period, not from the first day
        "n = int(input())\nprint((n - $first) // $k)\n",  # forgets the first visit
    ),
)

# --- seq_temperature_rises ---------------------------------------------------------------------------------------


def _temperature_answer(p: Params, text: str) -> str:
    _, t = _seq(text)
    pairs = list(zip(t, t[1:]))
    return f"{sum(1 for a, b in pairs if (b > a if p['op'] == '<' else b < a))}\n"


SEQ_TEMPERATURE_RISES = Family(
    name="seq_temperature_rises",
    topic="simulation",
    statements=(
        _st("The noon temperature was recorded on N consecutive days: T_1, ..., T_N degrees. On how many days "
            "(from day 2 on) was it strictly $cmp than on the day before?",
            "Input\n\nN\nT_1 T_2 ... T_N",
            "Output\n\nPrint the number of such days.",
            "Constraints\n\n- 1 <= N <= 10\n- -20 <= T_i <= 40\n- All values are integers."),
        _st("A thermometer was read once a day for N days, giving T_1, ..., T_N. Call day i (i >= 2) a day "
            "where the temperature $verb if T_i is $cmp than T_{i-1}; equal readings do not count. Count those "
            "days.",
            "Input\n\nInput is given in the following format:\n\nN\nT_1 ... T_N",
            "Output\n\nPrint the count (0 if there is none).",
            "Constraints\n\n1 <= N <= 10, -20 <= T_i <= 40, integers."),
        _st("Print the number of indices i (2 <= i <= N) with T_{i-1} $op T_i.",
            "Constraints\n\n- N is an integer between 1 and 10.\n- Each T_i is an integer, -20 <= T_i <= 40.",
            "Input\n\nThe first line contains N and the second line T_1, ..., T_N.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"verb": "rose", "cmp": "higher", "op": "<", "wrong": "<="},
                                   {"verb": "fell", "cmp": "lower", "op": ">", "wrong": ">="})),
    answer=_temperature_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), -20, 40)),
    edge_inputs=lambda p: ["1\n20\n", "3\n5 5 5\n", "3\n1 3 2\n", "3\n3 1 2\n", "4\n-5 -3 -3 0\n"],
    reference=_READ_A + "print(sum(1 for i in range(1, n) if a[i - 1] $op a[i]))\n",
    mutants=(
        _READ_A + "print(sum(1 for i in range(1, n) if a[i - 1] $wrong a[i]))\n",  # counts equal days too
        _READ_A + "print(sum(1 for i in range(1, n) if a[0] $op a[i]))\n",  # compares with day 1, not the day before
    ),
)

# --- seq_average_rounded -----------------------------------------------------------------------------------------


def _average_answer(p: Params, text: str) -> str:
    _, a = _seq(text)
    q, r = divmod(sum(a), len(a))
    return f"{q + (1 if p['way'] == 'up' and r else 0)}\n"


SEQ_AVERAGE_ROUNDED = Family(
    name="seq_average_rounded",
    topic="lists",
    statements=(
        _st("You are given N positive integers A_1, ..., A_N. Print their average rounded $way to an integer.",
            "Input\n\nN\nA_1 A_2 ... A_N",
            "Output\n\nPrint (A_1 + ... + A_N) / N rounded $way (if the average is an integer, print it as it "
            "is).",
            "Constraints\n\n- 1 <= N <= 10\n- 1 <= A_i <= 100\n- All values are integers."),
        _st("N friends share a bill: friend i ate food worth A_i yen. They decide that each pays the average "
            "amount, rounded $way to a whole number of yen. How much does each friend pay?",
            "Input\n\nInput is given in the following format:\n\nN\nA_1 ... A_N",
            "Output\n\nPrint the amount as an integer.",
            "Constraints\n\n1 <= N <= 10, 1 <= A_i <= 100, integers."),
        _st("Compute the arithmetic mean of the list A of length N and round it $way ($desc). Output the "
            "rounded value.",
            "Constraints\n\n- N is an integer, 1 <= N <= 10.\n- Every A_i is an integer between 1 and 100.",
            "Input\n\nThe first line contains N; the second line contains A_1 ... A_N.",
            "Output\n\nOne integer."),
    ),
    params=lambda rng: rng.choice(({"way": "down", "expr": "s // n", "other": "-(-s // n)",
                                    "desc": "the largest integer not greater than the mean"},
                                   {"way": "up", "expr": "-(-s // n)", "other": "s // n",
                                    "desc": "the smallest integer not less than the mean"})),
    answer=_average_answer,
    make_input=lambda rng, p: _seq_text(_values(rng, rng.randint(1, 10), 1, 100)),
    edge_inputs=lambda p: ["1\n5\n", "2\n1 2\n", "3\n1 1 2\n", "3\n4 4 4\n", "3\n100 100 99\n"],
    reference=_READ_A + "s = sum(a)\nprint($expr)\n",
    mutants=(
        _READ_A + "s = sum(a)\nprint(round(s / n))\n",  # rounds to the nearest integer
        _READ_A + "s = sum(a)\nprint($other)\n",  # rounds the other way
    ),
)

# --- seq_reverse_segment -----------------------------------------------------------------------------------------


def _reverse_segment_answer(p: Params, text: str) -> str:
    (_, lo, hi), a = _seq(text, 3)
    return _line(a[:lo - 1] + a[lo - 1:hi][::-1] + a[hi:]) + "\n"


def _reverse_segment_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 10)
    lo = rng.randint(1, n)
    return _seq_text([rng.randint(1, 9) for _ in range(n)], lo, rng.randint(lo, n))


_READ_LR = "n, l, r = map(int, input().split())\na = list(map(int, input().split()))\n"

SEQ_REVERSE_SEGMENT = Family(
    name="seq_reverse_segment",
    topic="lists",
    statements=(
        _st("You are given a sequence A = (A_1, ..., A_N) and integers L and R. Reverse the order of the part "
            "A_L, A_{L+1}, ..., A_R (both ends included), keep the other elements where they are, and print "
            "the resulting sequence.",
            "Input\n\nN L R\nA_1 A_2 ... A_N",
            "Output\n\nPrint the N elements of the new sequence on one line, separated by spaces.",
            "Constraints\n\n- 1 <= L <= R <= N <= 10\n- 1 <= A_i <= 9\n- All values are integers."),
        _st("N books stand on a shelf; the i-th book from the left has number A_i. Takahashi takes out the "
            "books in positions L through R (counted from 1, inclusive) and puts them back in the reverse "
            "order. Print the numbers of the books from left to right afterwards.",
            "Input\n\nInput is given from Standard Input in this format:\n\nN L R\nA_1 ... A_N",
            "Output\n\nPrint the N numbers on a single line, separated by single spaces.",
            "Constraints\n\n1 <= L <= R <= N <= 10; 1 <= A_i <= 9; integers."),
        _st("Reverse the segment from the L-th to the R-th element (1-based, inclusive) of the list A and output "
            "the whole list.",
            "Constraints\n\n- N, L, R are integers with 1 <= L <= R <= N <= 10.\n- Every A_i is an integer from 1 "
            "to 9.",
            "Input\n\nThe first line contains N, L and R. The second line contains A_1, ..., A_N.",
            "Output\n\nThe N elements on one line, separated by spaces."),
    ),
    answer=_reverse_segment_answer,
    make_input=_reverse_segment_input,
    edge_inputs=lambda p: ["1 1 1\n5\n", "3 1 3\n1 2 3\n", "4 2 2\n1 2 3 4\n", "4 1 2\n1 2 3 4\n",
                           "4 3 4\n1 2 3 4\n"],
    reference=_READ_LR + "a[l - 1:r] = a[l - 1:r][::-1]\nprint(*a)\n",
    mutants=(
        _READ_LR + "a[l - 1:r - 1] = a[l - 1:r - 1][::-1]\nprint(*a)\n",  # leaves A_R out of the segment
        _READ_LR + "a[l:r + 1] = a[l:r + 1][::-1]\nprint(*a)\n",  # the segment shifted one to the right
    ),
)

FAMILIES: tuple[Family, ...] = (
    SEQ_MAX_MINUS_MIN, SEQ_INDEX_OF_EXTREME, SEQ_SECOND_DISTINCT, SEQ_COUNT_COMPARE, SEQ_SUM_PARITY,
    SEQ_IS_SORTED, SEQ_COUNT_DISTINCT, SEQ_SORT_PRINT, SEQ_K_EXTREME, SEQ_MEDIAN, SEQ_ADJACENT_EQUAL,
    SEQ_LONGEST_RUN, SEQ_REACH_TOTAL, GRID_COUNT_CELLS, GRID_FULL_LINE, GRID_TRANSPOSE, GRID_BLACK_NEIGHBOUR,
    GRID_FIND_DIFFERENCE, SEQ_ROTATE, SEQ_MOST_FREQUENT, SEQ_SUM_K_EXTREME, SEQ_PAIR_SUM, GRID_ROBOT_MOVES,
    SEQ_COUNTER_COMMANDS, SEQ_ELEVATOR_DISTANCE, SEQ_RPS_ROUNDS, SEQ_CALENDAR_STAMPS, SEQ_TEMPERATURE_RISES,
    SEQ_AVERAGE_ROUNDED, SEQ_REVERSE_SEGMENT,
)
