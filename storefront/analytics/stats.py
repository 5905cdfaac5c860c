"""Experiment statistics with SciPy: Bayesian (the default, as GrowthBook) and frequentist
results per treatment against the control, Holm's correction, and the sample ratio
mismatch (SRM) check.

Rates (conversion, add to cart) are counts of ``successes`` out of ``n`` visitors; revenue
per visitor is a mean with its variance per visitor (cents, cents²). Every function is pure.

- **Bayesian, rates:** Beta-Binomial with a uniform Beta(1, 1) prior. Chance to beat the
  control is P(p_t > p_c), integrated exactly over the two Beta posteriors. Expected loss
  (of choosing the treatment) and the 95 % credible interval of the relative uplift use
  the posteriors' normal approximation with the delta method, as gbstats does.
- **Bayesian, revenue per visitor:** normal approximation of each mean (flat prior).
- **Frequentist:** two-proportion z-test (pooled standard error) for rates, Welch's t for
  means, each with a 95 % confidence interval of the absolute difference (unpooled);
  ``holm`` adjusts the p-values when there is more than one treatment.
- **SRM:** chi-square goodness of fit of the visitors per variant against the weights; an
  alert below ``SRM_P`` (0.001, GrowthBook's default).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

SRM_P = 0.001
CHANCE_THRESHOLD = 0.95  # GrowthBook's default "chance to win" for a winner
ALPHA = 0.05
_Z95 = stats.norm.ppf(0.975)


@dataclass(frozen=True)
class Bayesian:
    """A treatment against the control: ``chance_to_win`` P(treatment > control), 0..1;
    ``expected_loss`` of choosing the treatment, in the metric's units (a rate, or cents);
    ``uplift`` the relative uplift's posterior mean and ``interval`` its 95 % credible
    interval (fractions: 0.1 = +10 %). Uplift and interval are None when the control's
    mean is 0."""

    chance_to_win: float
    expected_loss: float
    uplift: float | None
    interval: tuple[float, float] | None


@dataclass(frozen=True)
class Frequentist:
    """A treatment against the control: two-sided ``p_value`` (before any correction),
    ``difference`` (treatment − control, absolute) and its 95 % confidence ``interval``."""

    p_value: float
    difference: float
    interval: tuple[float, float]


def _loss(mean: float, sd: float) -> float:
    """E[max(-D, 0)] for D ~ N(mean, sd²): what choosing the treatment costs on average."""
    if sd == 0:
        return max(-mean, 0.0)
    return sd * stats.norm.pdf(mean / sd) - mean * stats.norm.cdf(-mean / sd)


def _relative(mean_c: float, var_c: float, mean_t: float, var_t: float):
    """Relative uplift mean and 95 % interval by the delta method; (None, None) at mean_c 0."""
    if mean_c <= 0:
        return None, None
    uplift = mean_t / mean_c - 1
    sd = math.sqrt(var_t / mean_c**2 + var_c * mean_t**2 / mean_c**4)
    return uplift, (uplift - _Z95 * sd, uplift + _Z95 * sd)


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")


def _beta_moments(a: float, b: float) -> tuple[float, float]:
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))


def bayes_rates(control: tuple[int, int], treatment: tuple[int, int]) -> Bayesian:
    """Beta-Binomial result for (successes, n) of the control and of the treatment.
    Raises ValueError for counts that are not 0 <= successes <= n."""
    for successes, n in (control, treatment):
        _check_counts(successes, n)
    a_c, b_c = 1 + control[0], 1 + control[1] - control[0]
    a_t, b_t = 1 + treatment[0], 1 + treatment[1] - treatment[0]
    mean_c, var_c = _beta_moments(a_c, b_c)
    mean_t, var_t = _beta_moments(a_t, b_t)
    # P(p_t > p_c) = ∫ f_t(x) F_c(x) dx over the treatment posterior's mass (its mean ± 12
    # standard deviations, within 0..1), by Simpson's rule on a fine grid: one vectorised pass.
    sd_t = math.sqrt(var_t)
    grid = np.linspace(max(mean_t - 12 * sd_t, 0.0), min(mean_t + 12 * sd_t, 1.0), 4001)
    inner = grid[1:-1]
    pdf_t = np.zeros_like(grid)
    pdf_t[1:-1] = np.exp((a_t - 1) * np.log(inner) + (b_t - 1) * np.log1p(-inner) - special.betaln(a_t, b_t))
    chance = float(integrate.simpson(pdf_t * special.betainc(a_c, b_c, grid), x=grid))
    uplift, interval = _relative(mean_c, var_c, mean_t, var_t)
    loss = _loss(mean_t - mean_c, math.sqrt(var_c + var_t))
    return Bayesian(min(max(chance, 0.0), 1.0), loss, uplift, interval)


@dataclass(frozen=True)
class Sample:
    """A per-visitor metric of one variant: ``n`` visitors, the ``mean`` and the sample
    ``variance`` per visitor (e.g. revenue per visitor in cents and cents²)."""

    n: int
    mean: float
    variance: float

    @classmethod
    def from_sums(cls, n: int, total: float, total_sq: float) -> Sample:
        """From the sum and the sum of squares of the per-visitor values."""
        if n < 2:
            return cls(n, total / n if n else 0.0, 0.0)
        mean = total / n
        return cls(n, mean, max((total_sq - n * mean * mean) / (n - 1), 0.0))


def bayes_means(control: Sample, treatment: Sample) -> Bayesian:
    """Normal approximation of each variant's mean (flat prior); for revenue per visitor."""
    var_c = control.variance / control.n if control.n else 0.0
    var_t = treatment.variance / treatment.n if treatment.n else 0.0
    diff, sd = treatment.mean - control.mean, math.sqrt(var_c + var_t)
    chance = 0.5 if sd == 0 else float(stats.norm.cdf(diff / sd))
    uplift, interval = _relative(control.mean, var_c, treatment.mean, var_t)
    return Bayesian(chance, _loss(diff, sd), uplift, interval)


