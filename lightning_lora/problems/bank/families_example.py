"""Example families: the pattern every ``families_*.py`` module of the bank follows."""

from __future__ import annotations

import random

from lightning_lora.problems.bank.core import Family, Params


def _count_char_params(rng: random.Random) -> Params:
    return {"ch": rng.choice("abcdeorstxyz")}


def _count_char_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 20)
    letters = p["ch"] + "abcdeorstxyz"  # the counted letter twice as likely
    return "".join(rng.choice(letters) for _ in range(n)) + "\n"


COUNT_CHAR = Family(
    name="count_char",
    topic="counting",
    statements=(
        "You are given a string S of lowercase English letters. Print how many times the letter $ch occurs in S."
        "\n\nInput\n\nS\n\nOutput\n\nPrint the number of occurrences of $ch.\n\nConstraints\n\n"
        "- 1 <= |S| <= 20\n- S consists of lowercase English letters.",
        "How many characters of the string S are equal to '$ch'?\n\nInput is given from Standard Input in the "
        "following format:\n\nS\n\nOutput\n\nPrint the answer as an integer.\n\nConstraints\n\n- S is 1 to 20 "
        "lowercase English letters.",
        "Takahashi wrote a word S. Count the letters $ch in it.\n\nInput\n\nOne line containing S (1 to 20 "
        "lowercase letters).\n\nOutput\n\nThe count, on one line.",
    ),
    params=_count_char_params,
    answer=lambda p, text: f"{text.split()[0].count(p['ch'])}\n",
    make_input=_count_char_input,
    edge_inputs=lambda p: [f"{p['ch']}\n", "q\n", p["ch"] * 20 + "\n", "q" * 19 + p["ch"] + "\n"],
    reference="s = input().strip()\nprint(s.count('$ch'))\n",
    mutants=(
        "s = input().strip()\nprint(s[:-1].count('$ch'))\n",  # skips the last letter
        "s = input().strip()\nprint(min(1, s.count('$ch')))\n",  # only whether it occurs
    ),
)


def _clock_input(rng: random.Random, p: Params) -> str:
    return f"{rng.randint(0, 23)} {rng.randint(0, 59)} {rng.randint(0, 2000)}\n"


def _clock_answer(p: Params, text: str) -> str:
    h, m, k = map(int, text.split())
    total = (h * 60 + m + k) % (24 * 60)
    return f"{total // 60} {total % 60}\n"


ADD_MINUTES = Family(
    name="add_minutes",
    topic="clock",
    statements=(
        "It is now H:M on a 24-hour clock. What time will it be K minutes later?\n\nInput\n\nH M K\n\nOutput\n\n"
        "Print the hour and the minute, separated by a space, without leading zeros.\n\nConstraints\n\n"
        "- 0 <= H <= 23\n- 0 <= M <= 59\n- 0 <= K <= 2000\n- All values are integers.",
        "A clock shows H hours and M minutes (24-hour format). After K more minutes pass, print the time shown."
        "\n\nInput is given in the format:\n\nH M K\n\nOutput\n\nTwo integers: the hour (0 to 23) and the minute "
        "(0 to 59).\n\nConstraints\n\n0 <= H < 24, 0 <= M < 60, 0 <= K <= 2000, integers.",
        "Aoki starts a task at H:M and it takes K minutes. When does it end? Use a 24-hour clock that wraps "
        "around at midnight.\n\nInput\n\nH M K on one line.\n\nOutput\n\nThe end time as two integers h m.",
    ),
    answer=_clock_answer,
    make_input=_clock_input,
    edge_inputs=lambda p: ["0 0 0\n", "23 59 1\n", "23 0 60\n", "12 30 2000\n", "0 59 1\n"],
    reference="h, m, k = map(int, input().split())\nt = (h * 60 + m + k) % 1440\nprint(t // 60, t % 60)\n",
    mutants=(
        "h, m, k = map(int, input().split())\nt = h * 60 + m + k\nprint(t // 60, t % 60)\n",  # no wrap at 24:00
        "h, m, k = map(int, input().split())\nprint((h + k // 60) % 24, (m + k) % 60)\n",  # loses the carry
    ),
)

FAMILIES: tuple[Family, ...] = (COUNT_CHAR, ADD_MINUTES)
