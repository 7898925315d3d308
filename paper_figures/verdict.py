"""The verdict rule: is a paper's claim observed in our numbers? Computed, never typed.

`verdict(ours_a, ours_b, relation)` compares two lists of per-seed values by Welch's t test. With d = mean(a) − mean(b),
SE = sqrt(var(a)/n_a + var(b)/n_b) (sample variances) and the Welch–Satterthwaite degrees of freedom ν, the margin is
t(0.975, ν) · SE. For `relation=">"` (the paper says a > b):
- **holds**          d > margin (a one-sided test at 2.5%);
- **contradicted**   −d > margin;
- **not resolved**   otherwise;
- with fewer than 3 values on either side the rule cannot estimate SE well: **indicative** (same direction) or
  **indicative, reversed**, never "holds".
With no spread on either side (SE = 0) any non-zero difference is beyond the margin.
`relation="~"` (the paper says a and b hardly differ, within `tol`, fixed before looking): holds when the whole
interval d ± margin lies inside ±tol; contradicted when it lies entirely outside; else not resolved.
**False-discovery control beside the rule** (the rule itself is unchanged): every statistical claim also gets a p
value, `p_value(a, b, relation, tol)` — for "a > b" the two-sided Welch p of d = 0 (p < 0.05 exactly when the rule
says holds or contradicted); for "a ~ b" the p of the two one-sided tests that d lies inside ±tol, doubled (p < 0.05
exactly when the rule says holds) — and a Benjamini–Hochberg q, `bh_q(ps)`, over one family: **the distinct claims of
the paper (not repeats, not checks of our recipes) that compare per-seed values with at least MIN_SEEDS a side**
(`in_family`). Exact claims (Table 1's FLOPs ratio) and claims below MIN_SEEDS are outside it. A verdict "survives
FDR" when its q ≤ FDR_Q: then at most 5% of the verdicts so marked are expected to be false discoveries.
A fixed margin of 2 · SE, the rule's first form, is a t statistic of 2 on 2–4 degrees of freedom with 3 seeds a side:
a one-sided false-positive rate of 5–9% per claim instead of 2.5%. `false_positive_rate` gives a claim's rate.
"""
from __future__ import annotations

import math
import statistics

from scipy import stats

HOLDS, CONTRADICTED, NOT_RESOLVED = "holds", "contradicted", "not resolved"
INDICATIVE, INDICATIVE_REVERSED, NO_DATA = "indicative", "indicative, reversed", "no data"
# a comparison significantly the other way round between encoders that the raw pixels match: reported as such, never
# hidden among the "not resolved" by the pixel gate (the gate says the sides are not useful, not that they are equal)
REVERSED = "reversed at our scale"
MIN_SEEDS = 3
ALPHA = 0.025            # one-sided: "holds" when the two-sided 95% interval of d lies above 0
FDR_Q = 0.05             # Benjamini–Hochberg level over the family (`in_family`)


def _mean_var(xs):
    # exact (rational) arithmetic: identical values have a variance of exactly 0, not of rounding
    return statistics.mean(xs), (statistics.variance(xs) if len(xs) > 1 else float("nan"))


def difference(a, b) -> tuple[float, float]:
    "mean(a) − mean(b) and its standard error over seeds (nan with a single value on a side)."
    (ma, va), (mb, vb) = _mean_var(a), _mean_var(b)
    return ma - mb, math.sqrt(va / len(a) + vb / len(b))


def welch_dof(a, b) -> float:
    "The Welch–Satterthwaite degrees of freedom of mean(a) − mean(b) (inf when neither side varies)."
    (_, va), (_, vb) = _mean_var(a), _mean_var(b)
    qa, qb = va / len(a), vb / len(b)
    if qa + qb == 0:
        return math.inf
    return (qa + qb) ** 2 / (qa ** 2 / (len(a) - 1) + qb ** 2 / (len(b) - 1))


