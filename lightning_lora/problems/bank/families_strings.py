"""String and character families: compare, count, search, transform and judge short strings."""

from __future__ import annotations

import random
import string

from lightning_lora.problems.bank.core import Family, Params, yes_no

LOWER = string.ascii_lowercase
LETTERS = string.ascii_letters
VOWELS = "aeiou"


def _word(rng: random.Random, n: int, letters: str = LOWER) -> str:
    return "".join(rng.choice(letters) for _ in range(n))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


# --- str_equal_ignore_case ------------------------------------------------------------------------------------------


def _equal_ci_input(rng: random.Random, p: Params) -> str:
    s = _word(rng, rng.randint(1, 10), LETTERS)
    mode = rng.random()
    if mode < 0.5:  # same word, other capitalisation
        t = "".join(c.swapcase() if rng.random() < 0.5 else c for c in s)
    elif mode < 0.75:  # one letter really different
        i = rng.randrange(len(s))
        other = rng.choice([c for c in LOWER if c != s[i].lower()])
        t = s[:i] + (other.upper() if rng.random() < 0.5 else other) + s[i + 1:]
    else:
        t = _word(rng, rng.randint(1, 10), LETTERS)
    return f"{s}\n{t}\n"


EQUAL_IGNORE_CASE = Family(
    name="str_equal_ignore_case",
    topic="strings",
    statements=(
        "You are given two strings S and T made of uppercase and lowercase English letters. Determine whether S and "
        "T are the same string when the difference between uppercase and lowercase is ignored.\n\nInput\n\nS\nT\n\n"
        "Output\n\nPrint Yes if they are equal ignoring case, and No otherwise.\n\nConstraints\n\n"
        "- 1 <= |S|, |T| <= 10\n- S and T consist of uppercase and lowercase English letters.",
        "Takahashi typed a password S, and the system has the password T on record. This old system does not care "
        "about capital letters: 'AbC' and 'abc' count as the same. Will Takahashi be let in?\n\nInput is given "
        "from Standard Input in the following format:\n\nS\nT\n\nOutput\n\nPrint Yes if S matches T under this "
        "rule; otherwise print No.\n\nConstraints\n\n- S and T each have between 1 and 10 characters.\n"
        "- Every character is an English letter (either case).",
        "Constraints\n\n- 1 <= |S| <= 10, 1 <= |T| <= 10\n- S and T contain only letters a-z and A-Z.\n\n"
        "Problem\n\nTwo words S and T are written on a board. Convert every letter of both words to lowercase. Are "
        "the two results identical?\n\nInput\n\nThe first line holds S, the second line holds T.\n\nOutput\n\n"
        "Yes or No, on a single line.",
    ),
    answer=lambda p, text: yes_no(_lines(text)[0].lower() == _lines(text)[1].lower()),
    make_input=_equal_ci_input,
    edge_inputs=lambda p: ["ab\nAB\n", "a\nA\n", "abc\nabc\n", "abc\nab\n", "Zz\nzY\n"],
    reference="s = input().strip()\nt = input().strip()\nprint('Yes' if s.lower() == t.lower() else 'No')\n",
    mutants=(
        "s = input().strip()\nt = input().strip()\nprint('Yes' if s == t else 'No')\n",  # case-sensitive
        "s = input().strip()\nt = input().strip()\nprint('Yes' if s.lower() == t else 'No')\n",  # lowers only S
    ),
)


# --- str_dictionary_first -------------------------------------------------------------------------------------------


def _dict_first_input(rng: random.Random, p: Params) -> str:
    while True:
        s = _word(rng, rng.randint(1, 10), "abc")
        if rng.random() < 0.6:  # T shares a prefix with S (maybe all of S)
            k = rng.randint(0, len(s))
            t = s[:k] + _word(rng, rng.randint(0, 10 - k), "abc")
        else:
            t = _word(rng, rng.randint(1, 10), "abc")
        if t and t != s:
            return f"{s}\n{t}\n" if rng.random() < 0.5 else f"{t}\n{s}\n"


DICTIONARY_FIRST = Family(
    name="str_dictionary_first",
    topic="strings",
    statements=(
        "You are given two different strings S and T of lowercase English letters. Print the one that comes first "
        "in dictionary (lexicographic) order. A string that is a proper prefix of another comes before it.\n\n"
        "Input\n\nS\nT\n\nOutput\n\nPrint S or T, whichever is smaller in lexicographic order.\n\nConstraints\n\n"
        "- 1 <= |S|, |T| <= 10\n- S and T consist of lowercase English letters.\n- S != T",
        "Two words will be listed in a dictionary. Which one appears earlier? Words are compared letter by letter "
        "from the left; at the first differing letter the one with the earlier letter of the alphabet comes first, "
        "and if one word runs out first (it is a prefix of the other), the shorter word comes first.\n\nInput is "
        "given from Standard Input in the following format:\n\nS\nT\n\nOutput\n\nPrint the word that appears "
        "earlier.\n\nConstraints\n\n- S and T are distinct.\n- Each has length 1 to 10 and uses only the letters a "
        "to z.",
        "Aoki is sorting name tags alphabetically. He holds two tags, S and T (they differ). Print the tag that "
        "must be placed before the other in lexicographic order.\n\nInput\n\nLine 1: S\nLine 2: T\n\nOutput\n\n"
        "One line: the earlier of the two strings.\n\nConstraints\n\n- 1 <= length of S, T <= 10\n- Only lowercase "
        "English letters appear.\n- S is not equal to T.",
    ),
    answer=lambda p, text: min(_lines(text)[:2]) + "\n",
    make_input=_dict_first_input,
    edge_inputs=lambda p: ["b\nab\n", "aa\nab\n", "abc\nab\n", "a\nz\n", "zzzzzzzzzz\nzzzzzzzzzy\n"],
    reference="s = input().strip()\nt = input().strip()\nprint(s if s < t else t)\n",
    mutants=(
        # shorter string first, then alphabetical
        "s = input().strip()\nt = input().strip()\nprint(min(s, t, key=lambda x: (len(x), x)))\n",
        # looks only at the first letter
        "s = input().strip()\nt = input().strip()\nprint(s if s[0] < t[0] else t)\n",
        # forgets the prefix case: equal on the common part means S
        "s = input().strip()\nt = input().strip()\nfor a, b in zip(s, t):\n    if a != b:\n"
        "        print(s if a < b else t)\n        break\nelse:\n    print(s)\n",
    ),
)


# --- str_count_vowels -----------------------------------------------------------------------------------------------


def _vowels_params(rng: random.Random) -> Params:
    if rng.random() < 0.5:
        return {"what": "vowels", "rule": "is one of a, e, i, o, u", "op": "in"}
    return {"what": "consonants", "rule": "is not one of a, e, i, o, u", "op": "not in"}


def _vowels_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    vowels = sum(c in VOWELS for c in s)
    return f"{vowels if p['what'] == 'vowels' else len(s) - vowels}\n"


COUNT_VOWELS = Family(
    name="str_count_vowels",
    topic="counting",
    statements=(
        "You are given a string S of lowercase English letters. Count the $what in S: a letter counts when it "
        "$rule (the letter y is never a vowel).\n\nInput\n\nS\n\nOutput\n\nPrint the count.\n\nConstraints\n\n"
        "- 1 <= |S| <= 20\n- S consists of lowercase English letters.",
        "In this problem the vowels are exactly a, e, i, o and u; every other letter, y included, is a consonant. "
        "How many $what does the word S contain?\n\nInput is given from Standard Input in the following format:\n\n"
        "S\n\nOutput\n\nPrint a single integer.\n\nConstraints\n\n- S has between 1 and 20 characters, all "
        "lowercase English letters.",
        "Snuke is studying pronunciation. For the word S he wants to know how many letters of S are $what. A "
        "letter is counted exactly when it $rule; note that y counts as a consonant here.\n\nInput\n\nOne line with "
        "S.\n\nOutput\n\nThe number of such letters.\n\nConstraints\n\n- 1 <= |S| <= 20\n- Each character of S is "
        "between a and z.",
    ),
    params=_vowels_params,
    answer=_vowels_answer,
    make_input=lambda rng, p: _word(rng, rng.randint(1, 20), "aeiouybcdrstuy") + "\n",
    edge_inputs=lambda p: ["u\n", "y\n", "aeiou\n", "bcdfghjklmnpqrstvwxy\n", "yummy\n"],
    reference="s = input().strip()\nprint(sum(1 for c in s if c $op 'aeiou'))\n",
    mutants=(
        "s = input().strip()\nprint(sum(1 for c in s if c $op 'aeio'))\n",  # forgets u
        "s = input().strip()\nprint(sum(1 for c in s if c $op 'aeiouy'))\n",  # treats y as a vowel
    ),
)


# --- str_count_case -------------------------------------------------------------------------------------------------


def _case_params(rng: random.Random) -> Params:
    if rng.random() < 0.5:
        return {"case": "uppercase", "method": "isupper"}
    return {"case": "lowercase", "method": "islower"}


def _case_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    upper = sum("A" <= c <= "Z" for c in s)
    return f"{upper if p['case'] == 'uppercase' else len(s) - upper}\n"


