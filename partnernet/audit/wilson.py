"""The Wilson score interval's lower bound: how high a rate surely is, given how few trials it rests on.

Plain arithmetic, no Flask and no database. A partner with 2 of 3 offers pushed back has a rate of
67% but a 95% lower bound of only 21%; one with 40 of 100 has 40% and 31%. The audit flags on the
bound, so that a small sample is not mistaken for a pattern.
"""
from math import sqrt

Z_95 = 1.96  # two-sided 95%


def wilson_lower_bound(successes: int, trials: int, z: float = Z_95) -> float | None:
    """The lower end of the Wilson score interval for successes / trials; None without trials.

    Successes are clamped to [0, trials]: counted by event time, a period can hold the return of
    a ticket offered in the period before, and a bound must stay a share.
    """
    if trials <= 0:
        return None
    successes = min(max(successes, 0), trials)
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (not 0: "no data" is not "none")."""
    return part / whole if whole else None


def wilson_upper_bound(successes: int, trials: int, z: float = Z_95) -> float | None:
    """The upper end of the Wilson score interval: how high a rate can plausibly be. The interval
    is symmetric in successes and failures, so it is one minus the failures' lower bound."""
    if trials <= 0:
        return None
    return 1.0 - wilson_lower_bound(trials - min(max(successes, 0), trials), trials, z)
