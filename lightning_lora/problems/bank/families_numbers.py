"""Families about numbers, clocks, calendars and geometry (parity, digits, divisibility, dates, shapes)."""

from __future__ import annotations

import calendar
import datetime
import math
import random
from fractions import Fraction

from lightning_lora.problems.bank.core import Family, Params, ints, yes_no


def _line(*values: object) -> str:
    """One input line of space-separated values."""
    return " ".join(map(str, values)) + "\n"


# --- parity ---------------------------------------------------------------------------------------------------


def _product_parity_input(rng: random.Random, p: Params) -> str:
    if rng.random() < 0.5:  # all odd: the product is odd
        return _line(*(rng.randrange(1, 10000, 2) for _ in range(p["n"])))
    return _line(*(rng.randint(1, 10000) for _ in range(p["n"])))


def _product_parity_edges(p: Params) -> list[str]:
    n = p["n"]
    return [_line(*[1] * n), _line(*([1] * (n - 1) + [2])), _line(*([2] * (n - 1) + [1])),
            _line(*[10000] * n), _line(*[9999] * n)]


PRODUCT_PARITY = Family(
    name="num_product_parity",
    topic="parity",
    statements=(
        "You are given $n positive integers A_1, ..., A_$n. Is their product even or odd?\n\nInput\n\n"
        "A_1 ... A_$n\n\nOutput\n\nPrint Even if the product A_1 x ... x A_$n is even, and Odd otherwise.\n\n"
        "Constraints\n\n- 1 <= A_i <= 10000\n- All values are integers.",
        "Takahashi multiplies $n integers together. Without worrying about how large the result gets, tell him "
        "whether it is divisible by 2.\n\nInput is given from Standard Input in the following format:\n\n"
        "A_1 A_2 ... A_$n\n\nOutput\n\nPrint Even when the product is a multiple of 2; otherwise print Odd.\n\n"
        "Constraints\n\n- Each A_i is an integer between 1 and 10000, inclusive.",
        "Constraints\n\n- 1 <= A_i <= 10000 (integers)\n\nThere are $n numbers written on a board, on one line. "
        "Let P be the product of all of them. Print the parity of P: the word Even or the word Odd.\n\n"
        "Input\n\nOne line with the $n integers separated by spaces.\n\nOutput\n\nEven or Odd.",
    ),
    params=lambda rng: {"n": rng.choice([2, 3, 4])},
    answer=lambda p, text: "Even\n" if any(x % 2 == 0 for x in ints(text)) else "Odd\n",
    make_input=_product_parity_input,
    edge_inputs=_product_parity_edges,
    reference="a = list(map(int, input().split()))\np = 1\nfor x in a:\n    p *= x\n"
              "print('Even' if p % 2 == 0 else 'Odd')\n",
    mutants=(
        "a = list(map(int, input().split()))\nprint('Even' if a[0] % 2 == 0 else 'Odd')\n",  # looks at A_1 only
        "a = list(map(int, input().split()))\nprint('Even' if sum(a) % 2 == 0 else 'Odd')\n",  # parity of the sum
        # even only when every factor is even
        "a = list(map(int, input().split()))\nprint('Even' if all(x % 2 == 0 for x in a) else 'Odd')\n",
    ),
)


_PLAYERS = [("Alice", "Bob"), ("Takahashi", "Aoki"), ("Red", "Blue"), ("Snuke", "Sunuke"), ("First", "Second")]


def _whose_turn_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 30) if rng.random() < 0.5 else rng.randint(1, 10**18)
    return f"{rng.choice([p['a'], p['b']])} {n}\n"


def _whose_turn_answer(p: Params, text: str) -> str:
    first, n = text.split()
    other = p["b"] if first == p["a"] else p["a"]
    return f"{first if int(n) % 2 == 1 else other}\n"


WHOSE_TURN = Family(
    name="num_whose_turn",
    topic="parity",
    statements=(
        "$a and $b play a game in which they move alternately, one move per turn. The player named S makes the "
        "first move. Who makes the N-th move?\n\nInput\n\nS N\n\nOutput\n\nPrint the name of the player who makes "
        "the N-th move ($a or $b).\n\nConstraints\n\n- S is $a or $b.\n- 1 <= N <= 10^18\n- N is an integer.",
        "Two players, $a and $b, take turns. Turn 1 belongs to S, turn 2 to the other player, turn 3 to S again, "
        "and so on.\n\nInput is given in the following format:\n\nS N\n\nwhere S is the name of the player of turn "
        "1.\n\nOutput\n\nPrint the name of the player whose turn is turn N.\n\nConstraints\n\n- S is either $a or "
        "$b\n- N is an integer with 1 <= N <= 10^18",
        "A pile holds N stones. $a and $b alternately remove exactly one stone each turn, starting with S. Print "
        "the name of the player who removes the last stone.\n\nInput\n\nOne line: the name S and the integer N.\n\n"
        "Output\n\n$a or $b.\n\nConstraints\n\n- S is one of $a, $b\n- 1 <= N <= 10^18",
    ),
    params=lambda rng: dict(zip(("a", "b"), rng.choice(_PLAYERS))),
    answer=_whose_turn_answer,
    make_input=_whose_turn_input,
    edge_inputs=lambda p: [f"{p['a']} 1\n", f"{p['b']} 1\n", f"{p['a']} 2\n", f"{p['b']} 3\n",
                           f"{p['b']} 1000000000000000000\n"],
    reference="s, n = input().split()\nother = '$b' if s == '$a' else '$a'\n"
              "print(s if int(n) % 2 == 1 else other)\n",
    mutants=(
        # off by one: turn N goes to S when N is even
        "s, n = input().split()\nother = '$b' if s == '$a' else '$a'\nprint(s if int(n) % 2 == 0 else other)\n",
        "s, n = input().split()\nprint('$a' if int(n) % 2 == 1 else '$b')\n",  # assumes $a always moves first
    ),
)


# --- divisibility ---------------------------------------------------------------------------------------------


def _divisible_input(rng: random.Random, p: Params) -> str:
    if rng.random() < 0.5:
        return f"{p['k'] * rng.randint(1, 10**9 // p['k'])}\n"
    return f"{rng.randint(1, 10**9)}\n"


DIVISIBLE_BY_K = Family(
    name="num_divisible_by_k",
    topic="divisibility",
    statements=(
        "Given a positive integer N, determine whether N is a multiple of $k.\n\nInput\n\nN\n\nOutput\n\n"
        "Print Yes if N is divisible by $k, and No otherwise.\n\nConstraints\n\n- 1 <= N <= 10^9\n"
        "- N is an integer.",
        "Takahashi has N candies and wants to share all of them equally among $k children, each child getting "
        "the same whole number of candies and none left over. Can he?\n\nInput is given in the following format:"
        "\n\nN\n\nOutput\n\nPrint Yes if it is possible; otherwise print No.\n\nConstraints\n\n"
        "- N is an integer between 1 and 10^9 (inclusive).",
        "Constraints\n\n- 1 <= N <= 10^9, N is an integer.\n\nDoes N leave remainder 0 when divided by $k?\n\n"
        "Input\n\nA single integer N.\n\nOutput\n\nYes or No.",
    ),
    params=lambda rng: {"k": rng.randint(2, 12)},
    answer=lambda p, text: yes_no(int(text) % p["k"] == 0),
    make_input=_divisible_input,
    edge_inputs=lambda p: ["1\n", f"{p['k']}\n", f"{2 * p['k']}\n", f"{p['k'] + 1}\n", "1000000000\n"],
    reference="n = int(input())\nprint('Yes' if n % $k == 0 else 'No')\n",
    mutants=(
        "n = int(input())\nprint('Yes' if n % $k else 'No')\n",  # the remainder's truth value read backwards
        "n = int(input())\nprint('Yes' if $k % n == 0 else 'No')\n",  # operands swapped
    ),
)


def _count_multiples_input(rng: random.Random, p: Params) -> str:
    k = rng.randint(1, 20) if rng.random() < 0.7 else rng.randint(1, 10**18)
    if rng.random() < 0.5:
        a = rng.randint(0, 300)
        b = a + rng.randint(0, 300)
    else:
        a = rng.randint(0, 10**18)
        b = rng.randint(a, 10**18)
    if rng.random() < 0.4:  # A itself a multiple of K
        a = a // k * k
    return _line(a, b, k)


