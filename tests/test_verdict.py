"""The verdict rule of paper_figures/ on synthetic numbers: every outcome is reachable and each one is right."""

import math

import numpy as np
import pytest

from paper_figures.verdict import (CONTRADICTED, HOLDS, INDICATIVE, INDICATIVE_REVERSED, NO_DATA, NOT_RESOLVED, difference,  # noqa
                     verdict)


def test_clear_win_holds_and_reverse_is_contradicted():
    a, b = [0.90, 0.91, 0.92], [0.80, 0.81, 0.82]
    assert verdict(a, b) == HOLDS
    assert verdict(b, a) == CONTRADICTED


def test_overlap_is_not_resolved():
    assert verdict([0.80, 0.85, 0.90], [0.79, 0.84, 0.89]) == NOT_RESOLVED


def test_margin_is_welchs_t_quantile():
    import numpy as np
    from scipy import stats
    from paper_figures.verdict import false_positive_rate, margin, welch_dof
    spread3 = np.array([-1.0, 0.0, 1.0])                   # var 1: SE = sqrt(2/3) * s with s the scale
    s = 0.01
    se3 = s * (2 / 3) ** 0.5
    b = list(s * spread3)
    assert welch_dof(list(0.5 + s * spread3), b) == pytest.approx(4.0)             # equal variances, n = 3 each
    # n = 3 each, d = 2.3 SE: "holds" under a fixed 2 SE margin, not under t(0.975, 4) = 2.776
    assert verdict(list(2.3 * se3 + s * spread3), b) == NOT_RESOLVED
    assert verdict(list(2.9 * se3 + s * spread3), b) == HOLDS
    assert verdict(b, list(2.9 * se3 + s * spread3)) == CONTRADICTED
    # n = 5 each, d = 3 SE: holds (t(0.975, 8) = 2.306)
    spread5 = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])         # var 2.5 s²: SE = s with n = 5 a side
    b5 = list(s * spread5)
    d, se = difference(list(0.03 + s * spread5), b5)
    assert se == pytest.approx(s) and welch_dof(list(0.03 + s * spread5), b5) == pytest.approx(8.0)
    assert verdict(list(3 * s + s * spread5), b5) == HOLDS
    assert verdict(list(2.2 * s + s * spread5), b5) == NOT_RESOLVED
    # one side without spread: ν = n − 1 of the other; the margin is t(0.975, 2) · SE
    a = list(0.1 + s * spread3)
    assert welch_dof(a, [0.0] * 3) == pytest.approx(2.0)
    assert margin(a, [0.0] * 3) == pytest.approx(stats.t.ppf(0.975, 2) * s / 3 ** 0.5)
    # zero variance on both sides: any difference is beyond the margin, none is not resolved
    assert margin([0.8] * 3, [0.7] * 3) == 0.0
    assert verdict([0.8] * 3, [0.7] * 3) == HOLDS and verdict([0.7] * 3, [0.8] * 3) == CONTRADICTED
    assert verdict([0.8] * 3, [0.8] * 3) == NOT_RESOLVED
    assert verdict([0.8] * 3, [0.8] * 3, "~", tol=0.01) == HOLDS
    assert false_positive_rate(3, 3) == 0.025 and false_positive_rate(2, 5) == 0.0


def test_false_positive_rate_is_what_the_rule_gives_under_the_null():
    """Monte Carlo: a '>' claim with no true difference, 3 seeds a side, is called 'holds' at most 2.5% of the time
    (Welch's test is a little conservative at equal variances), where the old fixed 2 SE margin gave ≈ 6%."""
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8_000, 2, 3))
    rate = np.mean([verdict(list(a), list(b)) == HOLDS for a, b in x])
    d = x[:, 0].mean(1) - x[:, 1].mean(1)
    old = np.mean(d > 2 * np.sqrt((x[:, 0].var(1, ddof=1) + x[:, 1].var(1, ddof=1)) / 3))
    assert 0.010 < rate < 0.027 and 0.05 < old < 0.075, (rate, old)


def test_fewer_than_three_seeds_is_at_most_indicative():
    assert verdict([0.99, 0.99], [0.1, 0.1, 0.1]) == INDICATIVE       # a huge gap, but 2 seeds
    assert verdict([0.1], [0.9, 0.9, 0.9]) == INDICATIVE_REVERSED
    assert verdict([], [0.5]) == NO_DATA


def test_within_tolerance():
    same = [0.800, 0.801, 0.799]
    assert verdict(same, [0.800, 0.802, 0.798], "~", tol=0.01) == HOLDS
    assert verdict(same, [0.900, 0.901, 0.899], "~", tol=0.01) == CONTRADICTED
    assert verdict([0.80, 0.85, 0.75], [0.80, 0.85, 0.75], "~", tol=0.01) == NOT_RESOLVED   # too noisy to say
    with pytest.raises(ValueError, match="tol"):
        verdict(same, same, "~")
    with pytest.raises(ValueError, match="relation"):
        verdict(same, same, "<")