COUNT_CASE = Family(
    name="str_count_case",
    topic="counting",
    statements=(
        "You are given a string S consisting of uppercase and lowercase English letters. How many of its "
        "characters are $case letters?\n\nInput\n\nS\n\nOutput\n\nPrint the number of $case letters in S.\n\n"
        "Constraints\n\n- 1 <= |S| <= 20\n- S consists of uppercase and lowercase English letters.",
        "A message S was typed with a faulty Shift key, so its letters are a mix of capitals and small letters. "
        "Count the $case letters in the message (every occurrence counts, repeated letters too).\n\nInput is given "
        "from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the count as an integer.\n\n"
        "Constraints\n\n- S has length between 1 and 20.\n- Every character of S is in a-z or A-Z.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S is made of English letters only.\n\nProblem\n\nPrint the number of "
        "positions i (1 <= i <= |S|) such that the i-th character of S is a $case letter.\n\nInput\n\nA single line "
        "containing S.\n\nOutput\n\nOne integer.",
    ),
    params=_case_params,
    answer=_case_answer,
    make_input=lambda rng, p: _word(rng, rng.randint(1, 20), "aAbBcCxXyYzZ") + "\n",
    edge_inputs=lambda p: ["A\n", "a\n", "AAaa\n", "ZZZZZZZZZZZZZZZZZZZZ\n", "abcDEF\n"],
    reference="s = input().strip()\nprint(sum(1 for c in s if c.$method()))\n",
    mutants=(
        "s = input().strip()\nprint(sum(1 for c in s[1:] if c.$method()))\n",  # skips the first character
        "s = input().strip()\nprint(len({c for c in s if c.$method()}))\n",  # counts distinct letters only
    ),
)


# --- str_palindrome -------------------------------------------------------------------------------------------------


def _palindrome_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 20)
    letters = "ab" if rng.random() < 0.5 else "abcxyz"
    if rng.random() < 0.5:
        half = _word(rng, n // 2, letters)
        s = half + (rng.choice(letters) if n % 2 else "") + half[::-1]
        if rng.random() < 0.3 and n > 1:  # almost a palindrome
            i = rng.randrange(n)
            s = s[:i] + rng.choice([c for c in letters if c != s[i]]) + s[i + 1:]
    else:
        s = _word(rng, n, letters)
    return s + "\n"


PALINDROME = Family(
    name="str_palindrome",
    topic="strings",
    statements=(
        "A string is a palindrome when it reads the same from left to right and from right to left. Given a string "
        "S of lowercase English letters, determine whether S is a palindrome.\n\nInput\n\nS\n\nOutput\n\nPrint Yes "
        "if S is a palindrome, and No otherwise.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of lowercase "
        "English letters.",
        "Takahashi wrote the word S on a strip of paper, then looked at it in a mirror placed at the end of the "
        "strip. He is happy if the word seen backwards is exactly the same as S. Is he happy?\n\nInput is given "
        "from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint Yes if he is happy, otherwise No."
        "\n\nConstraints\n\n- S is 1 to 20 lowercase English letters.",
        "Constraints\n\n- 1 <= N <= 20, where N = |S|\n- S contains only the letters a to z.\n\nProblem\n\nCheck "
        "whether S_i = S_{N+1-i} holds for every i from 1 to N, where S_i is the i-th character of S.\n\nInput\n\n"
        "The string S on one line.\n\nOutput\n\nYes if the condition holds for all i, No if it fails for some i.",
    ),
    answer=lambda p, text: yes_no(_lines(text)[0] == _lines(text)[0][::-1]),
    make_input=_palindrome_input,
    edge_inputs=lambda p: ["a\n", "aba\n", "abca\n", "ab\n", "z" * 20 + "\n", "abcdefghijjihgfedcba\n"],
    reference="s = input().strip()\nprint('Yes' if s == s[::-1] else 'No')\n",
    mutants=(
        "s = input().strip()\nprint('Yes' if s[0] == s[-1] else 'No')\n",  # compares only the two ends
        # splits at len // 2: the halves of an odd-length string have different lengths
        "s = input().strip()\nh = len(s) // 2\nprint('Yes' if s[:h] == s[h:][::-1] else 'No')\n",
    ),
)


# --- str_reverse_segment --------------------------------------------------------------------------------------------


def _reverse_segment_input(rng: random.Random, p: Params) -> str:
    s = _word(rng, rng.randint(1, 20))
    left = rng.randint(1, len(s))
    return f"{s}\n{left} {rng.randint(left, len(s))}\n"


def _reverse_segment_answer(p: Params, text: str) -> str:
    lines = _lines(text)
    s = lines[0]
    left, right = map(int, lines[1].split())
    chars = list(s)
    i, j = left - 1, right - 1
    while i < j:
        chars[i], chars[j] = chars[j], chars[i]
        i, j = i + 1, j - 1
    return "".join(chars) + "\n"


REVERSE_SEGMENT = Family(
    name="str_reverse_segment",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters and integers L and R. Reverse the part of S from "
        "the L-th character to the R-th character (inclusive, counting from 1) and print the resulting string."
        "\n\nInput\n\nS\nL R\n\nOutput\n\nPrint the string after the reversal.\n\nConstraints\n\n- 1 <= |S| <= 20"
        "\n- 1 <= L <= R <= |S|\n- S consists of lowercase English letters.",
        "Letter tiles spell the word S in a row. Snuke picks up the tiles at positions L through R (the leftmost "
        "tile is position 1) and puts them back in the opposite order, leaving the other tiles in place. What "
        "does the row spell now?\n\nInput is given from Standard Input in the following format:\n\nS\nL R\n\n"
        "Output\n\nPrint the new word.\n\nConstraints\n\n- S has 1 to 20 lowercase letters.\n- L and R are "
        "integers with 1 <= L <= R <= |S|.",
        "Constraints\n\n- 1 <= L <= R <= N <= 20, where N is the length of S\n- S is made of the letters a-z\n\n"
        "Problem\n\nLet S = S_1 S_2 ... S_N. Print S_1 ... S_{L-1} S_R S_{R-1} ... S_L S_{R+1} ... S_N, that is, S "
        "with its segment from position L to position R reversed.\n\nInput\n\nThe first line contains S; the "
        "second contains L and R separated by a space.\n\nOutput\n\nOne line: the transformed string.",
    ),
    answer=_reverse_segment_answer,
    make_input=_reverse_segment_input,
    edge_inputs=lambda p: ["ab\n1 2\n", "abc\n1 2\n", "a\n1 1\n", "abcde\n2 4\n", "abcdefghijklmnopqrst\n1 20\n"],
    reference="s = input().strip()\nl, r = map(int, input().split())\nprint(s[:l - 1] + s[l - 1:r][::-1] + s[r:])\n",
    mutants=(
        # leaves out the R-th character
        "s = input().strip()\nl, r = map(int, input().split())\nprint(s[:l - 1] + s[l - 1:r - 1][::-1] + s[r - 1:])\n",
        # treats L and R as 0-based
        "s = input().strip()\nl, r = map(int, input().split())\nprint(s[:l] + s[l:r + 1][::-1] + s[r + 1:])\n",
        # reverses the whole string
        "s = input().strip()\nl, r = map(int, input().split())\nprint(s[::-1])\n",
    ),
)


# --- str_contains ---------------------------------------------------------------------------------------------------


def _contains_input(rng: random.Random, p: Params) -> str:
    s = _word(rng, rng.randint(1, 20), "abc")
    mode = rng.random()
    if mode < 0.45:  # a real substring
        i = rng.randrange(len(s))
        t = s[i:rng.randint(i + 1, len(s))]
    elif mode < 0.7 and len(s) >= 2:  # a subsequence, usually not contiguous
        idx = sorted(rng.sample(range(len(s)), rng.randint(1, min(5, len(s)))))
        t = "".join(s[i] for i in idx)
    else:
        t = _word(rng, rng.randint(1, min(5, len(s))), "abc")
    return f"{s}\n{t}\n"


CONTAINS = Family(
    name="str_contains",
    topic="strings",
    statements=(
        "You are given strings S and T of lowercase English letters. Determine whether T appears in S as a "
        "contiguous substring, that is, whether some consecutive characters of S form exactly T.\n\nInput\n\nS\nT"
        "\n\nOutput\n\nPrint Yes if T is a substring of S, and No otherwise.\n\nConstraints\n\n"
        "- 1 <= |T| <= |S| <= 20\n- S and T consist of lowercase English letters.",
        "Aoki has a long banner with the text S on it. He wants to cut out one piece of the banner (a stretch of "
        "consecutive letters) that reads exactly T. Is that possible?\n\nInput is given from Standard Input in the "
        "following format:\n\nS\nT\n\nOutput\n\nPrint Yes if such a piece exists; otherwise print No.\n\n"
        "Constraints\n\n- The length of T is at least 1 and at most the length of S.\n- S has at most 20 letters."
        "\n- Both strings use only a to z.",
        "Constraints\n\n- 1 <= |T| <= |S| <= 20\n- All characters are lowercase English letters.\n\nProblem\n\n"
        "Is there an index i such that S_i S_{i+1} ... S_{i+|T|-1} equals T? Letters may not be skipped.\n\nInput"
        "\n\nLine 1 contains S and line 2 contains T.\n\nOutput\n\nYes or No.",
    ),
    answer=lambda p, text: yes_no(_lines(text)[1] in _lines(text)[0]),
    make_input=_contains_input,
    edge_inputs=lambda p: ["abc\nac\n", "abc\nbc\n", "a\na\n", "aaaa\naaaa\n", "ab\nba\n"],
    reference="s = input().strip()\nt = input().strip()\nprint('Yes' if t in s else 'No')\n",
    mutants=(
        # subsequence check: allows skipping letters
        "s = input().strip()\nt = input().strip()\nit = iter(s)\nprint('Yes' if all(c in it for c in t) else 'No')\n",
        "s = input().strip()\nt = input().strip()\nprint('Yes' if s.startswith(t) else 'No')\n",  # prefix only
    ),
)


# --- str_find_index -------------------------------------------------------------------------------------------------


def _find_params(rng: random.Random) -> Params:
    first = rng.random() < 0.5
    return {"ch": rng.choice("abcdeorstxyz"), "which": "first" if first else "last",
            "method": "find" if first else "rfind", "other": "rfind" if first else "find"}


