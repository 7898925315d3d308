"""The verdict rule of paper_figures/ on synthetic numbers: every outcome is reachable and each one is right."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "paper_figures"))
from verdict import (CONTRADICTED, HOLDS, INDICATIVE, INDICATIVE_REVERSED, NO_DATA, NOT_RESOLVED, difference,  # noqa
                     verdict)


def test_clear_win_holds_and_reverse_is_contradicted():
    a, b = [0.90, 0.91, 0.92], [0.80, 0.81, 0.82]
    assert verdict(a, b) == HOLDS
    assert verdict(b, a) == CONTRADICTED


def test_overlap_is_not_resolved():
    assert verdict([0.80, 0.85, 0.90], [0.79, 0.84, 0.89]) == NOT_RESOLVED


def test_margin_is_two_standard_errors():
    # d = 0.1; var of [x-s, x, x+s] is s², b has none: SE = s / sqrt(3), so d > 2 SE  <=>  s < 0.1 * sqrt(3) / 2 = 0.0866
    b = [0.0, 0.0, 0.0]
    assert verdict([0.1 - 0.08, 0.1, 0.1 + 0.08], b) == HOLDS
    assert verdict([0.1 - 0.09, 0.1, 0.1 + 0.09], b) == NOT_RESOLVED
    d, se = difference([0.04, 0.1, 0.16], b)
    assert d == pytest.approx(0.1) and se == pytest.approx(0.06 / 3 ** 0.5)


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
    from verdict import gated_verdict
    a, b, pixels = [0.86, 0.87, 0.86], [0.80, 0.81, 0.80], [0.84, 0.84, 0.84]
    assert gated_verdict(a, b, None, None) == (HOLDS, "")                     # a claim not about representations
    assert gated_verdict(a, b, (a, pixels), (a, pixels)) == (HOLDS, "")
    v, note = gated_verdict(a, b, (a, pixels), (b, pixels))                   # b is below the pixels: no verdict
    assert v == NOT_RESOLVED and note.startswith("b not above") and "holds" in note
    assert gated_verdict([0.9], [0.8], ([0.9], [0.8]), ([0.8], [0.7])) == (INDICATIVE, "")
    assert gated_verdict(a, b, (a, []), (b, []))[0] == NOT_RESOLVED                # the floor is not run yet
    assert gated_verdict([], b, ([], pixels), (b, pixels)) == (NO_DATA, "")