def _count_multiples_answer(p: Params, text: str) -> str:
    a, b, k = ints(text)
    first = -(-a // k) * k  # smallest multiple >= A
    return f"{0 if first > b else (b - first) // k + 1}\n"


COUNT_MULTIPLES = Family(
    name="num_count_multiples",
    topic="divisibility",
    statements=(
        "How many integers x with A <= x <= B are multiples of K?\n\nInput\n\nA B K\n\nOutput\n\nPrint the count."
        "\n\nConstraints\n\n- 0 <= A <= B <= 10^18\n- 1 <= K <= 10^18\n- All values are integers.\n\n"
        "(0 counts as a multiple of every K.)",
        "A bus stops at every K-th kilometre post: posts 0, K, 2K, and so on. Aoki walks from post A to post B, "
        "both included. How many bus stops does he pass?\n\nInput is given in the following format:\n\nA B K\n\n"
        "Output\n\nPrint the number of integers between A and B (inclusive) divisible by K.\n\nConstraints\n\n"
        "0 <= A <= B <= 10^18, 1 <= K <= 10^18, all integers.",
        "Constraints\n\n- 0 <= A <= B <= 10^18\n- 1 <= K <= 10^18\n\nYou are given three integers A, B and K on "
        "one line. Count the integers in the closed interval [A, B] whose remainder modulo K is zero.\n\nInput\n\n"
        "A B K\n\nOutput\n\nThe count, as one integer.",
    ),
    answer=_count_multiples_answer,
    make_input=_count_multiples_input,
    edge_inputs=lambda p: ["0 0 1\n", "0 0 7\n", "6 6 3\n", "1 1 2\n", "2 4 2\n", "0 1000000000000000000 1\n",
                           "1 1000000000000000000 1000000000000000000\n"],
    reference="a, b, k = map(int, input().split())\nprint(b // k - (a - 1) // k)\n",
    mutants=(
        "a, b, k = map(int, input().split())\nprint(b // k - a // k)\n",  # loses A when A is a multiple
        "a, b, k = map(int, input().split())\nprint((b - a) // k + 1)\n",  # assumes A is a multiple
        "a, b, k = map(int, input().split())\nprint((b - a + 1) // k)\n",  # counts by length only
    ),
)


def _divisors_input(rng: random.Random, p: Params) -> str:
    if rng.random() < 0.3:
        return f"{rng.randint(1, 100) ** 2}\n"
    return f"{rng.randint(1, 10000)}\n"


COUNT_DIVISORS = Family(
    name="num_count_divisors",
    topic="divisibility",
    statements=(
        "Print the number of positive divisors of N.\n\nInput\n\nN\n\nOutput\n\nThe number of positive integers d "
        "such that d divides N.\n\nConstraints\n\n- 1 <= N <= 10000\n- N is an integer.",
        "Takahashi wants to arrange N identical tiles into a full rectangle with whole rows: r rows of c tiles, "
        "r x c = N. Two arrangements differ when r differs. How many arrangements are there?\n\nInput is given in "
        "the following format:\n\nN\n\nOutput\n\nPrint the answer (the count of divisors of N).\n\nConstraints\n\n"
        "1 <= N <= 10000, N is an integer.",
        "Constraints\n\n- N is an integer, 1 <= N <= 10000.\n\nCount the integers d with 1 <= d <= N for which "
        "N mod d = 0.\n\nInput\n\nOne integer N.\n\nOutput\n\nOne integer: that count.",
    ),
    answer=lambda p, text: f"{sum(1 for d in range(1, int(text) + 1) if int(text) % d == 0)}\n",
    make_input=_divisors_input,
    edge_inputs=lambda p: ["1\n", "2\n", "36\n", "9973\n", "10000\n"],
    reference="n = int(input())\nc = 0\ni = 1\nwhile i * i <= n:\n    if n % i == 0:\n"
              "        c += 1 if i * i == n else 2\n    i += 1\nprint(c)\n",
    mutants=(
        # a square root divisor counted twice
        "n = int(input())\nc = 0\ni = 1\nwhile i * i <= n:\n    if n % i == 0:\n        c += 2\n    i += 1\n"
        "print(c)\n",
        "n = int(input())\nprint(sum(1 for d in range(1, n) if n % d == 0))\n",  # forgets N itself
    ),
)


def _gcd_lcm_input(rng: random.Random, p: Params) -> str:
    if rng.random() < 0.5:  # a shared factor
        g = rng.randint(1, 100)
        return _line(g * rng.randint(1, 10000 // g), g * rng.randint(1, 10000 // g))
    return _line(rng.randint(1, 10000), rng.randint(1, 10000))


def _gcd_lcm_answer(p: Params, text: str) -> str:
    a, b = ints(text)
    g = max(d for d in range(1, min(a, b) + 1) if a % d == 0 and b % d == 0)
    return f"{g} {a // g * b}\n"


GCD_LCM = Family(
    name="num_gcd_lcm",
    topic="divisibility",
    statements=(
        "You are given two positive integers A and B. Print their greatest common divisor and their least common "
        "multiple.\n\nInput\n\nA B\n\nOutput\n\nPrint G and L separated by a space, where G is the GCD and L the "
        "LCM of A and B.\n\nConstraints\n\n- 1 <= A, B <= 10000\n- A and B are integers.",
        "Two lighthouses flash every A seconds and every B seconds; both flashed at time 0. Print the largest "
        "integer dividing both A and B, then the first positive time at which they flash together again.\n\n"
        "Input is given in the following format:\n\nA B\n\nOutput\n\nTwo integers on one line: gcd(A, B) and "
        "lcm(A, B).\n\nConstraints\n\n1 <= A <= 10000, 1 <= B <= 10000, integers.",
        "Constraints\n\n- A, B are integers between 1 and 10000.\n\nFind G = gcd(A, B) and L = lcm(A, B).\n\n"
        "Input\n\nOne line with A and B.\n\nOutput\n\nOne line: G, a space, then L.",
    ),
    answer=_gcd_lcm_answer,
    make_input=_gcd_lcm_input,
    edge_inputs=lambda p: ["1 1\n", "4 6\n", "3 6\n", "10000 10000\n", "9999 10000\n", "7 13\n"],
    reference="import math\na, b = map(int, input().split())\ng = math.gcd(a, b)\nprint(g, a // g * b)\n",
    mutants=(
        "import math\na, b = map(int, input().split())\nprint(math.gcd(a, b), a * b)\n",  # LCM taken as A*B
        # the divisor search stops before min(A, B)
        "a, b = map(int, input().split())\ng = 1\nfor d in range(1, min(a, b)):\n    if a % d == 0 and b % d == 0:\n"
        "        g = d\nprint(g, a * b // g)\n",
    ),
)


# --- digits ---------------------------------------------------------------------------------------------------


def _number_input(rng: random.Random, digits: str = "0123456789", max_len: int = 18) -> str:
    """A positive integer of up to ``max_len`` digits drawn from ``digits`` (no leading zero)."""
    length = rng.randint(1, max_len)
    first = rng.choice([d for d in digits if d != "0"] or "123456789")
    return first + "".join(rng.choice(digits) for _ in range(length - 1)) + "\n"


DIGIT_SUM = Family(
    name="num_digit_sum",
    topic="digits",
    statements=(
        "Print the sum of the decimal digits of the positive integer N.\n\nInput\n\nN\n\nOutput\n\nThe digit sum of "
        "N.\n\nConstraints\n\n- 1 <= N <= 10^18\n- N is an integer.",
        "Takahashi writes N in decimal notation and adds up all the digits he wrote. What total does he get?\n\n"
        "Input is given in the following format:\n\nN\n\nOutput\n\nPrint the total as an integer.\n\nConstraints"
        "\n\nN is an integer with 1 <= N <= 10^18.",
        "Constraints\n\n- 1 <= N <= 10^18 (an integer)\n\nFor example, the digits of 2024 add up to 2 + 0 + 2 + 4 "
        "= 8. Compute the same quantity for the given N.\n\nInput\n\nA single line containing N.\n\nOutput\n\n"
        "One integer.",
    ),
    answer=lambda p, text: f"{sum(int(c) for c in text.strip())}\n",
    make_input=lambda rng, p: _number_input(rng),
    edge_inputs=lambda p: ["1\n", "9\n", "10\n", "999999999999999999\n", "1000000000000000000\n"],
    reference="s = input().strip()\nprint(sum(int(c) for c in s))\n",
    mutants=(
        "s = input().strip()\nprint(sum(int(c) for c in s[:-1]))\n",  # skips the last digit
        "n = int(input())\nprint(n % 9)\n",  # digital root confused with digit sum
    ),
)


COUNT_DIGIT = Family(
    name="num_count_digit",
    topic="digits",
    statements=(
        "How many times does the digit $d appear in the decimal representation of N?\n\nInput\n\nN\n\nOutput\n\n"
        "Print the number of digits of N equal to $d.\n\nConstraints\n\n- 1 <= N <= 10^18\n- N is an integer "
        "(written without leading zeros).",
        "A number plate shows the integer N in decimal, without leading zeros. Aoki likes the digit $d. Count the "
        "positions on the plate that show a $d.\n\nInput is given in the following format:\n\nN\n\nOutput\n\n"
        "Print the count.\n\nConstraints\n\n1 <= N <= 10^18, N is an integer.",
        "Constraints\n\n- N is an integer between 1 and 10^18 inclusive.\n\nWrite N in base ten and count its "
        "digits that are $d.\n\nInput\n\nOne line: N.\n\nOutput\n\nThe count (possibly 0).",
    ),
    params=lambda rng: {"d": rng.randint(0, 9)},
    answer=lambda p, text: f"{text.strip().count(str(p['d']))}\n",
    make_input=lambda rng, p: _number_input(rng, "0123456789" + str(p["d"]) * 3),
    edge_inputs=lambda p: [f"1{p['d']}\n", f"1{p['d']}{p['d']}\n", "1000000000000000000\n", "23\n",
                           f"{p['d'] or 9}{p['d']}5{p['d']}\n"],
    reference="s = input().strip()\nprint(s.count('$d'))\n",
    mutants=(
        "s = input().strip()\nprint(s[:-1].count('$d'))\n",  # ignores the last digit
        "s = input().strip()\nprint(1 if '$d' in s else 0)\n",  # only whether it appears
    ),
)


def _reverse_input(rng: random.Random, p: Params) -> str:
    text = _number_input(rng, max_len=9).strip()
    if rng.random() < 0.3 and len(text) < 9:  # trailing zeros vanish when reversed
        text += "0" * rng.randint(1, 9 - len(text))
    return text + "\n"


REVERSE_DIFFERENCE = Family(
    name="num_reverse_difference",
    topic="digits",
    statements=(
        "Let R be the integer obtained by writing the decimal digits of N in reverse order (leading zeros of the "
        "result are dropped, so 120 becomes 21). Print |N - R|.\n\nInput\n\nN\n\nOutput\n\nThe absolute "
        "difference between N and R.\n\nConstraints\n\n- 1 <= N <= 10^9\n- N is an integer.",
        "Takahashi reads the number N backwards, digit by digit, and gets a new integer R (for instance 3050 read "
        "backwards is 0503, which is 503). How far apart are N and R on the number line?\n\nInput is given in the "
        "following format:\n\nN\n\nOutput\n\nPrint the non-negative difference between N and R.\n\nConstraints\n\n"
        "1 <= N <= 10^9, N is an integer.",
        "Constraints\n\n- N is an integer, 1 <= N <= 10^9.\n\nReverse the digits of N to get an integer R (ignore "
        "any zeros that end up in front). Output the larger of N and R minus the smaller.\n\nInput\n\nOne integer "
        "N.\n\nOutput\n\nOne integer.",
    ),
    answer=lambda p, text: f"{abs(int(text) - int(text.strip()[::-1]))}\n",
    make_input=_reverse_input,
    edge_inputs=lambda p: ["1\n", "10\n", "12\n", "120\n", "1000000000\n", "121\n"],
    reference="s = input().strip()\nprint(abs(int(s) - int(s[::-1])))\n",
    mutants=(
        "s = input().strip()\nprint(int(s) - int(s[::-1]))\n",  # no absolute value
        "n = int(input())\nprint(abs(n - (n % 10 * 10 + n // 10)))\n",  # reversal that only works for 2 digits
    ),
)


# --- calendar -------------------------------------------------------------------------------------------------


def _year_input(rng: random.Random, p: Params) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.randint(1, 9999)}\n"
    step = (4, 100, 400)[kind - 1]
    return f"{step * rng.randint(1, 9999 // step)}\n"


LEAP_YEAR = Family(
    name="num_leap_year",
    topic="calendar",
    statements=(
        "In the Gregorian calendar a year is a leap year when it is divisible by 4, except that years divisible "
        "by 100 are not leap years unless they are also divisible by 400. Is the year Y a leap year?\n\nInput\n\n"
        "Y\n\nOutput\n\nPrint Yes if Y is a leap year, and No otherwise.\n\nConstraints\n\n- 1 <= Y <= 9999\n"
        "- Y is an integer.",
        "Does the year Y have a 29th of February? Use these rules for every year: a multiple of 400 is a leap "
        "year; otherwise a multiple of 100 is not; otherwise a multiple of 4 is; every other year is not.\n\n"
        "Input is given in the following format:\n\nY\n\nOutput\n\nPrint Yes or No.\n\nConstraints\n\n"
        "Y is an integer with 1 <= Y <= 9999.",
        "Constraints\n\n- 1 <= Y <= 9999, integer.\n\nAoki wants to know whether year Y has 366 days. A year has "
        "366 days exactly when (Y is divisible by 4 and not by 100) or (Y is divisible by 400).\n\nInput\n\n"
        "A single integer Y.\n\nOutput\n\nYes if Y has 366 days, No if it has 365.",
    ),
    answer=lambda p, text: yes_no(calendar.isleap(int(text))),
    make_input=_year_input,
    edge_inputs=lambda p: ["1900\n", "2000\n", "2023\n", "2024\n", "2100\n", "2400\n", "1\n"],
    reference="y = int(input())\nprint('Yes' if y % 400 == 0 or (y % 4 == 0 and y % 100 != 0) else 'No')\n",
    mutants=(
        "y = int(input())\nprint('Yes' if y % 4 == 0 else 'No')\n",  # forgets the century rules
        "y = int(input())\nprint('Yes' if y % 4 == 0 and y % 100 != 0 else 'No')\n",  # forgets the 400 rule
    ),
)


def _month_input(rng: random.Random, p: Params) -> str:
    year = rng.choice([rng.randint(1900, 2400), 100 * rng.randint(19, 24), 4 * rng.randint(475, 600)])
    month = 2 if rng.random() < 0.4 else rng.randint(1, 12)
    return _line(year, month)


DAYS_IN_MONTH = Family(
    name="num_days_in_month",
    topic="calendar",
    statements=(
        "How many days does month M of year Y have in the Gregorian calendar?\n\nInput\n\nY M\n\nOutput\n\n"
        "Print the number of days.\n\nConstraints\n\n- 1900 <= Y <= 2400\n- 1 <= M <= 12\n- All values are "
        "integers.\n\nFebruary has 29 days in leap years (years divisible by 4, except those divisible by 100 but "
        "not by 400) and 28 days otherwise.",
        "Takahashi pays rent once per day. For month M (1 = January, ..., 12 = December) of year Y, how many "
        "payments does he make? Months 1, 3, 5, 7, 8, 10, 12 have 31 days; months 4, 6, 9, 11 have 30; February "
        "has 29 days when Y is a leap year and 28 otherwise. Y is a leap year if it is a multiple of 400, or a "
        "multiple of 4 but not of 100.\n\nInput is given in the following format:\n\nY M\n\nOutput\n\nPrint one "
        "integer.\n\nConstraints\n\n1900 <= Y <= 2400, 1 <= M <= 12, integers.",
        "Constraints\n\n- Y and M are integers, 1900 <= Y <= 2400, 1 <= M <= 12.\n\nPrint the date of the last "
        "day of month M in year Y (just the day number, for example 31 for January). Use the Gregorian leap year "
        "rules: divisible by 4 means leap, except centuries, which are leap only when divisible by 400.\n\n"
        "Input\n\nY and M on one line.\n\nOutput\n\nOne integer between 28 and 31.",
    ),
    answer=lambda p, text: f"{calendar.monthrange(*ints(text))[1]}\n",
    make_input=_month_input,
    edge_inputs=lambda p: ["1900 2\n", "2000 2\n", "2023 2\n", "2024 2\n", "2023 8\n", "2023 7\n", "2023 12\n",
                           "2023 11\n"],
    reference="y, m = map(int, input().split())\nleap = y % 400 == 0 or (y % 4 == 0 and y % 100 != 0)\n"
              "days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]\nprint(days[m - 1])\n",
    mutants=(
        # February always 28
        "y, m = map(int, input().split())\ndays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]\n"
        "print(days[m - 1])\n",
        # leap every 4 years, no century rule
        "y, m = map(int, input().split())\ndays = [31, 29 if y % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, "
        "31]\nprint(days[m - 1])\n",
        # odd months 31, even months 30 (wrong from August on)
        "y, m = map(int, input().split())\nleap = y % 400 == 0 or (y % 4 == 0 and y % 100 != 0)\n"
        "print((29 if leap else 28) if m == 2 else 31 if m % 2 == 1 else 30)\n",
    ),
)


_WEEKS = ("MON TUE WED THU FRI SAT SUN", "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
          "SUN MON TUE WED THU FRI SAT")


def _week_params(rng: random.Random) -> Params:
    names = rng.choice(_WEEKS)
    return {"names": names, "listing": ", ".join(names.split())}


def _weekday_input(rng: random.Random, p: Params) -> str:
    k = rng.randint(0, 30) if rng.random() < 0.5 else rng.randint(0, 10**9)
    return f"{rng.choice(p['names'].split())} {k}\n"


def _weekday_answer(p: Params, text: str) -> str:
    day, k = text.split()
    names = p["names"].split()
    return f"{names[(names.index(day) + int(k)) % 7]}\n"


def _weekday_edges(p: Params) -> list[str]:
    d = p["names"].split()
    return [f"{d[0]} 0\n", f"{d[6]} 1\n", f"{d[2]} 7\n", f"{d[3]} 6\n", f"{d[5]} 1000000000\n", f"{d[1]} 15\n"]


WEEKDAY_AFTER = Family(
    name="num_weekday_after",
    topic="calendar",
    statements=(
        "The days of the week repeat in this order: $listing, and after the last one comes the first again. "
        "Today is S. Which day of the week is it K days from today?\n\nInput\n\nS K\n\nOutput\n\nPrint the name "
        "of that day, spelled as above.\n\nConstraints\n\n- S is one of $listing.\n- 0 <= K <= 10^9\n"
        "- K is an integer.",
        "Takahashi's holiday starts K days after today (K = 0 means today). Today is S. Print the day of the week "
        "on which the holiday starts.\n\nInput is given in the following format:\n\nS K\n\nOutput\n\nPrint one of "
        "$listing.\n\nConstraints\n\n- S is one of $listing (the week cycles in this order).\n- K is an integer, "
        "0 <= K <= 10^9.",
        "Constraints\n\n- 0 <= K <= 10^9 (integer)\n- S is a day name from the list below.\n\nA week is the cycle "
        "$listing. Starting from day S, move forward K days along the cycle and print where you land.\n\nInput\n\n"
        "One line with the day name S and the integer K.\n\nOutput\n\nThe day name reached.",
    ),
    params=_week_params,
    answer=_weekday_answer,
    make_input=_weekday_input,
    edge_inputs=_weekday_edges,
    reference="d = '$names'.split()\ns, k = input().split()\nprint(d[(d.index(s) + int(k)) % 7])\n",
    mutants=(
        "d = '$names'.split()\ns, k = input().split()\nprint(d[(d.index(s) + int(k) - 1) % 7])\n",  # today = day 1
        # wraps around only once
        "d = '$names'.split()\ns, k = input().split()\nt = d.index(s) + int(k)\nprint(d[t - 7 if t >= 7 else t])\n",
    ),
)


def _date_input(rng: random.Random, p: Params) -> str:
    while True:
        birth = datetime.date.fromordinal(rng.randint(datetime.date(1900, 1, 1).toordinal(),
                                                      datetime.date(2100, 12, 31).toordinal()))
        if (birth.month, birth.day) != (2, 29):
            break
    if rng.random() < 0.5:  # around a birthday
        year = rng.randint(birth.year, 2100)
        today = datetime.date(year, birth.month, birth.day) + datetime.timedelta(days=rng.randint(-1, 1))
        today = min(max(today, birth), datetime.date(2100, 12, 31))
    else:
        today = datetime.date.fromordinal(rng.randint(birth.toordinal(), datetime.date(2100, 12, 31).toordinal()))
    return f"{birth.year} {birth.month} {birth.day}\n{today.year} {today.month} {today.day}\n"


def _age_answer(p: Params, text: str) -> str:
    y1, m1, d1, y2, m2, d2 = ints(text)
    age = y2 - y1
    if datetime.date(y2, m2, d2) < datetime.date(y2, m1, d1):
        age -= 1
    return f"{age}\n"


AGE = Family(
    name="num_age",
    topic="calendar",
    statements=(
        "A person was born on day D1 of month M1 of year Y1. Today is day D2 of month M2 of year Y2. How old is "
        "the person today, in completed years? The age goes up by one on each birthday (on the birthday itself "
        "the new age already counts).\n\nInput\n\nY1 M1 D1\nY2 M2 D2\n\nOutput\n\nPrint the age.\n\nConstraints"
        "\n\n- Both dates are valid Gregorian dates between 1900-01-01 and 2100-12-31.\n- The birth date is not "
        "February 29.\n- Today is not earlier than the birth date.",
        "Takahashi's birthday is Y1/M1/D1 (year/month/day). Today's date is Y2/M2/D2. Print his age: the number "
        "of birthdays he has had since he was born, today's included if today is his birthday.\n\nInput is given "
        "in the following format:\n\nY1 M1 D1\nY2 M2 D2\n\nOutput\n\nPrint one integer.\n\nConstraints\n\n"
        "- All dates are valid, with years from 1900 to 2100.\n- M1/D1 is not 2/29.\n- Y1/M1/D1 is on or before "
        "Y2/M2/D2.",
        "Constraints\n\n- 1900 <= Y1 <= Y2 <= 2100; both lines are real calendar dates; the first date is not "
        "after the second, and is not a February 29.\n\nThe first line is a date of birth, the second line is "
        "today's date, each as year month day. Output the number of full years lived so far (0 on the day of "
        "birth; it increases on every anniversary of the birth date).\n\nInput\n\nTwo lines of three integers."
        "\n\nOutput\n\nThe age as an integer.",
    ),
    answer=_age_answer,
    make_input=_date_input,
    edge_inputs=lambda p: ["2000 5 10\n2010 5 10\n", "2000 5 10\n2010 5 9\n", "2000 5 10\n2000 5 10\n",
                           "1900 12 31\n2100 1 1\n", "2000 1 1\n2000 12 31\n", "1999 3 15\n2024 2 29\n"],
    reference="y1, m1, d1 = map(int, input().split())\ny2, m2, d2 = map(int, input().split())\n"
              "print(y2 - y1 - (1 if (m2, d2) < (m1, d1) else 0))\n",
    mutants=(
        "y1, m1, d1 = map(int, input().split())\ny2, m2, d2 = map(int, input().split())\nprint(y2 - y1)\n",
        # the birthday itself not counted yet
        "y1, m1, d1 = map(int, input().split())\ny2, m2, d2 = map(int, input().split())\n"
        "print(y2 - y1 - (1 if (m2, d2) <= (m1, d1) else 0))\n",
        # compares the months only
        "y1, m1, d1 = map(int, input().split())\ny2, m2, d2 = map(int, input().split())\n"
        "print(y2 - y1 - (1 if m2 < m1 else 0))\n",
    ),
)


# --- clock ----------------------------------------------------------------------------------------------------


def _hms_input(rng: random.Random, p: Params) -> str:
    return f"{rng.choice([rng.randint(0, 3599), rng.randint(0, 86399), rng.randint(0, 359999)])}\n"


def _hms_answer(p: Params, text: str) -> str:
    n = int(text)
    return f"{n // 3600}:{n % 3600 // 60:02d}:{n % 60:02d}\n"


SECONDS_TO_HMS = Family(
    name="num_seconds_to_hms",
    topic="clock",
    statements=(
        "A stopwatch shows N seconds. Print this duration as H:MM:SS, where H is the number of whole hours "
        "(without leading zeros), MM the remaining minutes and SS the remaining seconds, each of MM and SS "
        "written with exactly two digits.\n\nInput\n\nN\n\nOutput\n\nThe duration in the format H:MM:SS.\n\n"
        "Constraints\n\n- 0 <= N <= 359999\n- N is an integer.",
        "Convert N seconds into hours, minutes and seconds. Minutes and seconds must be between 0 and 59; hours "
        "may be any non-negative number.\n\nInput is given in the following format:\n\nN\n\nOutput\n\nPrint "
        "h:mm:ss, i.e. the hours as a plain integer, a colon, the minutes padded with a leading zero to two "
        "digits, a colon, and the seconds padded to two digits (for example 1:05:09).\n\nConstraints\n\n"
        "0 <= N <= 359999, N is an integer.",
        "Constraints\n\n- N is an integer with 0 <= N <= 359999.\n\nTakahashi ran for N seconds. Write his running "
        "time the way a race clock does: hours, then two-digit minutes, then two-digit seconds, separated by "
        "colons. The hours are not padded and are not reduced modulo 24.\n\nInput\n\nOne integer N.\n\nOutput\n\n"
        "One line such as 0:00:07 or 27:46:40.",
    ),
    answer=_hms_answer,
    make_input=_hms_input,
    edge_inputs=lambda p: ["0\n", "59\n", "60\n", "3599\n", "3600\n", "86400\n", "359999\n"],
    reference="n = int(input())\nprint(f'{n // 3600}:{n // 60 % 60:02d}:{n % 60:02d}')\n",
    mutants=(
        "n = int(input())\nprint(f'{n // 3600}:{n // 60 % 60}:{n % 60}')\n",  # no zero padding
        "n = int(input())\nprint(f'{n // 3600}:{n // 60:02d}:{n % 60:02d}')\n",  # minutes not reduced mod 60
        "n = int(input())\nprint(f'{n // 3600 % 24}:{n // 60 % 60:02d}:{n % 60:02d}')\n",  # hours wrap at 24
    ),
)


def _clock_diff_input(rng: random.Random, p: Params) -> str:
    h1, m1 = rng.randint(0, 23), rng.randint(0, 59)
    h2, m2 = rng.randint(0, 23), rng.randint(0, 59)
    if rng.random() < 0.15:
        h2, m2 = h1, m1
    return _line(h1, m1, h2, m2)


def _clock_diff_answer(p: Params, text: str) -> str:
    h1, m1, h2, m2 = ints(text)
    start = datetime.datetime(2000, 1, 1, h1, m1)
    end = datetime.datetime(2000, 1, 1, h2, m2)
    if end < start:
        end += datetime.timedelta(days=1)
    return f"{(end - start) // datetime.timedelta(minutes=1)}\n"


CLOCK_DIFFERENCE = Family(
    name="num_clock_difference",
    topic="clock",
    statements=(
        "A 24-hour clock shows H1:M1. Find the smallest number of minutes t >= 0 such that t minutes later the "
        "clock shows H2:M2. The clock wraps from 23:59 to 0:00.\n\nInput\n\nH1 M1 H2 M2\n\nOutput\n\nPrint t.\n\n"
        "Constraints\n\n- 0 <= H1, H2 <= 23\n- 0 <= M1, M2 <= 59\n- All values are integers.",
        "Takahashi started waiting at H1:M1 and the bus came at H2:M2 (24-hour times). He waited less than a "
        "whole day, possibly across midnight; if the two times are equal he did not wait at all. How many "
        "minutes did he wait?\n\nInput is given in the following format:\n\nH1 M1 H2 M2\n\nOutput\n\nPrint the "
        "waiting time in minutes, an integer from 0 to 1439.\n\nConstraints\n\n0 <= H1, H2 < 24, 0 <= M1, M2 < 60, "
        "integers.",
        "Constraints\n\n- 0 <= H1 <= 23, 0 <= M1 <= 59, 0 <= H2 <= 23, 0 <= M2 <= 59 (integers)\n\nHow many "
        "minutes must the hands of a 24-hour clock move forward to go from H1:M1 to H2:M2? Moving forward past "
        "midnight is allowed; the answer is 0 when both times are the same.\n\nInput\n\nFour integers on one "
        "line: H1 M1 H2 M2.\n\nOutput\n\nOne integer between 0 and 1439.",
    ),
    answer=_clock_diff_answer,
    make_input=_clock_diff_input,
    edge_inputs=lambda p: ["0 0 0 0\n", "23 59 0 0\n", "0 0 23 59\n", "12 0 11 59\n", "10 30 10 30\n",
                           "22 0 6 30\n"],
    reference="h1, m1, h2, m2 = map(int, input().split())\nprint((h2 * 60 + m2 - h1 * 60 - m1) % 1440)\n",
    mutants=(
        "h1, m1, h2, m2 = map(int, input().split())\nprint(h2 * 60 + m2 - h1 * 60 - m1)\n",  # no wrap
        "h1, m1, h2, m2 = map(int, input().split())\nprint(abs(h2 * 60 + m2 - h1 * 60 - m1))\n",  # backwards too
        # equal times give a full day
        "h1, m1, h2, m2 = map(int, input().split())\nprint((h2 * 60 + m2 - h1 * 60 - m1 - 1) % 1440 + 1)\n",
    ),
)


def _twelve_input(rng: random.Random, p: Params) -> str:
    hour = 12 if rng.random() < 0.3 else rng.randint(1, 12)
    return f"{hour:02d}:{rng.randint(0, 59):02d} {rng.choice(['AM', 'PM'])}\n"


def _twelve_answer(p: Params, text: str) -> str:
    clock, half = text.split()
    hour, minute = (int(part) for part in clock.split(":"))
    hour = (0 if hour == 12 else hour) + (12 if half == "PM" else 0)
    return f"{hour:02d}:{minute:02d}\n"


TWELVE_TO_24 = Family(
    name="num_twelve_to_24",
    topic="clock",
    statements=(
        "A time is given on a 12-hour clock as hh:mm P, where P is AM or PM. Convert it to the 24-hour clock. "
        "Recall that 12:mm AM is just after midnight (00:mm) and 12:mm PM is just after noon (12:mm).\n\n"
        "Input\n\nhh:mm P\n\nOutput\n\nPrint the time as HH:MM with both parts written with two digits "
        "(00 <= HH <= 23).\n\nConstraints\n\n- hh is 01 to 12 (two digits), mm is 00 to 59 (two digits).\n"
        "- P is AM or PM.",
        "Aoki's watch uses AM/PM, Takahashi's uses 24 hours. Aoki reads the time hh:mm followed by AM or PM. "
        "What does Takahashi's watch show? (Midnight is 12:00 AM, which is 00:00; noon is 12:00 PM, which is "
        "12:00.)\n\nInput is given in the following format:\n\nhh:mm P\n\nOutput\n\nPrint HH:MM, zero-padded to "
        "two digits each.\n\nConstraints\n\n- 01 <= hh <= 12 and 00 <= mm <= 59, each given with two digits\n"
        "- P is the string AM or the string PM",
        "Constraints\n\n- The input is a valid 12-hour time such as 07:05 PM: two-digit hour 01-12, a colon, "
        "two-digit minute, a space, then AM or PM.\n\nRewrite the given time in 24-hour notation. Hours from "
        "12 AM to 11 AM become 00 to 11; hours from 12 PM to 11 PM become 12 to 23.\n\nInput\n\nOne line: the "
        "time.\n\nOutput\n\nThe same moment as HH:MM (two digits each, e.g. 19:05).",
    ),
    answer=_twelve_answer,
    make_input=_twelve_input,
    edge_inputs=lambda p: ["12:00 AM\n", "12:00 PM\n", "12:59 AM\n", "11:59 PM\n", "01:00 AM\n", "09:05 AM\n"],
    reference="t, p = input().split()\nh, m = map(int, t.split(':'))\nh %= 12\nif p == 'PM':\n    h += 12\n"
              "print(f'{h:02d}:{m:02d}')\n",
    mutants=(
        # 12 AM and 12 PM not special
        "t, p = input().split()\nh, m = map(int, t.split(':'))\nif p == 'PM':\n    h += 12\n"
        "print(f'{h:02d}:{m:02d}')\n",
        # 12 PM handled, 12 AM not
        "t, p = input().split()\nh, m = map(int, t.split(':'))\nif p == 'PM' and h != 12:\n    h += 12\n"
        "print(f'{h:02d}:{m:02d}')\n",
        # the hour loses its leading zero
        "t, p = input().split()\nh, m = t.split(':')\nh = int(h) % 12 + (12 if p == 'PM' else 0)\nprint(f'{h}:{m}')\n",
    ),
)


# --- geometry -------------------------------------------------------------------------------------------------


RECTANGLE = Family(
    name="num_rectangle",
    topic="geometry",
    statements=(
        "A rectangle has width W and height H. Print its area and its perimeter.\n\nInput\n\nW H\n\nOutput\n\n"
        "Print the area and the perimeter, in this order, separated by a space.\n\nConstraints\n\n"
        "- 1 <= W, H <= 100\n- W and H are integers.",
        "Takahashi's garden is a W metre by H metre rectangle. He will cover it with grass (one bag per square "
        "metre) and put a fence all around it (one panel per metre). How many bags and how many panels does he "
        "need?\n\nInput is given in the following format:\n\nW H\n\nOutput\n\nPrint the number of bags, a space, "
        "then the number of panels.\n\nConstraints\n\n1 <= W <= 100, 1 <= H <= 100, integers.",
        "Constraints\n\n- W, H are integers between 1 and 100.\n\nFor a W x H rectangle compute S, the area, and "
        "P, the total length of its four sides.\n\nInput\n\nOne line with W and H.\n\nOutput\n\nOne line: S P.",
    ),
    answer=lambda p, text: "{} {}\n".format(ints(text)[0] * ints(text)[1], 2 * sum(ints(text))),
    make_input=lambda rng, p: _line(rng.randint(1, 100), rng.randint(1, 100)),
    edge_inputs=lambda p: ["1 1\n", "1 100\n", "100 100\n", "3 5\n"],
    reference="w, h = map(int, input().split())\nprint(w * h, 2 * (w + h))\n",
    mutants=(
        "w, h = map(int, input().split())\nprint(w * h, w + h)\n",  # only two of the four sides
        "w, h = map(int, input().split())\nprint(2 * (w + h), w * h)\n",  # perimeter first
    ),
)


def _rect_params(rng: random.Random) -> Params:
    if rng.random() < 0.5:
        return {"op": "<=", "wrong": "<", "rule": "A point on the boundary (an edge or a corner) counts as inside."}
    return {"op": "<", "wrong": "<=", "rule": "A point on the boundary (an edge or a corner) does NOT count as "
                                              "inside: the point must be strictly inside."}


def _rect_input(rng: random.Random, p: Params) -> str:
    a, c = sorted(rng.sample(range(-100, 101), 2))
    b, d = sorted(rng.sample(range(-100, 101), 2))
    mode = rng.random()
    if mode < 0.4 and c - a >= 2 and d - b >= 2:  # strictly inside
        return f"{a} {b} {c} {d}\n{rng.randint(a + 1, c - 1)} {rng.randint(b + 1, d - 1)}\n"
    k = 0 if mode < 0.7 else rng.randint(1, 3)  # on the boundary, or just outside it
    if rng.random() < 0.5:
        x, y = max(-100, min(100, rng.choice([a - k, c + k]))), rng.randint(b, d)
    else:
        x, y = rng.randint(a, c), max(-100, min(100, rng.choice([b - k, d + k])))
    return f"{a} {b} {c} {d}\n{x} {y}\n"


def _rect_answer(p: Params, text: str) -> str:
    a, b, c, d, x, y = ints(text)
    if p["op"] == "<=":
        return yes_no(a <= x <= c and b <= y <= d)
    return yes_no(a < x < c and b < y < d)


POINT_IN_RECTANGLE = Family(
    name="num_point_in_rectangle",
    topic="geometry",
    statements=(
        "On the plane there is a rectangle with sides parallel to the axes; its lower-left corner is (A, B) and "
        "its upper-right corner is (C, D). Is the point (X, Y) inside the rectangle? $rule\n\nInput\n\nA B C D\n"
        "X Y\n\nOutput\n\nPrint Yes if the point is inside, and No otherwise.\n\nConstraints\n\n"
        "- -100 <= A < C <= 100\n- -100 <= B < D <= 100\n- -100 <= X, Y <= 100\n- All values are integers.",
        "A robot vacuum may only clean the carpet, an axis-parallel rectangle from (A, B) to (C, D) with A < C "
        "and B < D. The robot is at (X, Y). $rule Is the robot on the carpet?\n\nInput is given in the "
        "following format:\n\nA B C D\nX Y\n\nOutput\n\nPrint Yes or No.\n\nConstraints\n\n- All values are "
        "integers between -100 and 100.\n- A < C and B < D.",
        "Constraints\n\n- -100 <= A < C <= 100, -100 <= B < D <= 100, -100 <= X <= 100, -100 <= Y <= 100, all "
        "integers.\n\nDecide whether (X, Y) lies in the rectangle whose x-coordinates range from A to C and "
        "whose y-coordinates range from B to D. $rule\n\nInput\n\nThe first line holds A B C D, the second X Y."
        "\n\nOutput\n\nYes if it lies in the rectangle, otherwise No.",
    ),
    params=_rect_params,
    answer=_rect_answer,
    make_input=_rect_input,
    edge_inputs=lambda p: ["0 0 10 10\n0 0\n", "0 0 10 10\n5 11\n", "0 0 10 10\n5 5\n", "-100 -100 100 100\n"
                           "100 -100\n", "-5 -5 5 5\n6 0\n", "0 0 10 10\n10 4\n"],
    reference="a, b, c, d = map(int, input().split())\nx, y = map(int, input().split())\n"
              "print('Yes' if a $op x $op c and b $op y $op d else 'No')\n",
    mutants=(
        # the boundary rule the other way round
        "a, b, c, d = map(int, input().split())\nx, y = map(int, input().split())\n"
        "print('Yes' if a $wrong x $wrong c and b $wrong y $wrong d else 'No')\n",
        "a, b, c, d = map(int, input().split())\nx, y = map(int, input().split())\n"
        "print('Yes' if a $op x $op c else 'No')\n",  # checks x only
    ),
)


def _manhattan_input(rng: random.Random, p: Params) -> str:
    return f"{rng.randint(-1000, 1000)} {rng.randint(-1000, 1000)}\n{rng.randint(-1000, 1000)} " \
           f"{rng.randint(-1000, 1000)}\n"


def _manhattan_answer(p: Params, text: str) -> str:
    x1, y1, x2, y2 = ints(text)
    return f"{abs(x1 - x2) + abs(y1 - y2)}\n"


MANHATTAN = Family(
    name="num_manhattan_distance",
    topic="geometry",
    statements=(
        "Print the Manhattan distance |x1 - x2| + |y1 - y2| between the points (x1, y1) and (x2, y2).\n\nInput\n\n"
        "x1 y1\nx2 y2\n\nOutput\n\nThe distance, an integer.\n\nConstraints\n\n- -1000 <= x1, y1, x2, y2 <= 1000\n"
        "- All values are integers.",
        "A city's streets form a grid: one can move only east-west or north-south. Takahashi is at intersection "
        "(x1, y1) and Aoki at (x2, y2). How many blocks must Takahashi walk, at least, to reach Aoki?\n\nInput is "
        "given in the following format:\n\nx1 y1\nx2 y2\n\nOutput\n\nPrint the minimum number of blocks.\n\n"
        "Constraints\n\nAll coordinates are integers between -1000 and 1000.",
        "Constraints\n\n- Coordinates are integers in [-1000, 1000].\n\nA rook-like piece moves one unit up, down, "
        "left or right per step. What is the smallest number of steps from the first point to the second?\n\n"
        "Input\n\nTwo lines, each with the two coordinates of a point.\n\nOutput\n\nOne integer.",
    ),
    answer=_manhattan_answer,
    make_input=_manhattan_input,
    edge_inputs=lambda p: ["0 0\n0 0\n", "-1000 -1000\n1000 1000\n", "3 0\n0 4\n", "5 5\n2 9\n", "7 -3\n7 -3\n"],
    reference="x1, y1 = map(int, input().split())\nx2, y2 = map(int, input().split())\n"
              "print(abs(x1 - x2) + abs(y1 - y2))\n",
    mutants=(
        "x1, y1 = map(int, input().split())\nx2, y2 = map(int, input().split())\nprint((x2 - x1) + (y2 - y1))\n",
        # diagonal steps allowed (Chebyshev distance)
        "x1, y1 = map(int, input().split())\nx2, y2 = map(int, input().split())\n"
        "print(max(abs(x1 - x2), abs(y1 - y2)))\n",
    ),
)


def _triangle_input(rng: random.Random, p: Params) -> str:
    a, b = rng.randint(1, 60), rng.randint(1, 60)
    c = a + b + rng.randint(-3, 1) if rng.random() < 0.5 else rng.randint(1, 100)
    sides = [a, b, min(100, max(1, c))]
    rng.shuffle(sides)
    return _line(*sides)


def _triangle_answer(p: Params, text: str) -> str:
    a, b, c = ints(text)
    return yes_no(a < b + c and b < a + c and c < a + b)


TRIANGLE_CHECK = Family(
    name="num_triangle_check",
    topic="geometry",
    statements=(
        "You have three sticks of lengths a, b and c. Can they form a triangle with positive area?\n\nInput\n\n"
        "a b c\n\nOutput\n\nPrint Yes if a non-degenerate triangle can be made with the three sticks as its "
        "sides, and No otherwise.\n\nConstraints\n\n- 1 <= a, b, c <= 100\n- All values are integers.",
        "Takahashi wants to build a triangular frame from three rods of lengths a, b, c (in no particular order). "
        "A frame whose three corners lie on one straight line does not count. Is it possible?\n\nInput is given "
        "in the following format:\n\na b c\n\nOutput\n\nPrint Yes or No.\n\nConstraints\n\n1 <= a, b, c <= 100, "
        "integers.",
        "Constraints\n\n- a, b, c are integers from 1 to 100.\n\nDo the three lengths satisfy the strict triangle "
        "inequality, i.e. is every one of them smaller than the sum of the other two?\n\nInput\n\nThree integers "
        "on one line.\n\nOutput\n\nYes if they do, otherwise No.",
    ),
    answer=_triangle_answer,
    make_input=_triangle_input,
    edge_inputs=lambda p: ["1 1 2\n", "1 1 1\n", "2 5 3\n", "3 4 5\n", "100 1 1\n", "100 100 100\n"],
    reference="a, b, c = sorted(map(int, input().split()))\nprint('Yes' if a + b > c else 'No')\n",
    mutants=(
        "a, b, c = sorted(map(int, input().split()))\nprint('Yes' if a + b >= c else 'No')\n",  # degenerate allowed
        "a, b, c = map(int, input().split())\nprint('Yes' if a + b > c else 'No')\n",  # one inequality, unsorted
    ),
)


def _pythagorean_triples(limit: int = 1000) -> list[tuple[int, int, int]]:
    """Every right triangle with integer sides up to ``limit`` (Euclid's formula and its multiples)."""
    found = set()
    for m in range(2, math.isqrt(limit) + 1):
        for n in range(1, m):
            a, b, c = m * m - n * n, 2 * m * n, m * m + n * n
            for k in range(1, limit // c + 1):
                found.add((min(a, b) * k, max(a, b) * k, c * k))
    return sorted(found)


_TRIPLES = _pythagorean_triples()


def _right_input(rng: random.Random, p: Params) -> str:
    sides = list(rng.choice(_TRIPLES))
    if rng.random() < 0.5:
        i = rng.randrange(3)
        sides[i] = max(1, min(1000, sides[i] + rng.choice([-1, 1])))
    rng.shuffle(sides)
    return _line(*sides)


def _right_answer(p: Params, text: str) -> str:
    a, b, c = ints(text)
    return yes_no(a * a + b * b == c * c or a * a + c * c == b * b or b * b + c * c == a * a)


RIGHT_TRIANGLE = Family(
    name="num_right_triangle",
    topic="geometry",
    statements=(
        "Three integers are given, in any order. Is there a right triangle whose three side lengths are exactly "
        "these numbers?\n\nInput\n\na b c\n\nOutput\n\nPrint Yes if the square of one of them equals the sum of "
        "the squares of the other two, and No otherwise.\n\nConstraints\n\n- 1 <= a, b, c <= 1000\n"
        "- All values are integers.",
        "A carpenter checks corners with a rope: he marks lengths a, b and c on it and stretches it into a "
        "triangle. The corner is square (90 degrees) exactly when the lengths satisfy Pythagoras' theorem for "
        "some choice of the longest side. The lengths are not given in any particular order. Does he get a "
        "right angle?\n\nInput is given in the following format:\n\na b c\n\nOutput\n\nPrint Yes or No.\n\n"
        "Constraints\n\n1 <= a, b, c <= 1000, integers.",
        "Constraints\n\n- a, b, c are integers between 1 and 1000 inclusive.\n\nPrint Yes when x^2 + y^2 = z^2 "
        "holds for some ordering (x, y, z) of the three given numbers, and No otherwise.\n\nInput\n\nThree "
        "integers separated by spaces.\n\nOutput\n\nYes or No.",
    ),
    answer=_right_answer,
    make_input=_right_input,
    edge_inputs=lambda p: ["3 4 5\n", "5 3 4\n", "10 6 8\n", "1 1 1\n", "600 800 1000\n", "13 5 12\n"],
    reference="a, b, c = sorted(map(int, input().split()))\nprint('Yes' if a * a + b * b == c * c else 'No')\n",
    mutants=(
        "a, b, c = map(int, input().split())\nprint('Yes' if a * a + b * b == c * c else 'No')\n",  # c taken as longest
        # sorted as strings: '10' < '6'
        "a, b, c = map(int, sorted(input().split()))\nprint('Yes' if a * a + b * b == c * c else 'No')\n",
    ),
)


# --- arithmetic -----------------------------------------------------------------------------------------------

_PACKING = [("apples", "bag", "bags"), ("students", "bus", "buses"), ("cookies", "box", "boxes"),
            ("people", "boat", "boats"), ("books", "shelf", "shelves")]


def _ceil_input(rng: random.Random, p: Params) -> str:
    k = rng.randint(1, 20) if rng.random() < 0.5 else rng.randint(1, 10**9)
    n = k * rng.randint(1, 10**9 // k) if rng.random() < 0.3 else rng.randint(1, 10**9)
    return _line(n, k)


CEIL_DIVISION = Family(
    name="num_ceil_division",
    topic="arithmetic",
    statements=(
        "There are N $items. One $box can hold at most K $items. What is the minimum number of $boxes needed "
        "to hold all of them?\n\nInput\n\nN K\n\nOutput\n\nPrint the minimum number of $boxes.\n\nConstraints\n\n"
        "- 1 <= N, K <= 10^9\n- N and K are integers.",
        "Takahashi must move N $items, and each $box takes up to K of them. Print the smallest number of $boxes "
        "that suffices (that is, N divided by K, rounded up).\n\nInput is given in the following format:\n\nN K\n\n"
        "Output\n\nPrint one integer.\n\nConstraints\n\n1 <= N <= 10^9, 1 <= K <= 10^9, integers.",
        "Constraints\n\n- N and K are integers between 1 and 10^9.\n\nEvery $box has room for K $items. How "
        "many $boxes are required for N $items if a $box may be only partly filled?\n\nInput\n\nOne line: N K."
        "\n\nOutput\n\nThe number of $boxes.",
    ),
    params=lambda rng: dict(zip(("items", "box", "boxes"), rng.choice(_PACKING))),
    answer=lambda p, text: f"{math.ceil(Fraction(*ints(text)))}\n",
    make_input=_ceil_input,
    edge_inputs=lambda p: ["1 1\n", "10 5\n", "11 5\n", "1 1000000000\n", "1000000000 1\n",
                           "999999999 1000000000\n"],
    reference="n, k = map(int, input().split())\nprint((n + k - 1) // k)\n",
    mutants=(
        "n, k = map(int, input().split())\nprint(n // k)\n",  # rounds down
        "n, k = map(int, input().split())\nprint(n // k + 1)\n",  # one too many on exact multiples
    ),
)


def _round_input(rng: random.Random, p: Params) -> str:
    m = p["m"]
    if rng.random() < 0.4:  # on or next to a half
        n = (m // 2) * rng.randrange(1, 2 * (10**6 // m), 2) + rng.choice([-1, 0, 0, 1])
        return f"{min(10**6, max(0, n))}\n"
    return f"{rng.randint(0, 10**6)}\n"


ROUND_TO_MULTIPLE = Family(
    name="num_round_to_multiple",
    topic="arithmetic",
    statements=(
        "Round the integer N to the nearest multiple of $m. When N is exactly halfway between two multiples, "
        "round up.\n\nInput\n\nN\n\nOutput\n\nPrint the rounded value.\n\nConstraints\n\n- 0 <= N <= 10^6\n"
        "- N is an integer.",
        "A shop rounds every bill to a multiple of $m yen: to the closer multiple, and to the larger one in case "
        "of a tie. The bill is N yen. How much does the customer pay?\n\nInput is given in the following format:"
        "\n\nN\n\nOutput\n\nPrint the rounded amount.\n\nConstraints\n\n0 <= N <= 10^6, N is an integer.",
        "Constraints\n\n- N is an integer, 0 <= N <= 10^6.\n\nFind the multiple of $m closest to N. If two "
        "multiples are equally close, choose the greater one.\n\nInput\n\nA single integer N.\n\nOutput\n\n"
        "That multiple.",
    ),
    params=lambda rng: {"m": rng.choice([10, 100, 1000])},
    answer=lambda p, text: f"{math.floor(Fraction(int(text), p['m']) + Fraction(1, 2)) * p['m']}\n",
    make_input=_round_input,
    edge_inputs=lambda p: ["0\n", f"{p['m'] // 2}\n", f"{p['m'] // 2 - 1}\n", f"{5 * p['m'] // 2}\n",
                           f"{p['m'] - 1}\n", "1000000\n"],
    reference="n = int(input())\nprint((n + $m // 2) // $m * $m)\n",
    mutants=(
        "n = int(input())\nprint(round(n / $m) * $m)\n",  # round() sends halves to the even multiple
        "n = int(input())\nprint(n // $m * $m)\n",  # always rounds down
    ),
)


_COINS = [(5, 10), (5, 25), (10, 50), (5, 50), (10, 100), (2, 10), (4, 20), (3, 9)]


def _coins_answer(p: Params, text: str) -> str:
    n = int(text)
    best = [0] + [n] * n
    for value in range(1, n + 1):
        best[value] = min(best[value - c] + 1 for c in (1, p["b"], p["c"]) if c <= value)
    return f"{best[n]}\n"


MIN_COINS = Family(
    name="num_min_coins",
    topic="arithmetic",
    statements=(
        "There are coins worth 1, $b and $c yen, as many of each as you like. What is the minimum number of coins "
        "that add up to exactly N yen?\n\nInput\n\nN\n\nOutput\n\nPrint the minimum number of coins.\n\n"
        "Constraints\n\n- 1 <= N <= 10000\n- N is an integer.",
        "Takahashi pays exactly N yen using only 1-yen, $b-yen and $c-yen coins and wants to carry as few coins "
        "as possible. How many coins does he hand over?\n\nInput is given in the following format:\n\nN\n\n"
        "Output\n\nPrint one integer.\n\nConstraints\n\n1 <= N <= 10000, integer.",
        "Constraints\n\n- 1 <= N <= 10000 (an integer)\n\nA vending machine gives change of N yen using coins of "
        "value $c, $b and 1, with an unlimited supply of each, and always uses the fewest coins possible. How "
        "many coins come out?\n\nInput\n\nOne integer N.\n\nOutput\n\nThe number of coins.",
    ),
    params=lambda rng: dict(zip(("b", "c"), rng.choice(_COINS))),
    answer=_coins_answer,
    make_input=lambda rng, p: f"{rng.randint(1, 10000) if rng.random() < 0.5 else rng.randint(1, 3 * p['c'])}\n",
    edge_inputs=lambda p: ["1\n", f"{p['b']}\n", f"{p['c'] - 1}\n", f"{p['c'] + p['b'] + 1}\n", "10000\n"],
    reference="n = int(input())\nprint(n // $c + n % $c // $b + n % $c % $b)\n",
    mutants=(
        "n = int(input())\nprint(n // $c + n % $c)\n",  # skips the $b-yen coin
        "n = int(input())\nprint(n // $c + n % $c // $b)\n",  # forgets the 1-yen coins
    ),
)


def _sum_range_input(rng: random.Random, p: Params) -> str:
    if rng.random() < 0.5:
        a = rng.randint(1, 1000)
        return _line(a, a + rng.randint(0, 1000))
    a = rng.randint(1, 10**9)
    return _line(a, rng.randint(a, 10**9))


SUM_RANGE = Family(
    name="num_sum_range",
    topic="arithmetic",
    statements=(
        "Print the sum of all integers from A to B, inclusive: A + (A+1) + ... + B.\n\nInput\n\nA B\n\nOutput\n\n"
        "The sum.\n\nConstraints\n\n- 1 <= A <= B <= 10^9\n- A and B are integers.",
        "Takahashi saves A yen on day 1, A+1 yen on day 2, and so on, one yen more each day, until the day he "
        "saves B yen; then he stops. How much has he saved in total?\n\nInput is given in the following format:\n\n"
        "A B\n\nOutput\n\nPrint the total (it may not fit in 32 bits).\n\nConstraints\n\n1 <= A <= B <= 10^9, "
        "integers.",
        "Constraints\n\n- A, B are integers, 1 <= A <= B <= 10^9.\n\nCompute the sum of every integer x with "
        "A <= x <= B.\n\nInput\n\nOne line containing A and B.\n\nOutput\n\nOne integer.",
    ),
    answer=lambda p, text: f"{(ints(text)[0] + ints(text)[1]) * (ints(text)[1] - ints(text)[0] + 1) // 2}\n",
    make_input=_sum_range_input,
    edge_inputs=lambda p: ["1 1\n", "7 7\n", "1 1000000000\n", "1000000000 1000000000\n", "3 5\n"],
    reference="a, b = map(int, input().split())\nprint(b * (b + 1) // 2 - (a - 1) * a // 2)\n",
    mutants=(
        "a, b = map(int, input().split())\nprint((a + b) * (b - a) // 2)\n",  # one term short
        "a, b = map(int, input().split())\nprint(b * (b + 1) // 2 - a * (a + 1) // 2)\n",  # leaves out A
    ),
)


def _square_input(rng: random.Random, p: Params) -> str:
    k = rng.randint(1, 10**9) if rng.random() < 0.6 else rng.randint(1, 1000)
    n = k * k + (0 if rng.random() < 0.5 else rng.choice([-1, 1, 2, k]))
    return f"{min(10**18, max(1, n))}\n"


PERFECT_SQUARE = Family(
    name="num_perfect_square",
    topic="arithmetic",
    statements=(
        "Is the positive integer N a perfect square, that is, N = k x k for some integer k?\n\nInput\n\nN\n\n"
        "Output\n\nPrint Yes if N is a perfect square, and No otherwise.\n\nConstraints\n\n- 1 <= N <= 10^18\n"
        "- N is an integer.",
        "Takahashi has N square tiles of size 1 x 1. Can he arrange all of them, without gaps or overlaps, into "
        "one big square?\n\nInput is given in the following format:\n\nN\n\nOutput\n\nPrint Yes or No.\n\n"
        "Constraints\n\n1 <= N <= 10^18, N is an integer. (Beware of floating-point rounding for large N.)",
        "Constraints\n\n- N is an integer between 1 and 10^18.\n\nDoes an integer k exist with k^2 = N?\n\n"
        "Input\n\nOne integer N.\n\nOutput\n\nYes if such a k exists, otherwise No.",
    ),
    answer=lambda p, text: yes_no(math.isqrt(int(text)) ** 2 == int(text)),
    make_input=_square_input,
    edge_inputs=lambda p: ["1\n", "2\n", "1000000000000000000\n", "999999999999999999\n", "999999998000000001\n",
                           "999999998000000002\n"],
    reference="import math\nn = int(input())\nr = math.isqrt(n)\nprint('Yes' if r * r == n else 'No')\n",
    mutants=(
        "n = int(input())\nr = n ** 0.5\nprint('Yes' if r == int(r) else 'No')\n",  # float square root
    ),
)


def _tax_params(rng: random.Random) -> Params:
    r = rng.choice([3, 5, 8, 10, 20])
    return {"r": r, "r100": 100 + r}


def _tax_edges(p: Params) -> list[str]:
    r = p["r"]
    above_half = next(n for n in range(1, 1000) if n * r % 100 > 50)  # a fraction above one half
    return ["1\n", "100\n", f"{above_half}\n", "100000\n", "99999\n"]


PRICE_WITH_TAX = Family(
    name="num_price_with_tax",
    topic="arithmetic",
    statements=(
        "An item costs N yen before tax. The consumption tax is $r percent, and the price including tax is "
        "N x $r100 / 100 rounded down to an integer. Print the price including tax.\n\nInput\n\nN\n\nOutput\n\n"
        "The price including tax, in yen.\n\nConstraints\n\n- 1 <= N <= 100000\n- N is an integer.",
        "In Takahashi's country a tax of $r percent is added to every price, and any fraction of a yen is "
        "discarded (rounded down). What does he pay for a book whose price without tax is N yen?\n\nInput is "
        "given in the following format:\n\nN\n\nOutput\n\nPrint one integer.\n\nConstraints\n\n1 <= N <= 100000, "
        "N is an integer.",
        "Constraints\n\n- N is an integer with 1 <= N <= 100000.\n\nPrint floor(N * (100 + $r) / 100), the price "
        "of an N-yen item after adding $r percent tax and dropping the fractional part.\n\nInput\n\nOne "
        "integer N.\n\nOutput\n\nOne integer.",
    ),
    params=_tax_params,
    answer=lambda p, text: f"{math.floor(Fraction(int(text) * (100 + p['r']), 100))}\n",
    make_input=lambda rng, p: f"{rng.randint(1, 1000) if rng.random() < 0.5 else rng.randint(1, 100000)}\n",
    edge_inputs=_tax_edges,
    reference="n = int(input())\nprint(n * $r100 // 100)\n",
    mutants=(
        "n = int(input())\nprint(round(n * $r100 / 100))\n",  # rounds to nearest instead of down
        "n = int(input())\nprint((n * $r100 + 99) // 100)\n",  # rounds up
    ),
)


def _powers_answer(p: Params, text: str) -> str:
    a, b = ints(text)
    left, right = Fraction(a) ** b, Fraction(b) ** a
    return "<\n" if left < right else ">\n" if left > right else "=\n"


COMPARE_POWERS = Family(
    name="num_compare_powers",
    topic="arithmetic",
    statements=(
        "Compare A^B (A to the power B) with B^A.\n\nInput\n\nA B\n\nOutput\n\nPrint < if A^B < B^A, > if "
        "A^B > B^A, and = if they are equal.\n\nConstraints\n\n- 1 <= A, B <= 20\n- A and B are integers.",
        "Takahashi computes A multiplied by itself B times; Aoki computes B multiplied by itself A times. Whose "
        "number is larger?\n\nInput is given in the following format:\n\nA B\n\nOutput\n\nPrint > if "
        "Takahashi's number is larger, < if Aoki's is larger, and = if they are the same. Print only that "
        "one character.\n\nConstraints\n\n1 <= A <= 20, 1 <= B <= 20, integers.",
        "Constraints\n\n- A and B are integers from 1 to 20.\n\nLet X = A^B and Y = B^A. Output the symbol that "
        "makes \"X ? Y\" true: one of <, = and >.\n\nInput\n\nOne line: A B.\n\nOutput\n\nA single character.",
    ),
    answer=_powers_answer,
    make_input=lambda rng, p: _line(rng.randint(1, 20), rng.randint(1, 20)),
    edge_inputs=lambda p: ["2 4\n", "4 2\n", "2 3\n", "3 2\n", "1 1\n", "1 20\n", "20 19\n"],
    reference="a, b = map(int, input().split())\nx, y = a ** b, b ** a\n"
              "print('<' if x < y else '>' if x > y else '=')\n",
    mutants=(
        # "the smaller base always wins"
        "a, b = map(int, input().split())\nprint('>' if a < b else '<' if a > b else '=')\n",
        "a, b = map(int, input().split())\nx, y = a ** b, b ** a\nprint('>' if x < y else '<' if x > y else '=')\n",
    ),
)


_TEMPERATURE = {
    "c2f": {"src": "Celsius", "dst": "Fahrenheit", "s": "C", "d": "F", "formula": "F = C x 9 / 5 + 32",
            "lo": -100, "hi": 100, "exact": "x * 9 // 5 + 32", "approx": "x * 9 / 5 + 32", "bad": "x * (9 // 5) + 32",
            "edges": ["-18", "-21", "-40", "0", "100", "-100", "10"]},
    "f2c": {"src": "Fahrenheit", "dst": "Celsius", "s": "F", "d": "C", "formula": "C = (F - 32) x 5 / 9",
            "lo": -100, "hi": 300, "exact": "(x - 32) * 5 // 9", "approx": "(x - 32) * 5 / 9", "bad": "x - 32 * 5 // 9",
            "edges": ["31", "-40", "32", "212", "-100", "300", "50", "0"]},
}


def _temperature_params(rng: random.Random) -> Params:
    return {k: v for k, v in _TEMPERATURE[rng.choice(sorted(_TEMPERATURE))].items() if k != "edges"}


def _temperature_answer(p: Params, text: str) -> str:
    x = int(text)
    value = Fraction(x * 9, 5) + 32 if p["s"] == "C" else Fraction((x - 32) * 5, 9)
    return f"{math.floor(value)}\n"


TEMPERATURE = Family(
    name="num_temperature",
    topic="arithmetic",
    statements=(
        "Convert a temperature of $s degrees $src to $dst using $formula. The result is rounded down to an "
        "integer (toward negative infinity, so -0.4 becomes -1).\n\nInput\n\n$s\n\nOutput\n\nPrint the rounded "
        "value of $d.\n\nConstraints\n\n- $lo <= $s <= $hi\n- $s is an integer.",
        "Takahashi's thermometer shows an integer $s in degrees $src, but Aoki only understands $dst. Print the "
        "largest integer that is not greater than the exact $dst value, given by $formula.\n\nInput is given in "
        "the following format:\n\n$s\n\nOutput\n\nPrint one integer.\n\nConstraints\n\n$lo <= $s <= $hi, "
        "integer.",
        "Constraints\n\n- $s is an integer between $lo and $hi.\n\nThe relation between the scales is $formula. "
        "Given $s ($src), output floor($d), the $dst temperature with its fractional part removed by rounding "
        "down (for negative values this moves away from zero).\n\nInput\n\nA single integer $s.\n\nOutput\n\n"
        "A single integer.",
    ),
    params=_temperature_params,
    answer=_temperature_answer,
    make_input=lambda rng, p: f"{rng.randint(p['lo'], p['hi'])}\n",
    edge_inputs=lambda p: [f"{x}\n" for x in _TEMPERATURE["c2f" if p["s"] == "C" else "f2c"]["edges"]],
    reference="x = int(input())\nprint($exact)\n",
    mutants=(
        "x = int(input())\nprint(int($approx))\n",  # int() truncates toward zero
        "x = int(input())\nprint($bad)\n",  # integer division applied too early / precedence slip
    ),
)


def _median_input(rng: random.Random, p: Params) -> str:
    pool = [rng.randint(-1000, 1000) for _ in range(3)]
    if rng.random() < 0.2:
        pool[rng.randrange(3)] = pool[rng.randrange(3)]
    if rng.random() < 0.3:  # mixed digit counts
        pool = [rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 1000)]
        rng.shuffle(pool)
    return _line(*pool)


MEDIAN_OF_THREE = Family(
    name="num_median_of_three",
    topic="arithmetic",
    statements=(
        "Three integers A, B and C are given. Print the one in the middle when they are sorted in ascending "
        "order (the median).\n\nInput\n\nA B C\n\nOutput\n\nPrint the median.\n\nConstraints\n\n"
        "- -1000 <= A, B, C <= 1000\n- All values are integers (they may be equal).",
        "Three judges gave scores A, B and C. To resist extreme opinions, the official score is the median: the "
        "score that is neither the strictly highest nor the strictly lowest when the three are lined up in "
        "order. Print the official score.\n\nInput is given in the following format:\n\nA B C\n\nOutput\n\n"
        "Print one integer.\n\nConstraints\n\n-1000 <= A, B, C <= 1000, integers.",
        "Constraints\n\n- A, B, C are integers in [-1000, 1000], not necessarily distinct.\n\nSort A, B, C by "
        "value and print the second one.\n\nInput\n\nA B C on one line.\n\nOutput\n\nThe middle value.",
    ),
    answer=lambda p, text: f"{sorted(ints(text))[1]}\n",
    make_input=_median_input,
    edge_inputs=lambda p: ["5 5 5\n", "1 2 2\n", "9 10 100\n", "100 1 50\n", "-1000 1000 0\n", "3 1 2\n",
                           "1 2 6\n"],
    reference="a = sorted(map(int, input().split()))\nprint(a[1])\n",
    mutants=(
        "a, b, c = map(int, input().split())\nprint((a + b + c) // 3)\n",  # the mean, not the median
        "a = sorted(input().split())\nprint(a[1])\n",  # sorts the strings
        "a, b, c = map(int, input().split())\nprint(max(min(a, b), min(b, c)))\n",  # incomplete min/max formula
    ),
)


FAMILIES: tuple[Family, ...] = (
    PRODUCT_PARITY, WHOSE_TURN,
    DIVISIBLE_BY_K, COUNT_MULTIPLES, COUNT_DIVISORS, GCD_LCM,
    DIGIT_SUM, COUNT_DIGIT, REVERSE_DIFFERENCE,
    LEAP_YEAR, DAYS_IN_MONTH, WEEKDAY_AFTER, AGE,
    SECONDS_TO_HMS, CLOCK_DIFFERENCE, TWELVE_TO_24,
    RECTANGLE, POINT_IN_RECTANGLE, MANHATTAN, TRIANGLE_CHECK, RIGHT_TRIANGLE,
    CEIL_DIVISION, ROUND_TO_MULTIPLE, MIN_COINS, SUM_RANGE, PERFECT_SQUARE, PRICE_WITH_TAX, COMPARE_POWERS,
    TEMPERATURE, MEDIAN_OF_THREE,
)