def _find_input(rng: random.Random, p: Params) -> str:
    letters = "abcdeorstxyz"
    if rng.random() < 0.25:
        letters = letters.replace(p["ch"], "")
    else:
        letters += p["ch"] * 4  # the sought letter is often there, sometimes several times
    return _word(rng, rng.randint(1, 20), letters) + "\n"


def _find_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    positions = [i + 1 for i, c in enumerate(s) if c == p["ch"]]
    if not positions:
        return "-1\n"
    return f"{positions[0] if p['which'] == 'first' else positions[-1]}\n"


FIND_INDEX = Family(
    name="str_find_index",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Find the position of the $which occurrence of the "
        "letter $ch in S, where the first character of S is at position 1. If $ch does not occur in S, print -1."
        "\n\nInput\n\nS\n\nOutput\n\nPrint the position, or -1.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S "
        "consists of lowercase English letters.",
        "Snuke reads the word S one letter at a time, numbering the letters 1, 2, 3, ... from the left. Where is "
        "the $which letter '$ch' of the word? If the word has no '$ch' at all, answer -1.\n\nInput is given from "
        "Standard Input in the following format:\n\nS\n\nOutput\n\nPrint one integer: the 1-based index, or -1."
        "\n\nConstraints\n\n- S has length between 1 and 20.\n- S uses only lowercase letters.",
        "Constraints\n\n- 1 <= |S| <= 20\n- Every character of S is one of a, b, ..., z.\n\nProblem\n\nAmong all "
        "indices i (1-indexed) with S_i equal to the letter $ch, print the $which one, that is, the "
        "${which}-occurring $ch in S. Print -1 if no such index exists.\n\nInput\n\nS on one line.\n\nOutput\n\n"
        "The index as an integer.",
    ),
    params=_find_params,
    answer=_find_answer,
    make_input=_find_input,
    edge_inputs=lambda p: [f"{p['ch']}\n", "q\n", f"{p['ch']}q{p['ch']}\n", "q" * 19 + p["ch"] + "\n",
                           p["ch"] * 20 + "\n"],
    reference="s = input().strip()\ni = s.$method('$ch')\nprint(i + 1 if i >= 0 else -1)\n",
    mutants=(
        "s = input().strip()\nprint(s.$method('$ch'))\n",  # 0-based position
        "s = input().strip()\nprint(s.$method('$ch') + 1)\n",  # prints 0 when the letter is missing
        "s = input().strip()\ni = s.$other('$ch')\nprint(i + 1 if i >= 0 else -1)\n",  # the other end
    ),
)


# --- str_replace_char -----------------------------------------------------------------------------------------------


def _replace_params(rng: random.Random) -> Params:
    a, b = rng.sample("abcdeoxyz", 2)
    return {"a": a, "b": b}


REPLACE_CHAR = Family(
    name="str_replace_char",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Replace every occurrence of the letter $a in S "
        "with the letter $b, and print the result.\n\nInput\n\nS\n\nOutput\n\nPrint the string after all the "
        "replacements.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of lowercase English letters.",
        "The key '$a' on Takahashi's keyboard is wired wrongly: whenever he meant to type '$a', the letter '$b' "
        "should have appeared instead. He typed S. Fix it by changing each '$a' into '$b'; every other letter "
        "stays as it is.\n\nInput is given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint "
        "the corrected string.\n\nConstraints\n\n- S is a string of 1 to 20 lowercase English letters.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S contains only lowercase English letters.\n\nProblem\n\nBuild a "
        "string T of the same length as S: T_i = $b if S_i = $a, and T_i = S_i otherwise. Print T.\n\nInput\n\n"
        "S, on a single line.\n\nOutput\n\nT, on a single line.",
    ),
    params=_replace_params,
    answer=lambda p, text: "".join(p["b"] if c == p["a"] else c for c in _lines(text)[0]) + "\n",
    make_input=lambda rng, p: _word(rng, rng.randint(1, 20), p["a"] * 3 + p["b"] + "mnqr") + "\n",
    edge_inputs=lambda p: [f"{p['a']}\n", p["a"] * 2 + "\n", "qqq\n", f"{p['b']}{p['a']}{p['b']}\n",
                           p["a"] * 20 + "\n"],
    reference="s = input().strip()\nprint(s.replace('$a', '$b'))\n",
    mutants=(
        "s = input().strip()\nprint(s.replace('$a', '$b', 1))\n",  # only the first occurrence
        "s = input().strip()\nprint(s[:-1].replace('$a', '$b') + s[-1])\n",  # never touches the last letter
    ),
)


# --- str_swap_case --------------------------------------------------------------------------------------------------


SWAP_CASE = Family(
    name="str_swap_case",
    topic="strings",
    statements=(
        "You are given a string S of uppercase and lowercase English letters. Change every uppercase letter to "
        "lowercase and every lowercase letter to uppercase, then print the string.\n\nInput\n\nS\n\nOutput\n\n"
        "Print the converted string.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of English letters.",
        "Aoki accidentally left Caps Lock on while typing, so every letter of his text S came out in the wrong "
        "case: small letters became capitals and capitals became small letters. Print the text he meant to type."
        "\n\nInput is given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the intended "
        "text.\n\nConstraints\n\n- S has 1 to 20 characters, each in a-z or A-Z.",
        "Constraints\n\n- 1 <= |S| <= 20\n- Each S_i is an English letter.\n\nProblem\n\nFor each position i, "
        "if S_i is lowercase output it in uppercase, and if S_i is uppercase output it in lowercase. Keep the "
        "order of the characters.\n\nInput\n\nOne line containing S.\n\nOutput\n\nThe resulting string.",
    ),
    answer=lambda p, text: "".join(c.lower() if c.isupper() else c.upper() for c in _lines(text)[0]) + "\n",
    make_input=lambda rng, p: _word(rng, rng.randint(1, 20), LETTERS) + "\n",
    edge_inputs=lambda p: ["a\n", "A\n", "aBcD\n", "Z" * 20 + "\n"],
    reference="s = input().strip()\nprint(s.swapcase())\n",
    mutants=(
        "s = input().strip()\nprint(s.upper())\n",  # everything to uppercase
        "s = input().strip()\nprint(s.lower())\n",  # everything to lowercase
    ),
)


# --- str_caesar_shift -----------------------------------------------------------------------------------------------


def _caesar_params(rng: random.Random) -> Params:
    if rng.random() < 0.5:
        return {"sign": "+", "other": "-", "way": "after", "wrap": "after z comes a again"}
    return {"sign": "-", "other": "+", "way": "before", "wrap": "before a comes z"}


def _caesar_answer(p: Params, text: str) -> str:
    lines = _lines(text)
    k = int(lines[0]) * (1 if p["sign"] == "+" else -1)
    return "".join(LOWER[(LOWER.index(c) + k) % 26] for c in lines[1]) + "\n"


CAESAR_SHIFT = Family(
    name="str_caesar_shift",
    topic="strings",
    statements=(
        "You are given an integer K and a string S of lowercase English letters. Replace each letter of S with the "
        "letter that is K places $way it in the alphabet, treating the alphabet as a circle ($wrap). Print the "
        "result.\n\nInput\n\nK\nS\n\nOutput\n\nPrint the shifted string.\n\nConstraints\n\n- 0 <= K <= 25\n"
        "- 1 <= |S| <= 20\n- S consists of lowercase English letters.",
        "Takahashi and Aoki pass secret notes. To encode a note, every letter is moved K steps $way its place in "
        "the alphabet a, b, ..., z, and the alphabet wraps around: $wrap. Encode the note S.\n\nInput is given "
        "from Standard Input in the following format:\n\nK\nS\n\nOutput\n\nPrint the encoded note.\n\n"
        "Constraints\n\n- K is an integer between 0 and 25.\n- S has 1 to 20 lowercase letters.",
        "Constraints\n\n- 0 <= K <= 25 (integer)\n- 1 <= |S| <= 20\n- S uses only the letters a-z\n\nProblem\n\n"
        "Number the letters a = 0, b = 1, ..., z = 25. Each letter with number x becomes the letter with number "
        "(x $sign K) mod 26, so $wrap. Apply this to every character of S.\n\nInput\n\nThe first line has K; the "
        "second line has S.\n\nOutput\n\nThe converted string on one line.",
    ),
    params=_caesar_params,
    answer=_caesar_answer,
    make_input=lambda rng, p: f"{rng.randint(0, 25)}\n{_word(rng, rng.randint(1, 20), 'abcmnwxyz')}\n",
    edge_inputs=lambda p: ["0\nabc\n", "1\nz\n", "1\na\n", "1\nb\n", "25\nb\n", "13\nxyz\n"],
    reference="k = int(input())\ns = input().strip()\nprint(''.join(chr((ord(c) - 97 $sign k) % 26 + 97) for c in s))\n",
    mutants=(
        "k = int(input())\ns = input().strip()\nprint(''.join(chr(ord(c) $sign k) for c in s))\n",  # no wrap-around
        # wraps modulo 25 instead of 26
        "k = int(input())\ns = input().strip()\nprint(''.join(chr((ord(c) - 97 $sign k) % 25 + 97) for c in s))\n",
        # shifts the wrong way
        "k = int(input())\ns = input().strip()\nprint(''.join(chr((ord(c) - 97 $other k) % 26 + 97) for c in s))\n",
    ),
)


# --- str_remove_char ------------------------------------------------------------------------------------------------


def _remove_input(rng: random.Random, p: Params) -> str:
    while True:
        s = _word(rng, rng.randint(1, 20), p["ch"] * 3 + "bkqw")
        if s.replace(p["ch"], ""):
            return s + "\n"


