"""Experiment statistics (storefront.analytics.stats): known values worked out by hand from
the formulas, an independent Monte Carlo check of the exact Bayesian integral, 2,000
simulated A/A experiments, a simulated 10 % uplift against the closed-form power, Holm,
and the sample ratio mismatch check."""
from __future__ import annotations

import math

import numpy as np
import pytest

from storefront.analytics.stats import (
    Sample,
    bayes_means,
    bayes_rates,
    holm,
    power_two_proportions,
    srm,
    welch,
    z_test,
)


def test_two_proportion_z_test_known_values():
    # 200/1000 vs 250/1000: pooled p = 0.225, SE = sqrt(.225 * .775 * 2/1000) = 0.018675,
    # z = 0.05 / 0.018675 = 2.6774, two-sided p = 0.00742.
    result = z_test((200, 1000), (250, 1000))
    assert result.difference == pytest.approx(0.05)
    assert result.p_value == pytest.approx(0.00742, abs=2e-5)
    se = math.sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000)
    assert result.interval == pytest.approx((0.05 - 1.959964 * se, 0.05 + 1.959964 * se), abs=1e-6)


def test_welch_known_values():
    # Means 10 and 12, variances 4 and 9, n 30 and 40: SE² = 4/30 + 9/40 = 0.358333,
    # t = 2 / 0.598609 = 3.3411, df = 0.358333² / ((4/30)²/29 + (9/40)²/39) = 67.31.
    result = welch(Sample(30, 10.0, 4.0), Sample(40, 12.0, 9.0))
    from scipy import stats

    assert result.p_value == pytest.approx(2 * stats.t.sf(3.3411, 67.31), rel=1e-3)
    assert result.difference == 2.0


def test_sample_from_sums():
    values = [0, 0, 1500, 0, 2500]
    sample = Sample.from_sums(len(values), sum(values), sum(v * v for v in values))
    assert sample.mean == pytest.approx(np.mean(values)) and sample.variance == pytest.approx(np.var(values, ddof=1))


def test_chance_to_win_matches_an_independent_monte_carlo():
    rng = np.random.default_rng(7)
    for control, treatment in (((120, 1000), (140, 1000)), ((30, 400), (30, 400)), ((5, 50), (1, 50))):
        draws_c = rng.beta(1 + control[0], 1 + control[1] - control[0], 400_000)
        draws_t = rng.beta(1 + treatment[0], 1 + treatment[1] - treatment[0], 400_000)
        result = bayes_rates(control, treatment)
        assert result.chance_to_win == pytest.approx(float(np.mean(draws_t > draws_c)), abs=0.005)
        assert result.expected_loss == pytest.approx(float(np.mean(np.maximum(draws_c - draws_t, 0))), abs=0.002)


def test_equal_arms_are_a_coin_toss_and_the_interval_covers_zero():
    result = bayes_rates((100, 1000), (100, 1000))
    assert result.chance_to_win == pytest.approx(0.5, abs=1e-6)
    assert result.interval[0] < 0 < result.interval[1] and result.uplift == pytest.approx(0, abs=1e-9)
    revenue = bayes_means(Sample(1000, 500.0, 1e6), Sample(1000, 500.0, 1e6))
    assert revenue.chance_to_win == 0.5


@pytest.mark.parametrize("bad", [(-1, 10), (11, 10)])
def test_bad_counts_are_refused(bad):
    with pytest.raises(ValueError):
        bayes_rates(bad, (1, 10))
    with pytest.raises(ValueError):
        z_test((1, 10), bad)


def test_holm():
    # p = (0.01, 0.04, 0.03): sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_sample_ratio_mismatch():
    # 5000 vs 4700: chi² = 9.28, p = 0.0023, suspicious but above 0.001: no alert.
    assert not srm([5000, 4700], [50, 50]).mismatch
    # 5000 vs 4600: chi² = 16.67, p = 0.00004: the alert.
    assert srm([5000, 4600], [50, 50]).mismatch
    assert not srm([5000, 4950], [50, 50]).mismatch
    assert not srm([3000, 7000], [30, 70]).mismatch
    assert srm([0, 0], [50, 50]).p_value == 1.0
    with pytest.raises(ValueError):
        srm([1, 2], [100])


def test_a_a_experiments_hold_the_false_positive_rate():
    """2,000 A/A experiments, fixed seed, 2,000 visitors per arm at a 10 % conversion rate."""
    rng = np.random.default_rng(2026)
    n, rate, runs = 2000, 0.10, 2000
    controls = rng.binomial(n, rate, runs)
    treatments = rng.binomial(n, rate, runs)
    false_positives = sum(z_test((int(c), n), (int(t), n)).p_value < 0.05 for c, t in zip(controls, treatments, strict=True))
    bayes_wins = sum(bayes_rates((int(c), n), (int(t), n)).chance_to_win > 0.95 for c, t in zip(controls, treatments, strict=True))
    print(f"\nA/A: frequentist false-positive rate {false_positives / runs:.4f}; "
          f"Bayesian chance to beat control > 0.95 in {bayes_wins / runs:.4f} of runs")
    assert 0.04 <= false_positives / runs <= 0.06


def test_a_ten_percent_uplift_is_found_with_the_predicted_power():
    rng = np.random.default_rng(99)
    p_c, p_t, n, runs = 0.10, 0.11, 14_000, 2000
    predicted = power_two_proportions(p_c, p_t, n)
    controls = rng.binomial(n, p_c, runs)
    treatments = rng.binomial(n, p_t, runs)
    found = sum(z_test((int(c), n), (int(t), n)).p_value < 0.05 for c, t in zip(controls, treatments, strict=True)) / runs
    print(f"\npower: predicted {predicted:.3f}, simulated {found:.3f} (n = {n} per arm, 10 % -> 11 %)")
    # Binomial standard error of the simulated rate at ~0.78 over 2,000 runs is 0.009.
    assert found == pytest.approx(predicted, abs=0.03)