def z_test(control: tuple[int, int], treatment: tuple[int, int]) -> Frequentist:
    """Two-proportion z-test, two-sided, pooled standard error; 95 % CI of the difference
    with the unpooled one. Raises ValueError for bad counts or an empty arm."""
    for successes, n in (control, treatment):
        _check_counts(successes, n)
        if n == 0:
            raise ValueError("an arm without visitors")
    (x_c, n_c), (x_t, n_t) = control, treatment
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled = (x_c + x_t) / (n_c + n_t)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    diff = p_t - p_c
    p_value = 1.0 if se_pooled == 0 else float(2 * stats.norm.sf(abs(diff) / se_pooled))
    se = math.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    return Frequentist(p_value, diff, (diff - _Z95 * se, diff + _Z95 * se))


def welch(control: Sample, treatment: Sample) -> Frequentist:
    """Welch's t-test of two means, two-sided, with the 95 % CI of the difference
    (Welch–Satterthwaite degrees of freedom). Raises ValueError with fewer than 2 per arm."""
    if control.n < 2 or treatment.n < 2:
        raise ValueError("Welch's t needs at least 2 visitors per arm")
    v_c, v_t = control.variance / control.n, treatment.variance / treatment.n
    diff, se = treatment.mean - control.mean, math.sqrt(v_c + v_t)
    if se == 0:
        return Frequentist(1.0 if diff == 0 else 0.0, diff, (diff, diff))
    df = (v_c + v_t) ** 2 / (v_c**2 / (control.n - 1) + v_t**2 / (treatment.n - 1))
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    half = stats.t.ppf(0.975, df) * se
    return Frequentist(p_value, diff, (diff - half, diff + half))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given (each at most 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class SampleRatio:
    """The SRM check: chi-square ``p_value`` of the observed visitors against the weights;
    ``mismatch`` True below SRM_P (then no winner may be shown)."""

    p_value: float
    mismatch: bool


def srm(observed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Chi-square goodness of fit of ``observed`` visitors per variant against ``weights``
    (any positive scale, e.g. percentages). With no visitors there is nothing to check
    (p 1.0). Raises ValueError when the lengths differ or a weight is not positive."""
    if len(observed) != len(weights) or any(w <= 0 for w in weights):
        raise ValueError("one positive weight per variant")
    total = sum(observed)
    if total == 0:
        return SampleRatio(1.0, False)
    scale = sum(weights)
    expected = [total * w / scale for w in weights]
    p_value = float(stats.chisquare(list(observed), expected).pvalue)
    return SampleRatio(p_value, p_value < SRM_P)


def power_two_proportions(p_control: float, p_treatment: float, n_per_arm: int, alpha: float = ALPHA) -> float:
    """The closed-form power of the two-sided two-proportion z-test with ``n_per_arm``
    visitors in each arm (normal approximation, unpooled variance)."""
    se = math.sqrt((p_control * (1 - p_control) + p_treatment * (1 - p_treatment)) / n_per_arm)
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(p_treatment - p_control) / se
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))