REMOVE_CHAR = Family(
    name="str_remove_char",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Delete every occurrence of the letter $ch from S "
        "and print what remains, keeping the order of the other letters. It is guaranteed that the result is not "
        "empty.\n\nInput\n\nS\n\nOutput\n\nPrint S with all the letters $ch removed.\n\nConstraints\n\n"
        "- 1 <= |S| <= 20\n- S consists of lowercase English letters.\n- S contains at least one letter other than "
        "$ch.",
        "Snuke's printer has started to print the letter '$ch' by mistake wherever it likes. The printed word is "
        "S, and no genuine '$ch' should be in it. Erase all of the '$ch's and print the word that is left.\n\n"
        "Input is given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the cleaned word."
        "\n\nConstraints\n\n- S has length 1 to 20 and uses lowercase English letters only.\n- Not every letter of "
        "S is '$ch'.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S_i is a lowercase English letter.\n- At least one S_i differs from "
        "$ch.\n\nProblem\n\nConcatenate, from left to right, all characters S_i that are not equal to $ch, and "
        "print the string obtained.\n\nInput\n\nS\n\nOutput\n\nThe string obtained, on one line.",
    ),
    params=lambda rng: {"ch": rng.choice("aeinorst")},
    answer=lambda p, text: "".join(c for c in _lines(text)[0] if c != p["ch"]) + "\n",
    make_input=_remove_input,
    edge_inputs=lambda p: [f"q{p['ch']}q\n", f"{p['ch']}{p['ch']}q\n", "q\n", p["ch"] * 19 + "z\n",
                           f"{p['ch']}b{p['ch']}\n"],
    reference="s = input().strip()\nprint(s.replace('$ch', ''))\n",
    mutants=(
        "s = input().strip()\nprint(s.replace('$ch', '', 1))\n",  # removes only the first one
        "s = input().strip()\nprint(s.strip('$ch'))\n",  # removes them only at both ends
    ),
)


# --- str_all_distinct -----------------------------------------------------------------------------------------------


def _distinct_input(rng: random.Random, p: Params) -> str:
    n = rng.randint(1, 15)
    s = rng.sample(LOWER, n)
    if rng.random() < 0.5:
        s.insert(rng.randint(0, n), rng.choice(s))
    return "".join(s) + "\n"


ALL_DISTINCT = Family(
    name="str_all_distinct",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Determine whether all the characters of S are "
        "different from each other.\n\nInput\n\nS\n\nOutput\n\nPrint Yes if no letter appears twice or more in S, "
        "and No otherwise.\n\nConstraints\n\n- 1 <= |S| <= 26\n- S consists of lowercase English letters.",
        "A password S is called strong when it never uses the same letter twice, anywhere in it (not only side "
        "by side). Is Aoki's password strong?\n\nInput is given from Standard Input in the following format:\n\nS"
        "\n\nOutput\n\nPrint Yes if the password is strong, otherwise print No.\n\nConstraints\n\n- S has between "
        "1 and 26 characters.\n- All characters are lowercase English letters.",
        "Constraints\n\n- 1 <= |S| <= 26\n- S contains only a to z.\n\nProblem\n\nDecide whether S_i != S_j for "
        "every pair of indices i < j.\n\nInput\n\nOne line with S.\n\nOutput\n\nYes if the condition holds, No if "
        "some pair breaks it.",
    ),
    answer=lambda p, text: yes_no(len(set(_lines(text)[0])) == len(_lines(text)[0])),
    make_input=_distinct_input,
    edge_inputs=lambda p: ["a\n", "aba\n", "aa\n", LOWER + "\n", "abcdefghijklmnopqrstuvwxya\n"],
    reference="s = input().strip()\nprint('Yes' if len(set(s)) == len(s) else 'No')\n",
    mutants=(
        # only neighbours are compared
        "s = input().strip()\nprint('Yes' if all(a != b for a, b in zip(s, s[1:])) else 'No')\n",
        "s = input().strip()\nprint('Yes' if len(set(s[1:])) == len(s) - 1 else 'No')\n",  # ignores the first letter
    ),
)


# --- str_most_frequent ----------------------------------------------------------------------------------------------


def _frequent_params(rng: random.Random) -> Params:
    if rng.random() < 0.5:
        return {"tie": "first", "pick": "min", "other": "max"}
    return {"tie": "last", "pick": "max", "other": "min"}


def _frequent_input(rng: random.Random, p: Params) -> str:
    if rng.random() < 0.5:  # a tie between two or three letters
        tied = rng.sample("abcdefg", rng.randint(2, 3))
        count = rng.randint(1, 4)
        chars = [c for c in tied for _ in range(count)]
        rest = [c for c in "abcdefg" if c not in tied]
        chars += [rng.choice(rest) for _ in range(rng.randint(0, count - 1))]
        rng.shuffle(chars)
        return "".join(chars) + "\n"
    return _word(rng, rng.randint(1, 20), "abcdefg") + "\n"


def _frequent_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    best = max(s.count(c) for c in s)
    tied = sorted(c for c in set(s) if s.count(c) == best)
    return (tied[0] if p["tie"] == "first" else tied[-1]) + "\n"


MOST_FREQUENT = Family(
    name="str_most_frequent",
    topic="counting",
    statements=(
        "You are given a string S of lowercase English letters. Print the letter that occurs the most times in S. "
        "If several letters share the largest count, print the one among them that comes $tie in alphabetical "
        "order.\n\nInput\n\nS\n\nOutput\n\nPrint one letter.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of "
        "lowercase English letters.",
        "At a vote, each character of the string S is one ballot for the candidate with that letter. Announce the "
        "winner: the letter with the most ballots. When there is a tie for the most ballots, the winner is the "
        "tied letter that comes $tie alphabetically.\n\nInput is given from Standard Input in the following "
        "format:\n\nS\n\nOutput\n\nPrint the winning letter.\n\nConstraints\n\n- S has 1 to 20 characters.\n"
        "- Each character is a lowercase English letter.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S is made of the letters a-z.\n\nProblem\n\nFor each letter c let f(c) "
        "be the number of indices i with S_i = c. Let M be the maximum of f. Among the letters c with f(c) = M, "
        "print the one that is $tie in the order a < b < ... < z.\n\nInput\n\nS\n\nOutput\n\nA single letter.",
    ),
    params=_frequent_params,
    answer=_frequent_answer,
    make_input=_frequent_input,
    edge_inputs=lambda p: ["ba\n", "ab\n", "z\n", "abcabc\n", "zzzzzzzzzzaaaaaaaaaa\n"],
    reference="s = input().strip()\nbest = max(s.count(c) for c in s)\nprint($pick(c for c in s if s.count(c) == best))\n",
    mutants=(
        "s = input().strip()\nprint(max(s, key=s.count))\n",  # a tie goes to the letter seen first in S
        # the opposite tie-break
        "s = input().strip()\nbest = max(s.count(c) for c in s)\nprint($other(c for c in s if s.count(c) == best))\n",
    ),
)


# --- str_count_long_words -------------------------------------------------------------------------------------------


def _long_words_input(rng: random.Random, p: Params) -> str:
    words = [_word(rng, rng.randint(1, 8)) for _ in range(rng.randint(1, 10))]
    if rng.random() < 0.5:
        words[rng.randrange(len(words))] = _word(rng, p["k"])
    return " ".join(words) + "\n"


COUNT_LONG_WORDS = Family(
    name="str_count_long_words",
    topic="counting",
    statements=(
        "You are given a sentence: one or more words of lowercase English letters separated by single spaces. "
        "Count the words that have at least $k letters.\n\nInput\n\nW_1 W_2 ... W_N\n\nOutput\n\nPrint the number "
        "of words whose length is $k or more.\n\nConstraints\n\n- 1 <= N <= 10\n- 1 <= |W_i| <= 8\n- Each W_i "
        "consists of lowercase English letters.",
        "Takahashi's teacher only gives points for long words: a word earns a point if it has $k or more letters. "
        "Takahashi wrote the sentence below. How many points does he get?\n\nInput is given from Standard Input in "
        "the following format (words separated by one space):\n\nW_1 W_2 ... W_N\n\nOutput\n\nPrint the number "
        "of points.\n\nConstraints\n\n- N is between 1 and 10.\n- Every word has 1 to 8 lowercase letters.",
        "Constraints\n\n- 1 <= N <= 10\n- Each word is 1 to 8 characters from a-z.\n\nProblem\n\nA line holds N "
        "words. Print how many of them have length greater than or equal to $k.\n\nInput\n\nA single line with the "
        "N words, separated by spaces.\n\nOutput\n\nOne integer.",
    ),
    params=lambda rng: {"k": rng.randint(2, 5)},
    answer=lambda p, text: f"{sum(len(w) >= p['k'] for w in text.split())}\n",
    make_input=_long_words_input,
    edge_inputs=lambda p: ["a" * p["k"] + "\n", "a\n", "b" * (p["k"] - 1) + " " + "c" * (p["k"] + 1) + "\n",
                           " ".join(["abcdefgh"] * 10) + "\n"],
    reference="words = input().split()\nprint(sum(1 for w in words if len(w) >= $k))\n",
    mutants=(
        "words = input().split()\nprint(sum(1 for w in words if len(w) > $k))\n",  # strictly longer only
        "words = input().split()\nprint(len(words))\n",  # counts every word
    ),
)


# --- str_ends_with --------------------------------------------------------------------------------------------------


def _ends_input(rng: random.Random, p: Params) -> str:
    suf = p["suf"]
    mode = rng.random()
    if mode < 0.5:
        return _word(rng, rng.randint(0, 15 - len(suf))) + suf + "\n"
    if mode < 0.75:
        return suf + _word(rng, rng.randint(1, 15 - len(suf))) + "\n"
    return _word(rng, rng.randint(1, 15)) + "\n"