def margin(a, b) -> float:
    "t(1 − ALPHA, ν) · SE: how far d must be from 0 (or from ±tol) to count."
    _, se = difference(a, b)
    return 0.0 if se == 0 else float(stats.t.ppf(1 - ALPHA, welch_dof(a, b))) * se


def false_positive_rate(n_a: int, n_b: int) -> float:
    "The chance that the rule says 'holds' for a '>' claim whose true difference is 0 (indicative verdicts: 0)."
    return ALPHA if min(n_a, n_b) >= MIN_SEEDS else 0.0


def verdict(a, b, relation: str = ">", tol: float | None = None) -> str:
    "The verdict of the claim `a <relation> b` from per-seed values (see the module's docstring)."
    if relation not in (">", "~"):
        raise ValueError(f"relation={relation!r} is invalid; allowed: '>' (a greater than b) or '~' (within tol)")
    if relation == "~" and (tol is None or tol <= 0):
        raise ValueError(f"tol={tol!r} is invalid; allowed: a positive number, for relation='~'")
    a, b = [float(x) for x in a], [float(x) for x in b]
    if not a or not b:
        return NO_DATA
    d, _ = difference(a, b)
    if min(len(a), len(b)) < MIN_SEEDS:
        if relation == "~":
            return INDICATIVE if abs(d) < tol else INDICATIVE_REVERSED
        return INDICATIVE if d > 0 else INDICATIVE_REVERSED
    m = margin(a, b)
    if relation == ">":
        return HOLDS if d > m else CONTRADICTED if -d > m else NOT_RESOLVED
    lo, hi = d - m, d + m
    return HOLDS if -tol < lo and hi < tol else CONTRADICTED if lo >= tol or hi <= -tol else NOT_RESOLVED


def above_floor(values, floor) -> bool:
    """Whether an encoder's per-seed values are above the floor's (the raw-pixel row) by the same rule. A floor of one
    value is a deterministic measurement (`plan.values`): a constant, so the rule becomes a one-sample t test."""
    return verdict(values, floor * len(values) if len(floor) == 1 else floor) in (HOLDS, INDICATIVE)


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
    if below and v == CONTRADICTED:
        return REVERSED, f"significant the other way; {' and '.join(below)} not above the raw-pixel row"
    if below:
        return NOT_RESOLVED, f"{' and '.join(below)} not above the raw-pixel row (" + (
            f"ordering alone: {v})" if relation == ">" else f"closeness alone: {v})")
    return v, ""


def p_value(a, b, relation: str = ">", tol: float | None = None) -> float:
    """The claim's p value (see the module's docstring): two-sided Welch for '>', doubled TOST for '~'. With no spread
    on either side it is 0 where the rule would decide and 1 where it would not."""
    a, b = [float(x) for x in a], [float(x) for x in b]
    d, se = difference(a, b)
    if relation == ">":
        if se == 0:
            return 0.0 if d != 0 else 1.0
        return float(2 * stats.t.sf(abs(d) / se, welch_dof(a, b)))
    if se == 0:
        return 0.0 if abs(d) < tol else 1.0
    nu = welch_dof(a, b)
    return min(1.0, 2 * max(float(stats.t.sf((d + tol) / se, nu)), float(stats.t.sf((tol - d) / se, nu))))


def bh_q(ps) -> list[float]:
    "Benjamini–Hochberg adjusted p values (q) of `ps`, in their order: q_(i) = min over j ≥ i of m·p_(j)/j, at most 1."
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    q, running = [0.0] * m, 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * m / rank)
        q[i] = running
    return q


def in_family(row: dict) -> bool:
    "Whether a verdict row is one of the FDR family: a distinct statistical claim of the paper with ≥ MIN_SEEDS a side."
    return ("rule" not in row and not row.get("check") and not row.get("repeats") and row.get("p") is not None
            and min(row.get("rule_seeds", row.get("seeds", [0]))) >= MIN_SEEDS)