def test_an_encoder_below_the_pixel_row_leaves_the_claim_unresolved():
    from paper_figures.verdict import gated_verdict
    a, b, pixels = [0.86, 0.87, 0.86], [0.80, 0.81, 0.80], [0.84, 0.84, 0.84]
    assert gated_verdict(a, b, None, None) == (HOLDS, "")                     # a claim not about representations
    assert gated_verdict(a, b, (a, pixels), (a, pixels)) == (HOLDS, "")
    v, note = gated_verdict(a, b, (a, pixels), (b, pixels))                   # b is below the pixels: no verdict
    assert v == NOT_RESOLVED and note.startswith("b not above") and "holds" in note
    assert gated_verdict([0.9], [0.8], ([0.9], [0.8]), ([0.8], [0.7])) == (INDICATIVE, "")
    assert gated_verdict(a, b, (a, []), (b, []))[0] == NOT_RESOLVED                # the floor is not run yet
    assert gated_verdict([], b, ([], pixels), (b, pixels)) == (NO_DATA, "")


def test_a_significant_reversal_is_reported_whatever_the_pixel_gate():
    from paper_figures.verdict import REVERSED, gated_verdict
    a, b, pixels = [0.80, 0.81, 0.80], [0.86, 0.87, 0.86], [0.88, 0.88, 0.88]    # both below the pixels, b > a clearly
    v, note = gated_verdict(a, b, (a, pixels), (b, pixels))
    assert v == REVERSED and "a and b not above" in note
    v, note = gated_verdict([0.80, 0.86, 0.83], [0.81, 0.84, 0.85], (a, pixels), (b, pixels))   # reversed, not significantly
    assert v == NOT_RESOLVED and "ordering alone" in note
    v, note = gated_verdict(a, a, (a, pixels), (a, pixels), "~", 0.005)         # a closeness claim has no ordering
    assert v == NOT_RESOLVED and "closeness alone" in note


def test_a_deterministic_floor_is_one_value_and_a_constant():
    from paper_figures.verdict import above_floor
    assert above_floor([0.85, 0.86, 0.855], [0.84]) == above_floor([0.85, 0.86, 0.855], [0.84] * 3) is True
    assert above_floor([0.83, 0.86, 0.84], [0.84]) is False                     # one-sample: not significantly above
    assert above_floor([0.9], [0.84]) is True                                   # one seed: indicative, as before


def test_welch_p_and_bh_q_against_hand_worked_values():
    "Issue 54: a = (1, 2, 3), b = (0, 0, 0): d = 2, SE = 1/√3, ν = 2, t = √12, and t_2's tail gives p = 1 − √(12/14)."
    from paper_figures.verdict import bh_q, p_value
    assert math.isclose(p_value([1, 2, 3], [0, 0, 0]), 1 - math.sqrt(12 / 14), rel_tol=1e-9)
    assert p_value([1, 1, 1], [0, 0, 0]) == 0.0 and p_value([1, 1, 1], [1, 1, 1]) == 1.0
    # sorted p 0.01, 0.03, 0.04, 0.20 (m = 4): m·p/rank = 0.04, 0.06, 0.0533, 0.20; the running minimum from the top
    q = bh_q([0.01, 0.04, 0.03, 0.20])
    assert [round(x, 6) for x in q] == [0.04, round(0.16 / 3, 6), round(0.16 / 3, 6), 0.2]
    assert bh_q([]) == [] and bh_q([0.9, 0.8]) == [0.9, 0.9]


def test_p_below_005_exactly_when_the_rule_decides():
    "The p value is the rule's test: '>' claims decided (holds or contradicted) iff p < 0.05; '~' holds iff p < 0.05."
    from paper_figures.verdict import p_value
    rng = np.random.default_rng(0)
    for _ in range(300):
        a, b = rng.normal(rng.normal(0, 1), 1, 3), rng.normal(0, rng.uniform(0.2, 2), int(rng.integers(3, 6)))
        assert (verdict(a, b) != NOT_RESOLVED) == (p_value(a, b) < 0.05)
        tol = float(rng.uniform(0.5, 3))
        assert (verdict(a, b, "~", tol) == HOLDS) == (p_value(a, b, "~", tol) < 0.05)


def test_the_fdr_family_is_distinct_statistical_claims_with_three_seeds_a_side():
    from paper_figures.verdict import in_family
    row = dict(p=0.01, seeds=[3, 3], rule_seeds=[3, 3])
    assert in_family(row)
    assert not in_family({**row, "repeats": "other"}) and not in_family({**row, "check": True})
    assert not in_family({**row, "rule_seeds": [2, 3]}) and not in_family({**row, "p": None})
    assert not in_family({"rule": "exact", "verdict": "holds"})