ENDS_WITH = Family(
    name="str_ends_with",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Determine whether S ends with the string $suf.\n\n"
        "Input\n\nS\n\nOutput\n\nPrint Yes if the last characters of S are exactly $suf, and No otherwise.\n\n"
        "Constraints\n\n- 1 <= |S| <= 15\n- S consists of lowercase English letters.",
        "In a word game, a word scores only if its ending is '$suf' (the word '$suf' itself also scores). Snuke "
        "plays the word S. Does it score?\n\nInput is given from Standard Input in the following format:\n\nS\n\n"
        "Output\n\nPrint Yes if it scores; otherwise print No.\n\nConstraints\n\n- S has length from 1 to 15.\n"
        "- Only lowercase English letters appear in S.",
        "Constraints\n\n- 1 <= |S| <= 15\n- S is a string over a-z.\n\nProblem\n\nLet T = $suf. Print Yes when "
        "|S| >= |T| and the last |T| characters of S form T; print No in every other case.\n\nInput\n\nS, given "
        "on one line.\n\nOutput\n\nYes or No.",
    ),
    params=lambda rng: {"suf": rng.choice(["er", "ing", "ed", "ly", "s", "tion", "est"])},
    answer=lambda p, text: yes_no(_lines(text)[0][-len(p["suf"]):] == p["suf"]),
    make_input=_ends_input,
    edge_inputs=lambda p: [p["suf"] + "\n", "x" + p["suf"] + "\n", p["suf"] + "x\n", "a\n",
                           p["suf"][1:] + "z\n" if len(p["suf"]) > 1 else "zz\n"],
    reference="s = input().strip()\nprint('Yes' if s.endswith('$suf') else 'No')\n",
    mutants=(
        "s = input().strip()\nprint('Yes' if '$suf' in s else 'No')\n",  # anywhere in the word
        "s = input().strip()\nprint('Yes' if s.startswith('$suf') else 'No')\n",  # checks the beginning
    ),
)


# --- str_abbreviate -------------------------------------------------------------------------------------------------


ABBREVIATE = Family(
    name="str_abbreviate",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters with at least three characters. Abbreviate it as "
        "follows: write its first letter, then the number of letters between the first and the last letter (in "
        "decimal), then its last letter. Print the abbreviation.\n\nInput\n\nS\n\nOutput\n\nPrint the "
        "abbreviation of S.\n\nConstraints\n\n- 3 <= |S| <= 20\n- S consists of lowercase English letters.",
        "Long words are tiring to type, so programmers shorten them: 'localization' becomes 'l10n' because ten "
        "letters sit between the 'l' at the start and the 'n' at the end. Shorten the word S in the same way.\n\n"
        "Input is given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the shortened word."
        "\n\nConstraints\n\n- S has between 3 and 20 letters, all lowercase English letters.",
        "Constraints\n\n- 3 <= N <= 20, where N = |S|\n- Each character of S is from a to z.\n\nProblem\n\nPrint "
        "S_1, then the integer N - 2, then S_N, with nothing in between.\n\nInput\n\nOne line containing S.\n\n"
        "Output\n\nThe string described above.",
    ),
    answer=lambda p, text: (lambda s: f"{s[0]}{len(s) - 2}{s[-1]}\n")(_lines(text)[0]),
    make_input=lambda rng, p: _word(rng, rng.randint(3, 20)) + "\n",
    edge_inputs=lambda p: ["abc\n", "aaa\n", "internationalization\n", "xyzzyx\n"],
    reference="s = input().strip()\nprint(s[0] + str(len(s) - 2) + s[-1])\n",
    mutants=(
        "s = input().strip()\nprint(s[0] + str(len(s)) + s[-1])\n",  # counts all letters
        "s = input().strip()\nprint(s[0] + str(len(s) - 1) + s[-1])\n",  # off by one
    ),
)


# --- str_repeat_to_length -------------------------------------------------------------------------------------------


REPEAT_TO_LENGTH = Family(
    name="str_repeat_to_length",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters and an integer N. Write S again and again without "
        "spaces, forming an infinitely long string SSS..., and print its first N characters.\n\nInput\n\nS\nN\n\n"
        "Output\n\nPrint the first N characters.\n\nConstraints\n\n- 1 <= |S| <= 5\n- 1 <= N <= 30\n- S consists "
        "of lowercase English letters.",
        "A wallpaper is made by printing the pattern S side by side over and over. Aoki cuts a strip that is "
        "exactly N letters wide starting at the left edge. What is written on his strip?\n\nInput is given from "
        "Standard Input in the following format:\n\nS\nN\n\nOutput\n\nPrint the N letters on the strip.\n\n"
        "Constraints\n\n- S has 1 to 5 lowercase English letters.\n- N is an integer between 1 and 30.",
        "Constraints\n\n- 1 <= |S| <= 5\n- 1 <= N <= 30\n- S is a string over a-z.\n\nProblem\n\nPrint the string "
        "T of length N with T_i = S_{((i - 1) mod |S|) + 1} for i = 1, 2, ..., N.\n\nInput\n\nThe first line has "
        "S, the second line has N.\n\nOutput\n\nT on one line.",
    ),
    answer=lambda p, text: (lambda s, n: "".join(s[i % len(s)] for i in range(n)) + "\n")(
        _lines(text)[0], int(_lines(text)[1])),
    make_input=lambda rng, p: f"{_word(rng, rng.randint(1, 5))}\n{rng.randint(1, 30)}\n",
    edge_inputs=lambda p: ["a\n1\n", "ab\n3\n", "abc\n1\n", "abcde\n30\n", "xy\n30\n"],
    reference="s = input().strip()\nn = int(input())\nprint((s * n)[:n])\n",
    mutants=(
        "s = input().strip()\nn = int(input())\nprint(s * (n // len(s)))\n",  # drops the incomplete last copy
        "s = input().strip()\nn = int(input())\nprint(s * n)\n",  # N copies instead of N letters
    ),
)


# --- str_rotation ---------------------------------------------------------------------------------------------------


def _rotation_input(rng: random.Random, p: Params) -> str:
    s = _word(rng, rng.randint(1, 10), rng.choice(["ab", "abc"]))
    mode = rng.random()
    if mode < 0.5:
        k = rng.randrange(len(s))
        t = s[k:] + s[:k]
    elif mode < 0.75:
        t = "".join(rng.sample(s, len(s)))
    else:
        t = _word(rng, len(s), "abc")
    return f"{s}\n{t}\n"


def _rotation_answer(p: Params, text: str) -> str:
    s, t = _lines(text)[:2]
    return yes_no(any(s[k:] + s[:k] == t for k in range(len(s))))


ROTATION = Family(
    name="str_rotation",
    topic="strings",
    statements=(
        "You are given strings S and T of the same length. A rotation of S moves some number of characters (zero "
        "or more) from the front of S to its back, keeping their order. Determine whether T can be obtained as a "
        "rotation of S.\n\nInput\n\nS\nT\n\nOutput\n\nPrint Yes if T is a rotation of S, and No otherwise.\n\n"
        "Constraints\n\n- 1 <= |S| = |T| <= 10\n- S and T consist of lowercase English letters.",
        "Beads with letters on them are threaded on a necklace. Reading from the clasp, Takahashi's necklace says "
        "S. Aoki reads T on the same kind of necklace, but he may have started reading at a different bead (always "
        "in the same direction). Could the two necklaces be identical?\n\nInput is given from Standard Input in "
        "the following format:\n\nS\nT\n\nOutput\n\nPrint Yes if they could be the same necklace, otherwise No."
        "\n\nConstraints\n\n- S and T have equal lengths between 1 and 10.\n- They are made of lowercase letters.",
        "Constraints\n\n- 1 <= N <= 10, where N = |S| = |T|\n- All characters are lowercase English letters.\n\n"
        "Problem\n\nIs there an integer k with 0 <= k < N such that S_{k+1} S_{k+2} ... S_N S_1 ... S_k equals T?"
        "\n\nInput\n\nS on the first line, T on the second.\n\nOutput\n\nYes or No.",
    ),
    answer=_rotation_answer,
    make_input=_rotation_input,
    edge_inputs=lambda p: ["ab\nab\n", "abc\nacb\n", "a\na\n", "abc\ncab\n", "aab\nabb\n"],
    reference="s = input().strip()\nt = input().strip()\nprint('Yes' if len(s) == len(t) and t in s + s else 'No')\n",
    mutants=(
        "s = input().strip()\nt = input().strip()\nprint('Yes' if sorted(s) == sorted(t) else 'No')\n",  # anagram
        # forgets the rotation by zero (T equal to S)
        "s = input().strip()\nt = input().strip()\n"
        "print('Yes' if any(s[i:] + s[:i] == t for i in range(1, len(s))) else 'No')\n",
    ),
)


# --- str_run_length -------------------------------------------------------------------------------------------------


def _rle_input(rng: random.Random, p: Params) -> str:
    s = ""
    while not s or (len(s) < 20 and rng.random() < 0.7):
        s += rng.choice("abc") * rng.randint(1, 4)
    return s[:20] + "\n"


def _rle_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    out, i = [], 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out.append(f"{s[i]}{j - i}")
        i = j
    return "".join(out) + "\n"


