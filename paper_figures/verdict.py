"""The verdict rule: is a paper's claim observed in our numbers? Computed, never typed (issue: Paper figures I).

`verdict(ours_a, ours_b, relation)` compares two lists of per-seed values. For `relation=">"` (the paper says a > b):
- **holds**          mean(a) − mean(b) > 2 · SE, with SE = sqrt(var(a)/n_a + var(b)/n_b) (sample variances);
- **contradicted**   mean(b) − mean(a) > 2 · SE;
- **not resolved**   otherwise;
- with fewer than 3 values on either side the rule cannot estimate SE well: **indicative** (same direction) or
  **indicative, reversed**, never "holds".
`relation="~"` (the paper says a and b hardly differ, within `tol`, fixed before looking): holds when the whole
interval mean(a) − mean(b) ± 2 · SE lies inside ±tol; contradicted when it lies entirely outside; else not resolved.
"""
from __future__ import annotations

import math

HOLDS, CONTRADICTED, NOT_RESOLVED = "holds", "contradicted", "not resolved"
INDICATIVE, INDICATIVE_REVERSED, NO_DATA = "indicative", "indicative, reversed", "no data"
MIN_SEEDS = 3


def _mean_var(xs):
    m = sum(xs) / len(xs)
    return m, (sum((x - m) ** 2 for x in xs) / (len(xs) - 1) if len(xs) > 1 else float("nan"))


def difference(a, b) -> tuple[float, float]:
    "mean(a) − mean(b) and its standard error over seeds (nan with a single value on a side)."
    (ma, va), (mb, vb) = _mean_var(a), _mean_var(b)
    return ma - mb, math.sqrt(va / len(a) + vb / len(b))


def verdict(a, b, relation: str = ">", tol: float | None = None) -> str:
    "The verdict of the claim `a <relation> b` from per-seed values (see the module's docstring)."
    if relation not in (">", "~"):
        raise ValueError(f"relation={relation!r} is invalid; allowed: '>' (a greater than b) or '~' (within tol)")
    if relation == "~" and (tol is None or tol <= 0):
        raise ValueError(f"tol={tol!r} is invalid; allowed: a positive number, for relation='~'")
    a, b = [float(x) for x in a], [float(x) for x in b]
    if not a or not b:
        return NO_DATA
    d, se = difference(a, b)
    if min(len(a), len(b)) < MIN_SEEDS:
        if relation == "~":
            return INDICATIVE if abs(d) < tol else INDICATIVE_REVERSED
        return INDICATIVE if d > 0 else INDICATIVE_REVERSED
    if relation == ">":
        return HOLDS if d > 2 * se else CONTRADICTED if -d > 2 * se else NOT_RESOLVED
    lo, hi = d - 2 * se, d + 2 * se
    return HOLDS if -tol < lo and hi < tol else CONTRADICTED if lo >= tol or hi <= -tol else NOT_RESOLVED


def above_floor(values, floor) -> bool:
    "Whether an encoder's per-seed values are above the floor's (the raw-pixel row) by the same rule."
    return verdict(values, floor) in (HOLDS, INDICATIVE)


def gated_verdict(a, b, floor_a, floor_b, relation: str = ">", tol: float | None = None) -> tuple[str, str]:
    """(verdict, note) of a comparison between two encoders a and b whose floor rows are floor_a and floor_b (each an
    encoder's values and the pixel row's under the same probe, or None when the claim is not about representations).
    An encoder not above its floor makes the comparison "not resolved" whatever the ordering: at our scale it would
    compare two encoders that the raw pixels match."""
    v = verdict(a, b, relation, tol)
    if v == NO_DATA:
        return v, ""
    if any(f is not None and not f[1] for f in (floor_a, floor_b)):
        return NOT_RESOLVED, f"the raw-pixel row is not run (ordering alone: {v})"
    below = [name for name, f in (("a", floor_a), ("b", floor_b)) if f is not None and not above_floor(*f)]
    if below:
        return NOT_RESOLVED, f"{' and '.join(below)} not above the raw-pixel row (ordering alone: {v})"
    return v, ""
