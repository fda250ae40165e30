"""Unbiased pass@k (Chen et al., 2021): the chance that at least one of k samples drawn from n passes."""

from __future__ import annotations

from typing import Iterable, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """``1 - C(n-c, k) / C(n, k)`` for one problem with ``n`` samples of which ``c`` pass.

    Computed as ``1 - prod_{i=n-c+1}^{n} (1 - k/i)``: no huge binomials, no overflow.
    Raises ValueError when ``k > n`` (the estimator is undefined there).
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}.")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got n={n}.")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def aggregate_pass_at_k(counts: Iterable[tuple[int, int]], ks: Sequence[int]) -> dict[str, float | None]:
    """Mean pass@k over problems given ``(n, c)`` per problem.

    A problem with ``n = 0`` (no sample at all) counts as a failure. pass@k is reported only when
    every problem has ``n >= k`` or ``n == 0``; otherwise its value is None (not computable honestly).
    """
    counts = list(counts)
    out: dict[str, float | None] = {}
    for k in ks:
        if not counts or any(0 < n < k for n, _ in counts):
            out[f"pass@{k}"] = None
            continue
        out[f"pass@{k}"] = sum(pass_at_k(n, c, k) if n else 0.0 for n, c in counts) / len(counts)
    return out