RUN_LENGTH = Family(
    name="str_run_length",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Split S into maximal blocks of equal consecutive "
        "letters. For each block from left to right, write its letter followed by its length in decimal, and "
        "print the concatenation. For example, aaabccddd becomes a3b1c2d3.\n\nInput\n\nS\n\nOutput\n\nPrint the "
        "encoded string.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of lowercase English letters.",
        "Snuke compresses text by replacing each stretch of the same letter repeated k times with that letter and "
        "the number k; a letter standing alone gets the number 1. For instance zzzyzz is written z3y1z2. Compress "
        "S.\n\nInput is given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the compressed "
        "text.\n\nConstraints\n\n- S has length 1 to 20.\n- Each character of S is a lowercase English letter.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S uses only the letters a-z.\n\nProblem\n\nWrite S as c_1^{k_1} c_2^"
        "{k_2} ... c_m^{k_m}, where c^k is the letter c repeated k times, every k_i >= 1 and c_i != c_{i+1}. Print "
        "c_1 k_1 c_2 k_2 ... c_m k_m with no spaces.\n\nInput\n\nS\n\nOutput\n\nThe run-length encoding of S.",
    ),
    answer=_rle_answer,
    make_input=_rle_input,
    edge_inputs=lambda p: ["a\n", "ab\n", "aba\n", "z" * 20 + "\n", "aaabccddd\n"],
    reference="from itertools import groupby\ns = input().strip()\n"
    "print(''.join(c + str(len(list(g))) for c, g in groupby(s)))\n",
    mutants=(
        # leaves out the count 1
        "from itertools import groupby\ns = input().strip()\nparts = []\nfor c, g in groupby(s):\n"
        "    n = len(list(g))\n    parts.append(c + (str(n) if n > 1 else ''))\nprint(''.join(parts))\n",
        # counts each letter over the whole string, not per block
        "s = input().strip()\nseen = []\nfor c in s:\n    if c not in seen:\n        seen.append(c)\n"
        "print(''.join(c + str(s.count(c)) for c in seen))\n",
        # forgets to write out the last block
        "s = input().strip()\nout = ''\ncur, n = s[0], 0\nfor c in s:\n    if c == cur:\n        n += 1\n"
        "    else:\n        out += cur + str(n)\n        cur, n = c, 1\nprint(out)\n",
    ),
)


# --- str_wildcard_match ---------------------------------------------------------------------------------------------


def _wildcard_input(rng: random.Random, p: Params) -> str:
    s = _word(rng, rng.randint(1, 10), "abc")
    pattern = [c if rng.random() < 0.6 else "?" for c in s]
    if rng.random() < 0.5:
        i = rng.randrange(len(s))
        pattern[i] = rng.choice([c for c in "abc" if c != s[i]])
    return f"{s}\n{''.join(pattern)}\n"


def _wildcard_answer(p: Params, text: str) -> str:
    s, pattern = _lines(text)[:2]
    return yes_no(len(s) == len(pattern) and all(b in ("?", a) for a, b in zip(s, pattern)))


WILDCARD_MATCH = Family(
    name="str_wildcard_match",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters and a pattern P of the same length made of "
        "lowercase English letters and the character ?. The character ? matches any single letter, and a letter "
        "matches only itself. Determine whether S matches P at every position.\n\nInput\n\nS\nP\n\nOutput\n\n"
        "Print Yes if S matches P, and No otherwise.\n\nConstraints\n\n- 1 <= |S| = |P| <= 10\n- S consists of "
        "lowercase English letters.\n- P consists of lowercase English letters and ?.",
        "Part of a label has been smudged: the smudged characters of the label P are shown as ?, the others are "
        "still readable. Could the original label have been the word S?\n\nInput is given from Standard Input in "
        "the following format:\n\nS\nP\n\nOutput\n\nPrint Yes if S agrees with every readable character of P; "
        "otherwise print No.\n\nConstraints\n\n- S and P have the same length, between 1 and 10.\n- S uses "
        "lowercase letters; P uses lowercase letters and the character ?.",
        "Constraints\n\n- 1 <= N <= 10, where N = |S| = |P|\n- S_i is in a-z; P_i is in a-z or is ?\n\nProblem\n\n"
        "Print Yes if for every i (1 <= i <= N) either P_i is ? or P_i = S_i. Otherwise print No.\n\nInput\n\n"
        "Line 1: S\nLine 2: P\n\nOutput\n\nYes or No.",
    ),
    answer=_wildcard_answer,
    make_input=_wildcard_input,
    edge_inputs=lambda p: ["ab\naa\n", "ab\n?a\n", "a\n?\n", "abc\nabc\n", "aaaaaaaaaa\n??????????\n"],
    reference="s = input().strip()\np = input().strip()\n"
    "print('Yes' if all(b == '?' or a == b for a, b in zip(s, p)) else 'No')\n",
    mutants=(
        # skips the last position
        "s = input().strip()\np = input().strip()\n"
        "print('Yes' if all(p[i] == '?' or s[i] == p[i] for i in range(len(s) - 1)) else 'No')\n",
        # stops checking at the first ?
        "s = input().strip()\np = input().strip()\nfor a, b in zip(s, p):\n    if b == '?':\n        print('Yes')\n"
        "        break\n    if a != b:\n        print('No')\n        break\nelse:\n    print('Yes')\n",
        "s = input().strip()\np = input().strip()\nprint('Yes' if s == p else 'No')\n",  # ? is not a wildcard
    ),
)


# --- str_count_overlapping ------------------------------------------------------------------------------------------


def _period(t: str) -> int:
    return next(k for k in range(1, len(t) + 1) if t[k:] == t[:len(t) - k])


def _overlap_input(rng: random.Random, p: Params) -> str:
    t = p["t"]
    pieces = [t, t[:_period(t)], rng.choice(t), rng.choice(t), "c"]
    s = ""
    while len(s) < rng.randint(1, 20):
        s += rng.choice(pieces)
    return s[:20] + "\n"


def _overlap_answer(p: Params, text: str) -> str:
    s, t = _lines(text)[0], p["t"]
    return f"{sum(s.startswith(t, i) for i in range(len(s)))}\n"


COUNT_OVERLAPPING = Family(
    name="str_count_overlapping",
    topic="counting",
    statements=(
        "You are given a string S of lowercase English letters. Count the positions in S where the string $t "
        "starts. Occurrences may overlap: for example, aa occurs twice in aaa.\n\nInput\n\nS\n\nOutput\n\nPrint "
        "the number of occurrences of $t in S.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of lowercase "
        "English letters.",
        "Takahashi slides a little window exactly |$t| letters wide along the word S, one letter at a time, from "
        "the left end to the right end. How many times does the window show exactly '$t'? (Windows may share "
        "letters.)\n\nInput is given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the "
        "number of times.\n\nConstraints\n\n- S has 1 to 20 lowercase English letters.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S is a string of letters a-z.\n\nProblem\n\nLet T = $t and m = |T|. "
        "Print the number of indices i (1 <= i <= |S| - m + 1) such that S_i S_{i+1} ... S_{i+m-1} = T. Print 0 "
        "if there are none.\n\nInput\n\nThe string S.\n\nOutput\n\nOne integer.",
    ),
    params=lambda rng: {"t": rng.choice(["aa", "oo", "aba", "aaa", "ana", "bab", "abab", "eye"])},
    answer=_overlap_answer,
    make_input=_overlap_input,
    edge_inputs=lambda p: [p["t"] + "\n", p["t"][:_period(p["t"])] + p["t"] + "\n", p["t"][0] + "\n",
                           "c" + p["t"] + "c\n", (p["t"][:_period(p["t"])] * 20)[:20] + "\n"],
    reference="s = input().strip()\nt = '$t'\nprint(sum(1 for i in range(len(s) - len(t) + 1) if s[i:i + len(t)] == t))\n",
    mutants=(
        "s = input().strip()\nprint(s.count('$t'))\n",  # str.count does not count overlapping occurrences
        # misses the last starting position
        "s = input().strip()\nt = '$t'\nprint(sum(1 for i in range(len(s) - len(t)) if s[i:i + len(t)] == t))\n",
    ),
)


# --- str_alternating_case -------------------------------------------------------------------------------------------


def _alternating_params(rng: random.Random) -> Params:
    if rng.random() < 0.5:
        return {"first": "uppercase", "second": "lowercase", "m1": "isupper", "m2": "islower"}
    return {"first": "lowercase", "second": "uppercase", "m1": "islower", "m2": "isupper"}


def _alternating_input(rng: random.Random, p: Params) -> str:
    upper_first = (p["first"] == "uppercase") == (rng.random() < 0.75)
    chars = [c.upper() if (i % 2 == 0) == upper_first else c for i, c in enumerate(_word(rng, rng.randint(1, 20)))]
    if rng.random() < 0.4:
        i = rng.randrange(len(chars))
        chars[i] = chars[i].swapcase()
    return "".join(chars) + "\n"


def _alternating_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    upper_first = p["first"] == "uppercase"
    return yes_no(all(c.isupper() == ((i % 2 == 0) == upper_first) for i, c in enumerate(s)))


def _alternating_edges(p: Params) -> list[str]:
    good = "".join("X" if (i % 2 == 0) == (p["first"] == "uppercase") else "x" for i in range(20))
    return ["A\n", "a\n", "AB\n", "ab\n", "aB\n", "Ab\n", good + "\n"]


ALTERNATING_CASE = Family(
    name="str_alternating_case",
    topic="strings",
    statements=(
        "You are given a string S of English letters. Determine whether the characters at odd positions (1st, "
        "3rd, 5th, ...) are all $first letters and the characters at even positions (2nd, 4th, ...) are all "
        "$second letters.\n\nInput\n\nS\n\nOutput\n\nPrint Yes if S satisfies this, and No otherwise.\n\n"
        "Constraints\n\n- 1 <= |S| <= 20\n- S consists of uppercase and lowercase English letters.",
        "Aoki likes 'bumpy' words: their letters switch case at every step, and the very first letter must be "
        "$first, so the second is $second, the third $first again, and so on. Is the word S bumpy?\n\nInput is "
        "given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint Yes if S is bumpy; otherwise "
        "print No.\n\nConstraints\n\n- S has length between 1 and 20.\n- Each character of S is a letter a-z or "
        "A-Z.",
        "Constraints\n\n- 1 <= |S| <= 20\n- Every S_i is an English letter (either case).\n\nProblem\n\nCheck that "
        "S_i is in $first for every odd i and in $second for every even i (positions are numbered from "
        "1).\n\nInput\n\nOne line containing S.\n\nOutput\n\nYes if all conditions hold, No otherwise.",
    ),
    params=_alternating_params,
    answer=_alternating_answer,
    make_input=_alternating_input,
    edge_inputs=_alternating_edges,
    reference="s = input().strip()\n"
    "print('Yes' if all(c.$m1() if i % 2 == 0 else c.$m2() for i, c in enumerate(s)) else 'No')\n",
    mutants=(
        "s = input().strip()\nprint('Yes' if all(c.$m1() for c in s[::2]) else 'No')\n",  # checks odd positions only
        # accepts either case for the first letter
        "s = input().strip()\nprint('Yes' if all(a.isupper() != b.isupper() for a, b in zip(s, s[1:])) else 'No')\n",
    ),
)


# --- str_valid_answer -----------------------------------------------------------------------------------------------


def _valid_answer_params(rng: random.Random) -> Params:
    w1, w2 = rng.choice([("Yes", "No"), ("Takahashi", "Aoki"), ("ABC", "ARC"), ("Red", "Blue"), ("Left", "Right")])
    return {"w1": w1, "w2": w2}


def _valid_answer_input(rng: random.Random, p: Params) -> str:
    w = rng.choice([p["w1"], p["w2"]])
    mode = rng.randrange(8)
    if mode <= 2:  # an accepted answer, often
        s = w
    elif mode == 3:
        s = "".join(c.swapcase() if rng.random() < 0.4 else c for c in w)
    elif mode == 4:
        i = rng.randrange(len(w))
        s = w[i:rng.randint(i + 1, len(w))]
    elif mode == 5:
        s = p["w1"] + p["w2"] if rng.random() < 0.5 else p["w2"] + p["w1"]
    elif mode == 6:
        s = w + rng.choice(LETTERS)
    else:
        s = _word(rng, rng.randint(1, 15), LETTERS)
    return s + "\n"


VALID_ANSWER = Family(
    name="str_valid_answer",
    topic="strings",
    statements=(
        "A judge accepts only two answers: $w1 and $w2, spelled exactly like that (uppercase and lowercase letters "
        "matter). You are given a submitted answer S. Determine whether the judge accepts it.\n\nInput\n\nS\n\n"
        "Output\n\nPrint Yes if S is exactly $w1 or exactly $w2, and No otherwise.\n\nConstraints\n\n"
        "- 1 <= |S| <= 15\n- S consists of uppercase and lowercase English letters.",
        "On a form, the field 'choice' must contain one of the two words $w1 or $w2, with the same capitalization "
        "and nothing added or missing. Snuke filled in the field with S. Is his entry valid?\n\nInput is given from "
        "Standard Input in the following format:\n\nS\n\nOutput\n\nPrint Yes if the entry is valid; otherwise "
        "print No.\n\nConstraints\n\n- S is a string of 1 to 15 English letters (either case).",
        "Constraints\n\n- 1 <= |S| <= 15\n- Each character of S is in a-z or A-Z.\n\nProblem\n\nLet A = $w1 and "
        "B = $w2. Print Yes if S = A or S = B as strings (case-sensitive comparison), and No otherwise.\n\nInput"
        "\n\nS on a single line.\n\nOutput\n\nYes or No.",
    ),
    params=_valid_answer_params,
    answer=lambda p, text: yes_no(_lines(text)[0] in (p["w1"], p["w2"])),
    make_input=_valid_answer_input,
    edge_inputs=lambda p: [p["w1"] + "\n", p["w2"] + "\n", p["w1"].lower() + "\n", p["w1"][1:] + "\n",
                           p["w1"] + p["w2"] + "\n", p["w2"].upper() + "\n"],
    reference="s = input().strip()\nprint('Yes' if s == '$w1' or s == '$w2' else 'No')\n",
    mutants=(
        "s = input().strip().lower()\nprint('Yes' if s in ('$w1'.lower(), '$w2'.lower()) else 'No')\n",  # ignores case
        "s = input().strip()\nprint('Yes' if s in '$w1 $w2' else 'No')\n",  # substring test, not equality
    ),
)


# --- str_middle -----------------------------------------------------------------------------------------------------


def _middle_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    n = len(s)
    return (s[n // 2] if n % 2 else s[n // 2 - 1] + s[n // 2]) + "\n"


MIDDLE = Family(
    name="str_middle",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. If the length of S is odd, print its middle "
        "character. If the length is even, print the two middle characters (in their order in S).\n\nInput\n\nS"
        "\n\nOutput\n\nPrint the middle of S.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of lowercase "
        "English letters.",
        "Takahashi folds a paper strip with the word S written on it exactly in half. If a letter sits on the "
        "fold, he reads that letter; if the fold falls between two letters, he reads the two letters next to the "
        "fold, left one first. What does he read?\n\nInput is given from Standard Input in the following format:"
        "\n\nS\n\nOutput\n\nPrint what he reads.\n\nConstraints\n\n- S has between 1 and 20 letters, all from a "
        "to z.",
        "Constraints\n\n- 1 <= N <= 20, where N = |S|\n- S contains only lowercase letters.\n\nProblem\n\nIf N is "
        "odd, print S_{(N+1)/2}. If N is even, print S_{N/2} followed by S_{N/2+1}. (Indices start at 1.)\n\n"
        "Input\n\nS\n\nOutput\n\nOne or two characters on one line.",
    ),
    answer=_middle_answer,
    make_input=lambda rng, p: _word(rng, rng.randint(1, 20)) + "\n",
    edge_inputs=lambda p: ["a\n", "ab\n", "abc\n", "abcd\n", "abcdefghijklmnopqrst\n"],
    reference="s = input().strip()\nn = len(s)\nprint(s[(n - 1) // 2:n // 2 + 1])\n",
    mutants=(
        "s = input().strip()\nprint(s[len(s) // 2])\n",  # always one character
        # the even case takes the pair one step too far right
        "s = input().strip()\nn = len(s)\nprint(s[n // 2] if n % 2 else s[n // 2:n // 2 + 2])\n",
    ),
)


# --- str_sort_letters -----------------------------------------------------------------------------------------------


def _sort_params(rng: random.Random) -> Params:
    if rng.random() < 0.5:
        return {"order": "alphabetical order (a first)", "rev": "False", "other": "True"}
    return {"order": "reverse alphabetical order (z first)", "rev": "True", "other": "False"}


SORT_LETTERS = Family(
    name="str_sort_letters",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Rearrange its letters in $order and print the "
        "result. Repeated letters are all kept.\n\nInput\n\nS\n\nOutput\n\nPrint the rearranged string.\n\n"
        "Constraints\n\n- 1 <= |S| <= 20\n- S consists of lowercase English letters.",
        "Snuke has a bag of letter tiles spelling S. He lays every tile in a row so that the letters are in "
        "$order. What does the row read? (He uses all the tiles, even duplicates.)\n\nInput is given from Standard "
        "Input in the following format:\n\nS\n\nOutput\n\nPrint the row of tiles as a string.\n\nConstraints\n\n"
        "- S has 1 to 20 characters.\n- Each character of S is a lowercase English letter.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S is over the alphabet a-z.\n\nProblem\n\nPrint the permutation of the "
        "characters of S that is sorted in $order.\n\nInput\n\nOne line holding S.\n\nOutput\n\nA string of the "
        "same length as S.",
    ),
    params=_sort_params,
    answer=lambda p, text: "".join(sorted(_lines(text)[0], reverse=p["rev"] == "True")) + "\n",
    make_input=lambda rng, p: _word(rng, rng.randint(1, 20), "abcdxyz") + "\n",
    edge_inputs=lambda p: ["a\n", "aa\n", "ab\n", "ba\n", "zyxwvutsrqponmlkjihg\n"],
    reference="s = input().strip()\nprint(''.join(sorted(s, reverse=$rev)))\n",
    mutants=(
        "s = input().strip()\nprint(''.join(sorted(set(s), reverse=$rev)))\n",  # drops repeated letters
        "s = input().strip()\nprint(''.join(sorted(s, reverse=$other)))\n",  # the opposite order
    ),
)


# --- str_anagram ----------------------------------------------------------------------------------------------------


def _anagram_input(rng: random.Random, p: Params) -> str:
    s = _word(rng, rng.randint(1, 10), "abc")
    mode = rng.random()
    if mode < 0.5:
        t = "".join(rng.sample(s, len(s)))
    elif mode < 0.75 and len(s) >= 2:  # same letters, different counts
        chars = list(s)
        chars[rng.randrange(len(chars))] = rng.choice(s)
        t = "".join(rng.sample(chars, len(chars)))
    else:
        t = _word(rng, rng.randint(1, 10), "abc")
    return f"{s}\n{t}\n"


ANAGRAM = Family(
    name="str_anagram",
    topic="strings",
    statements=(
        "You are given two strings S and T of lowercase English letters. Determine whether T can be obtained by "
        "rearranging the characters of S (each character used exactly once).\n\nInput\n\nS\nT\n\nOutput\n\nPrint "
        "Yes if S and T are anagrams of each other, and No otherwise.\n\nConstraints\n\n- 1 <= |S|, |T| <= 10\n"
        "- S and T consist of lowercase English letters.",
        "Aoki cut the word S into single letters and shuffled them. Takahashi then picked up all the pieces and "
        "claims to have laid them out as T, without losing or adding any piece. Could he be telling the truth?"
        "\n\nInput is given from Standard Input in the following format:\n\nS\nT\n\nOutput\n\nPrint Yes if it is "
        "possible; otherwise print No.\n\nConstraints\n\n- Each of S and T has 1 to 10 lowercase English letters.",
        "Constraints\n\n- 1 <= |S| <= 10\n- 1 <= |T| <= 10\n- All characters are in a-z.\n\nProblem\n\nPrint Yes "
        "if every letter from a to z occurs the same number of times in S as in T. Otherwise print No.\n\nInput"
        "\n\nLine 1: S\nLine 2: T\n\nOutput\n\nYes or No.",
    ),
    answer=lambda p, text: yes_no(all(_lines(text)[0].count(c) == _lines(text)[1].count(c) for c in LOWER)),
    make_input=_anagram_input,
    edge_inputs=lambda p: ["aab\nab\n", "aab\nabb\n", "a\na\n", "ab\nba\n", "abc\nabd\n"],
    reference="s = input().strip()\nt = input().strip()\nprint('Yes' if sorted(s) == sorted(t) else 'No')\n",
    mutants=(
        "s = input().strip()\nt = input().strip()\nprint('Yes' if set(s) == set(t) else 'No')\n",  # ignores counts
        # same letters and same length is not enough
        "s = input().strip()\nt = input().strip()\nprint('Yes' if set(s) == set(t) and len(s) == len(t) else 'No')\n",
    ),
)


# --- str_interleave -------------------------------------------------------------------------------------------------


def _interleave_answer(p: Params, text: str) -> str:
    s, t = _lines(text)[:2]
    out = []
    for i in range(max(len(s), len(t))):
        out.append(s[i] if i < len(s) else "")
        out.append(t[i] if i < len(t) else "")
    return "".join(out) + "\n"


INTERLEAVE = Family(
    name="str_interleave",
    topic="strings",
    statements=(
        "You are given strings S and T of lowercase English letters. Build a new string by taking the first "
        "character of S, then the first of T, then the second of S, the second of T, and so on. When one string "
        "runs out, append the remaining characters of the other one. Print the new string.\n\nInput\n\nS\nT\n\n"
        "Output\n\nPrint the merged string.\n\nConstraints\n\n- 1 <= |S|, |T| <= 10\n- S and T consist of "
        "lowercase English letters.",
        "Two children take turns saying one letter each: Takahashi reads the word S and Aoki reads the word T, "
        "one letter per turn, and Takahashi goes first. A child who has finished his word stays silent while the "
        "other goes on alone. Write down all the letters in the order they were said.\n\nInput is given from "
        "Standard Input in the following format:\n\nS\nT\n\nOutput\n\nPrint the letters as one string.\n\n"
        "Constraints\n\n- S and T each have between 1 and 10 lowercase English letters.",
        "Constraints\n\n- 1 <= |S| <= 10\n- 1 <= |T| <= 10\n- S and T use only the letters a-z.\n\nProblem\n\nFor "
        "i = 1, 2, ..., max(|S|, |T|), output S_i (if i <= |S|) followed by T_i (if i <= |T|). Print everything "
        "output, concatenated, on one line.\n\nInput\n\nS on the first line, T on the second.\n\nOutput\n\nThe "
        "resulting string.",
    ),
    answer=_interleave_answer,
    make_input=lambda rng, p: f"{_word(rng, rng.randint(1, 10))}\n{_word(rng, rng.randint(1, 10))}\n",
    edge_inputs=lambda p: ["a\nb\n", "ab\ncd\n", "ab\nc\n", "a\nbcd\n", "abcdefghij\nklmnopqrst\n"],
    reference="s = input().strip()\nt = input().strip()\nout = ''\nfor i in range(max(len(s), len(t))):\n"
    "    out += s[i:i + 1] + t[i:i + 1]\nprint(out)\n",
    mutants=(
        # zip stops at the shorter string
        "s = input().strip()\nt = input().strip()\nprint(''.join(a + b for a, b in zip(s, t)))\n",
        "s = input().strip()\nt = input().strip()\nprint(s + t)\n",  # plain concatenation
        # starts with T
        "s = input().strip()\nt = input().strip()\nout = ''\nfor i in range(max(len(s), len(t))):\n"
        "    out += t[i:i + 1] + s[i:i + 1]\nprint(out)\n",
    ),
)


# --- str_count_distinct ---------------------------------------------------------------------------------------------


COUNT_DISTINCT = Family(
    name="str_count_distinct",
    topic="counting",
    statements=(
        "You are given a string S of lowercase English letters. How many different letters appear in S?\n\nInput"
        "\n\nS\n\nOutput\n\nPrint the number of distinct letters in S.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S "
        "consists of lowercase English letters.",
        "Takahashi wants to make the word S out of rubber stamps, one stamp per letter of the alphabet; a stamp "
        "can be used as many times as he likes. How many different stamps does he need?\n\nInput is given from "
        "Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the number of stamps needed.\n\n"
        "Constraints\n\n- S has length 1 to 20.\n- Each character of S is a lowercase English letter.",
        "Constraints\n\n- 1 <= |S| <= 20\n- S is made of the letters a to z.\n\nProblem\n\nPrint the size of the "
        "set {S_1, S_2, ..., S_|S|}.\n\nInput\n\nS on one line.\n\nOutput\n\nOne integer.",
    ),
    answer=lambda p, text: f"{sum(c in _lines(text)[0] for c in LOWER)}\n",
    make_input=lambda rng, p: _word(rng, rng.randint(1, 20), rng.choice(["abc", "abcdef", LOWER])) + "\n",
    edge_inputs=lambda p: ["a\n", "aa\n", "aba\n", "abcdefghijklmnopqrst\n", "z" * 20 + "\n"],
    reference="s = input().strip()\nprint(len(set(s)))\n",
    mutants=(
        "s = input().strip()\nprint(sum(1 for c in set(s) if s.count(c) == 1))\n",  # letters seen exactly once
        # counts the places where the letter changes (runs), not distinct letters
        "s = input().strip()\nprint(1 + sum(1 for a, b in zip(s, s[1:]) if a != b))\n",
    ),
)


# --- str_longest_run ------------------------------------------------------------------------------------------------


def _longest_run_input(rng: random.Random, p: Params) -> str:
    s = ""
    while not s or (len(s) < 20 and rng.random() < 0.7):
        s += rng.choice("ab") * rng.randint(1, 5)
    return s[:20] + "\n"


def _longest_run_answer(p: Params, text: str) -> str:
    s = _lines(text)[0]
    best = max(k for i in range(len(s)) for k in range(1, len(s) - i + 1) if s[i:i + k] == s[i] * k)
    return f"{best}\n"


LONGEST_RUN = Family(
    name="str_longest_run",
    topic="strings",
    statements=(
        "You are given a string S of lowercase English letters. Find the length of the longest block of "
        "consecutive equal letters in S.\n\nInput\n\nS\n\nOutput\n\nPrint the largest number of times one letter "
        "is repeated in a row.\n\nConstraints\n\n- 1 <= |S| <= 20\n- S consists of lowercase English letters.",
        "Every day Aoki writes a if it rained and b if it did not, giving the diary S (it may contain other "
        "letters too, for days he made up codes for). What is the longest streak of consecutive days with the "
        "same letter?\n\nInput is given from Standard Input in the following format:\n\nS\n\nOutput\n\nPrint the "
        "length of the longest streak.\n\nConstraints\n\n- S has 1 to 20 characters, each a lowercase English "
        "letter.",
        "Constraints\n\n- 1 <= N <= 20, where N = |S|\n- S_i is one of a, b, ..., z.\n\nProblem\n\nPrint the "
        "maximum of r - l + 1 over all pairs 1 <= l <= r <= N such that S_l = S_{l+1} = ... = S_r.\n\nInput\n\n"
        "S\n\nOutput\n\nThe maximum, as an integer.",
    ),
    answer=_longest_run_answer,
    make_input=_longest_run_input,
    edge_inputs=lambda p: ["a\n", "aba\n", "abb\n", "a" * 20 + "\n", "aabbb\n"],
    reference="s = input().strip()\nbest = cur = 1\nfor i in range(1, len(s)):\n"
    "    cur = cur + 1 if s[i] == s[i - 1] else 1\n    best = max(best, cur)\nprint(best)\n",
    mutants=(
        "s = input().strip()\nprint(max(s.count(c) for c in s))\n",  # most frequent letter, not longest block
        # updates the best only when a block ends, so the last block is never counted
        "s = input().strip()\nbest = cur = 1\nfor i in range(1, len(s)):\n    if s[i] == s[i - 1]:\n"
        "        cur += 1\n    else:\n        best = max(best, cur)\n        cur = 1\nprint(best)\n",
    ),
)


FAMILIES: tuple[Family, ...] = (
    EQUAL_IGNORE_CASE, DICTIONARY_FIRST, COUNT_VOWELS, COUNT_CASE, PALINDROME, REVERSE_SEGMENT, CONTAINS,
    FIND_INDEX, REPLACE_CHAR, SWAP_CASE, CAESAR_SHIFT, REMOVE_CHAR, ALL_DISTINCT, MOST_FREQUENT, COUNT_LONG_WORDS,
    ENDS_WITH, ABBREVIATE, REPEAT_TO_LENGTH, ROTATION, RUN_LENGTH, WILDCARD_MATCH, COUNT_OVERLAPPING,
    ALTERNATING_CASE, VALID_ANSWER, MIDDLE, SORT_LETTERS, ANAGRAM, INTERLEAVE, COUNT_DISTINCT, LONGEST_RUN,
)
