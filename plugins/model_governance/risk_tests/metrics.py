"""Numeric kernels of the risk tests, on NumPy arrays: own code, proven equal to SciPy / scikit-learn.

The engine computes every metric of a run itself, so a run imports neither SciPy (about 0.5 s) nor
scikit-learn (about 0.3 s): the fixed cost of a short-lived process (the CLI, a Processing job) is NumPy
and PyArrow. Each kernel is checked against the library to 1e-9 (relative for p-values) in
``tests/unit/risk_tests/test_metrics_exact.py``. SciPy is imported, lazily, only for the corners the
engine does not compute itself: the exact KS p-value of two *unequal* samples whose lattice walk is long
(``_EXACT_INSIDE_MAX_STEPS``), the Kolmogorov distribution for n <= 140 or above 10^6 or a statistic
>= 0.5, and a chi-square test with more than ``_OWN_GAMMA_MAX_A * 2`` degrees of freedom.

- ``ks_2samp_sorted``: the two-sample KS test on arrays the engine has sorted anyway (for the quantile
  bins). The statistic comes from one linear merge of the two sorted samples (counts at the end of each
  run of equal values, divided as SciPy divides them). Up to 10,000 rows a side the p-value is SciPy's
  exact one (the same lattice-path recursions, ported); above, SciPy's asymptotic
  ``kstwo.sf(D, round(n1*n2/(n1+n2)))``, ported branch by branch in ``kstwo_sf``.
- ``chi2_homogeneity``: Pearson's statistic from the margins, p-value from the regularised upper
  incomplete gamma function (series or Lentz continued fraction in log space).
- ``js_distance``: Jensen-Shannon distance as SciPy computes it (base 2).
- ``roc_auc``: the Mann-Whitney form, ties counted half, from integer counts: one division at the end.
- ``confusion_counts``: one ``bincount`` instead of scikit-learn's validation-heavy confusion matrix; the
  derived rates use the textbook formulas, and a rate whose denominator is zero is ``None`` (not
  scikit-learn's ``zero_division`` 0.0, which would be a silently wrong number).
- ``regression_metrics``: R2, RMSE, MAE by their definitions (scikit-learn's formulas).
- ``vif``: the diagonal of the inverse correlation matrix, equal to ``1 / (1 - R2_j)`` of regressing each
  feature on the others with an intercept.

PSI/CSI: ``sum((a - e) * ln(a / e))`` over bins, proportions floored at ``PSI_FLOOR`` so an empty bin
counts as a large but finite shift (the usual practice; without it one empty bin makes the index infinite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

# SciPy's ks_2samp(method="auto") is exact up to this many rows a side, asymptotic above.
SCIPY_KS_EXACT_MAX_N = 10_000
PSI_FLOOR = 1e-4

FloatArray = NDArray[np.float64]


def _scipy_stats() -> Any:
    """SciPy's stats module, imported on first need (it costs about 0.5 s to import)."""
    from scipy import stats

    return stats


# -- Kolmogorov-Smirnov --------------------------------------------------------------------------------


def ks_statistic_sorted(a_sorted: FloatArray, b_sorted: FloatArray) -> float:
    """sup |F1 - F2| of two sorted, NaN-free, non-empty samples, as ``scipy.stats.ks_2samp`` computes it.

    SciPy evaluates ``searchsorted(x, pooled, "right") / n`` for both samples at every pooled value, that is
    at the end of each run of equal pooled values. One stable merge (timsort merges two sorted runs in
    linear time) gives the counts there; the extremes are found on exact integers
    (``c1 * n2 - c2 * n1``), and the statistic is then SciPy's ``c1 / n1 - c2 / n2`` at them.
    """
    n1, n2 = a_sorted.shape[0], b_sorted.shape[0]
    total = n1 + n2
    merged = np.concatenate((a_sorted, b_sorted))
    order = np.argsort(merged, kind="stable")
    merged = merged[order]
    last = np.flatnonzero(merged[1:] != merged[:-1])  # the last position of each run of equal values
    del merged
    last = np.append(last, total - 1)
    # a-values up to and including each merged position
    from_a = np.cumsum(order < n1, dtype=np.int32 if total < 2**31 else np.int64)
    del order
    count_a = from_a[last].astype(np.int64)
    del from_a
    # n1 * n2 * (F1 - F2) = c1 * n2 - (i + 1 - c1) * n1 = c1 * (n1 + n2) - (i + 1) * n1: exact in int64,
    # the constant - n1 left out (it moves no extreme).
    scaled = count_a * total
    scaled -= last * n1
    hi, lo = int(np.argmax(scaled)), int(np.argmin(scaled))

    def cdf_diff(i: int) -> float:
        c1 = int(count_a[i])
        return float(np.float64(c1) / n1 - np.float64(int(last[i]) + 1 - c1) / n2)

    max_s = cdf_diff(hi)
    min_s = float(np.clip(-cdf_diff(lo), 0, 1))
    return min_s if min_s > max_s else max_s


def ks_2samp_sorted(a_sorted: FloatArray, b_sorted: FloatArray) -> tuple[float, float]:
    """KS statistic and two-sided p-value of two sorted, NaN-free, non-empty samples, as SciPy gives them
    (``ks_2samp(method="auto")``: exact up to 10,000 rows a side, asymptotic above)."""
    n1, n2 = a_sorted.shape[0], b_sorted.shape[0]
    d = ks_statistic_sorted(a_sorted, b_sorted)
    if max(n1, n2) <= SCIPY_KS_EXACT_MAX_N:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = int(np.round(d * lcm))
        if n1 != n2 and h and _inside_method_cells(n1, n2, g, h) > _EXACT_INSIDE_MAX_CELLS:
            # A long walk of the unequal-size recursion: SciPy's compiled loop is faster than Python.
            result = _scipy_stats().ks_2samp(a_sorted, b_sorted)
            return float(result.statistic), float(result.pvalue)
        d = h * 1.0 / lcm  # SciPy reports the statistic on the lattice in its exact mode
        if h == 0:
            return d, 1.0
        prob = (
            _compute_prob_outside_square(n1, h)
            if n1 == n2
            else _compute_outer_prob_inside_method(n1, n2, g, h)
        )
        if 0 <= prob <= 1:
            return d, float(prob)
        # SciPy falls back to the asymptotic p-value when the exact one is out of range.
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    p = float(np.clip(kstwo_sf(d, int(np.round(en))), 0, 1))
    return d, p


# SciPy's inside method (unequal sizes) walks a band of the m x n lattice column by column; in Python that
# is affordable up to this many cells (about 0.1 s). Longer walks use SciPy's compiled version.
_EXACT_INSIDE_MAX_CELLS = 300_000


def _inside_method_cells(n1: int, n2: int, g: int, h: int) -> int:
    """Cells ``_compute_outer_prob_inside_method`` visits at most: m columns of a band about 2h/(m/g) high."""
    m, n = max(n1, n2), min(n1, n2)
    return m * min(2 * math.ceil(h / (m // g)) + 2, n + 1)


def _compute_prob_outside_square(n: int, h: int) -> float:
    """Pr(D_{n,n} >= h/n): SciPy's ``_compute_prob_outside_square``, the same arithmetic in the same order.

    P = 2 * A0 * (1 - A1*(1 - A2*(1 - ...))), each A_k the ratio of binomials as h simple factors.
    """
    total = 0.0
    k = int(np.floor(n / h))
    while k >= 0:
        p1 = 1.0
        for j in range(h):
            p1 = (n - k * h - j) * p1 / (n + k * h + j + 1)
        total = p1 * (1.0 - total)
        k -= 1
    return 2 * total


def _compute_outer_prob_inside_method(m: int, n: int, g: int, h: int) -> float:
    """1 - Pr(paths stay strictly inside |x/m - y/n| < h/lcm): SciPy's compiled recursion (Hodges' inside
    method in Viehmann's numerically stable form), the same arithmetic in the same order."""
    if m < n:
        m, n = n, m
    mg = m // g
    ng = n // g
    minj, maxj = 0, min(math.ceil(h / mg), n + 1)
    curlen = maxj - minj
    length = min(2 * maxj + 2, n + 1)
    column = [1.0] * length
    for j in range(minj, maxj):
        column[j] = 0.0
    for i in range(1, m + 1):
        lastminj, lastlen = minj, curlen
        minj = max(math.floor((ng * i - h) / mg) + 1, 0)
        minj = min(minj, n)
        maxj = min(math.ceil((ng * i + h) / mg), n + 1)
        if maxj <= minj:
            return 1.0
        val = 0.0 if minj == 0 else 1.0
        offset = minj - lastminj
        for jj in range(maxj - minj):
            j = jj + minj
            val = (column[jj + offset] * i + val * j) / (i + j)
            column[jj] = val
        curlen = maxj - minj
        if lastlen > curlen:
            for jj in range(maxj - minj, maxj - minj + (lastlen - curlen)):
                column[jj] = 1.0
    return column[maxj - minj - 1]


# SciPy's special.smirnov sums the exact series up to this n and switches to an approximation above it.
_SMIRNOV_EXACT_MAX_N = 1_000_000
_SQRT2PI = math.sqrt(2 * math.pi)
_LOG_2PI = math.log(2 * math.pi)
_MIN_LOG = -708
_SQRT3 = math.sqrt(3)
_PI_SQUARED = math.pi**2
_PI_FOUR = math.pi**4
_PI_SIX = math.pi**6
_E128 = 128
_EP128 = np.ldexp(np.longdouble(1), _E128)
_EM128 = np.ldexp(np.longdouble(1), -_E128)
_STIRLING_COEFFS = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
]


def kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: SciPy's ``_kolmogn(n, d, cdf=False)``, ported branch by branch.

    For n > 140 (every asymptotic two-sample test above 10,000 rows a side) the branches are SciPy's
    (Simard & L'Ecuyer): Ruben-Gambino at the ends, ``2 * smirnov(n, d)`` for 2.2 <= n*d^2 < 370 (the
    exact series, vectorised in log space by ``_smirnov_sf``: ~25 ms where SciPy takes ~1 s at n = 10^6),
    0 above, and 1 - CDF below (Durbin's matrix algorithm or the Pelz-Good approximation). SciPy itself is
    called for n <= 140, n > 10^6 with 2.2 <= n*d^2 < 370, and d >= 0.5.
    """
    if d >= 1.0:
        return 0.0
    if d <= 0.0:
        return 1.0
    t = n * d
    if n <= 140:
        return float(_scipy_stats().kstwo.sf(d, n))
    if t <= 1.0:
        if t <= 0.5:
            return 1.0
        prob = float(np.exp(_log_nfactorial_div_n_pow_n(n) + n * np.log(2 * t - 1)))
        return _clip(1.0 - prob)
    if t >= n - 1:
        return _clip(2 * (1.0 - d) ** n)
    if d >= 0.5:
        return float(_scipy_stats().kstwo.sf(d, n))
    nxsquared = t * d
    if nxsquared >= 370.0:
        return 0.0
    if nxsquared >= 2.2:
        if n <= _SMIRNOV_EXACT_MAX_N:
            return _clip(2.0 * _smirnov_sf(n, d))
        return float(_scipy_stats().kstwo.sf(d, n))
    if nxsquared >= 18.0:  # unreachable below 2.2, kept as in SciPy
        cdf = 1.0
    elif n <= 100000 and n * d**1.5 <= 1.4:
        cdf = float(_kolmogn_dmtw_cdf(n, d))
    else:
        cdf = float(_kolmogn_pelz_good_cdf(n, d))
    return _clip(1.0 - _clip(cdf))


def _clip(p: float) -> float:
    return float(min(1.0, max(0.0, p)))


def _log_nfactorial_div_n_pow_n(n: int) -> float:
    # log(n! / n**n) by Stirling, n*log(n) removed up front (SciPy's _log_nfactorial_div_n_pow_n).
    rn = 1.0 / n
    return float(np.log(n) / 2 - n + _LOG_2PI / 2 + rn * np.polyval(_STIRLING_COEFFS, rn / n))


def _kolmogn_dmtw_cdf(n: int, d: float) -> Any:
    """Pr(D_n <= d) by the Durbin matrix algorithm, Marsaglia-Tsang-Wang form (SciPy's _kolmogn_DMTW)."""
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    h = k - nd
    m = 2 * k - 1
    hmat = np.zeros([m, m])
    intm = np.arange(1, m + 1)
    v = 1.0 - h**intm
    w = np.empty(m)
    fac = 1.0
    for j in intm:
        w[j - 1] = fac
        fac /= j
        v[j - 1] *= fac
    tt = max(2 * h - 1.0, 0) ** m - 2 * h**m
    v[-1] = (1.0 + tt) * fac
    for i in range(1, m):
        hmat[i - 1 :, i] = w[: m - i + 1]
    hmat[:, 0] = v
    hmat[-1, :] = np.flip(v, axis=0)
    power = np.eye(np.shape(hmat)[0])
    nn = n
    expnt = 0
    hexpnt = 0
    while nn > 0:
        if nn % 2:
            power = np.matmul(power, hmat)
            expnt += hexpnt
        hmat = np.matmul(hmat, hmat)
        hexpnt *= 2
        if np.abs(hmat[k - 1, k - 1]) > _EP128:
            hmat /= _EP128
            hexpnt += _E128
        nn = nn // 2
    p = power[k - 1, k - 1]
    for i in range(1, n + 1):
        p = i * p / n
        if np.abs(p) < _EM128:
            p *= _EP128
            expnt -= _E128
    if expnt != 0:
        p = np.ldexp(p, expnt)
    return p


def _kolmogn_pelz_good_cdf(n: int, x: float) -> Any:
    """The Pelz-Good approximation to Pr(D_n <= x) (SciPy's _kolmogn_PelzGood, cdf=True)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    z = np.sqrt(n) * x
    zsquared, zthree, zfour, zsix = z**2, z**3, z**4, z**6
    qlog = -_PI_SQUARED / 8 / zsquared
    if qlog < _MIN_LOG:
        return 0.0
    q = np.exp(qlog)
    k1a = -zsquared
    k1b = _PI_SQUARED / 4
    k2a = 6 * zsix + 2 * zfour
    k2b = (2 * zfour - 5 * zsquared) * _PI_SQUARED / 4
    k2c = _PI_FOUR * (1 - 2 * zsquared) / 16
    k3d = _PI_SIX * (5 - 30 * zsquared) / 64
    k3c = _PI_FOUR * (-60 * zsquared + 212 * zfour) / 16
    k3b = _PI_SQUARED * (135 * zfour - 96 * zsix) / 4
    k3a = -30 * zsix - 90 * z**8
    k0to3 = np.zeros(4)
    maxk = int(np.ceil(16 * z / np.pi))
    for k in range(maxk, 0, -1):
        m = 2 * k - 1
        msquared, mfour, msix = m**2, m**4, m**6
        qpower = np.power(q, 8 * k)
        coeffs = np.array(
            [
                1.0,
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix,
            ]
        )
        k0to3 *= qpower
        k0to3 += coeffs
    k0to3 *= q
    k0to3 *= _SQRT2PI
    k0to3 /= np.array([z, 6 * zfour, 72 * z**7, 6480 * z**10])
    q = np.exp(-_PI_SQUARED / 2 / zsquared)
    ks = np.arange(maxk, 0, -1)
    ksquared = ks**2
    sqrt3z = _SQRT3 * z
    kspi = np.pi * ks
    qpwers = q**ksquared
    k2extra = np.sum(ksquared * qpwers)
    k2extra *= _PI_SQUARED * _SQRT2PI / (-36 * zthree)
    k0to3[2] += k2extra
    k3extra = np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwers)
    k3extra *= _PI_SQUARED * _SQRT2PI / (216 * zsix)
    k0to3[3] += k3extra
    powers_of_n = np.power(n * 1.0, np.arange(len(k0to3)) / 2.0)
    k0to3 /= powers_of_n
    return sum(k0to3)


def _smirnov_sf(n: int, d: float) -> float:
    """One-sided Smirnov P(D+_n > d) = sum_{v=0}^{floor(n(1-d))} C(n,v) d (d+v/n)^(v-1) (1-d-v/n)^(n-v).

    The log of each term is built from its predecessor's with the ratio written in log1p form, so every
    step is an O(1) number computed to full precision (the terms themselves span hundreds of decades).
    """
    v_max = int(np.floor(n * (1.0 - d)))
    v = np.arange(0, v_max, dtype=np.float64)
    a = d + v / n
    b = 1.0 - a
    with np.errstate(divide="ignore", invalid="ignore"):
        # log T(v+1) - log T(v); at the last step b can reach 1/n, where the term is ~0 anyway.
        step = (
            np.log((n - v) / (v + 1))
            + v * np.log1p(1.0 / (n * a))
            + np.log(a)
            + (n - v - 1) * np.log1p(-np.minimum(1.0 / (n * b), 1.0))
            - np.log(b)
        )
    log_terms = np.empty(v_max + 1)
    log_terms[0] = n * np.log1p(-d)
    np.cumsum(step, out=log_terms[1:])
    log_terms[1:] += log_terms[0]
    log_terms = log_terms[np.isfinite(log_terms)]
    peak = float(log_terms.max())
    return float(np.exp(peak + np.log(np.sum(np.exp(log_terms - peak)))))


# -- binning and stability -----------------------------------------------------------------------------


def quantile_edges(baseline_sorted: FloatArray, bins: int) -> FloatArray:
    """Interior bin edges at the baseline's quantiles (k / bins), duplicates removed.

    Bins are right-closed: ``(-inf, e1], (e1, e2], ..., (e_last, +inf)``, so every comparator value has a
    bin. A heavily tied or constant baseline has fewer distinct edges, hence fewer bins.
    """
    if baseline_sorted.shape[0] == 0:
        return np.empty(0)
    qs = np.arange(1, bins) / bins
    return np.unique(np.quantile(baseline_sorted, qs))


def bin_counts_sorted(values_sorted: FloatArray, edges: FloatArray) -> NDArray[np.int64]:
    """Counts in the right-closed bins of ``edges`` (len(edges) + 1 bins) of a sorted array."""
    cuts = np.searchsorted(values_sorted, edges, side="right")
    return np.diff(np.concatenate(([0], cuts, [values_sorted.shape[0]]))).astype(np.int64)


def psi(expected_counts: NDArray[np.int64], actual_counts: NDArray[np.int64]) -> float:
    """Population stability index of ``actual`` against ``expected`` (the baseline), same bins."""
    e = np.maximum(expected_counts / expected_counts.sum(), PSI_FLOOR)
    a = np.maximum(actual_counts / actual_counts.sum(), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def chi2_homogeneity(counts_a: NDArray[np.int64], counts_b: NDArray[np.int64]) -> tuple[float, float, int]:
    """Pearson chi-square test that two samples share one categorical distribution (no Yates correction):
    ``scipy.stats.chi2_contingency(np.vstack([a, b]), correction=False)``.

    Categories absent from both samples must be dropped by the caller; a category seen in only one of
    them (an unseen category) is a valid cell.
    """
    observed = np.vstack([counts_a, counts_b]).astype(np.float64)
    if np.any(observed < 0):
        raise ValueError("All values in `observed` must be nonnegative.")
    total = observed.sum()
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / total
    if np.any(expected == 0):
        zeroes = tuple(int(i) for i in np.argwhere(expected == 0)[0])
        raise ValueError(
            f"The internally computed table of expected frequencies has a zero element at {zeroes}."
        )
    dof = expected.size - sum(expected.shape) + expected.ndim - 1
    if dof == 0:
        return 0.0, 1.0, 0
    statistic = float((((observed - expected) ** 2) / expected).sum())
    return statistic, chi2_sf(statistic, dof), int(dof)


# Above this shape parameter (twice as many degrees of freedom) SciPy's gammaincc is called: the log-space
# prefactor loses relative precision as a*log(x) grows.
_OWN_GAMMA_MAX_A = 5_000.0
_GAMMA_EPS = 1e-17
_GAMMA_MAX_ITER = 100_000


def chi2_sf(x: float, dof: int) -> float:
    """``scipy.stats.chi2.sf(x, dof)`` = Q(dof/2, x/2), the regularised upper incomplete gamma function."""
    a, z = dof / 2.0, x / 2.0
    if z <= 0:
        return 1.0
    if a > _OWN_GAMMA_MAX_A or not math.isfinite(z):
        return float(_scipy_stats().chi2.sf(x, dof))
    log_prefactor = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1.0:
        # P(a, z) by its series; Q = 1 - P is not small here (P <= ~0.6 for z < a + 1).
        term = total = 1.0 / a
        ap = a
        for _ in range(_GAMMA_MAX_ITER):
            ap += 1.0
            term *= z / ap
            total += term
            if abs(term) < abs(total) * _GAMMA_EPS:
                break
        return _clip(1.0 - total * math.exp(log_prefactor))
    # Q(a, z) by its continued fraction (modified Lentz), the prefactor applied in log space.
    tiny = 1e-300
    b = z + 1.0 - a
    c = 1.0 / tiny
    dd = 1.0 / b
    frac = dd
    for i in range(1, _GAMMA_MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        dd = an * dd + b
        if abs(dd) < tiny:
            dd = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        dd = 1.0 / dd
        delta = dd * c
        frac *= delta
        if abs(delta - 1.0) < _GAMMA_EPS:
            break
    if frac <= 0:
        return 0.0
    return _clip(math.exp(log_prefactor + math.log(frac)))


def js_distance(counts_a: NDArray[np.int64], counts_b: NDArray[np.int64]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors over the same categories,
    as ``scipy.spatial.distance.jensenshannon(a, b, base=2)`` computes it."""
    p = np.asarray(counts_a, dtype=np.float64)
    q = np.asarray(counts_b, dtype=np.float64)
    p = p / np.sum(p)
    q = q / np.sum(q)
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    js = (np.sum(left) + np.sum(right)) / np.log(2.0)
    return float(np.sqrt(js / 2.0))


@dataclass(frozen=True)
class ConfusionCounts:
    tn: int
    fp: int
    fn: int
    tp: int

    @property
    def total(self) -> int:
        return self.tn + self.fp + self.fn + self.tp

    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.total if self.total else None

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def f1(self) -> float | None:
        # 2TP / (2TP + FP + FN), scikit-learn's form; undefined when there is no positive at all.
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def as_matrix(self) -> list[list[int]]:
        """scikit-learn's layout: rows are the true class (negative, positive), columns the predicted."""
        return [[self.tn, self.fp], [self.fn, self.tp]]


def confusion_counts(y_true: NDArray[np.bool_], y_pred: NDArray[np.bool_]) -> ConfusionCounts:
    cells = np.bincount(y_true.astype(np.int64) * 2 + y_pred.astype(np.int64), minlength=4)
    return ConfusionCounts(tn=int(cells[0]), fp=int(cells[1]), fn=int(cells[2]), tp=int(cells[3]))


def roc_auc(y_true: NDArray[np.bool_], score: FloatArray) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``), both classes present.

    The Mann-Whitney form: over every (positive, negative) pair, 1 when the positive scores higher, 1/2 on
    a tie. Counted exactly in integers from the sorted scores of each class; one division at the end.
    """
    positive = np.sort(score[y_true])
    negative = np.sort(score[~y_true])
    below = np.searchsorted(negative, positive, side="left")
    at_most = np.searchsorted(negative, positive, side="right")
    # 2 * (pairs won) + (pairs tied), over 2 * P * N; Python ints, so no overflow at any size.
    wins_twice = int(below.sum(dtype=np.int64)) + int(at_most.sum(dtype=np.int64))
    return wins_twice / (2 * int(positive.size) * int(negative.size))


def regression_metrics(y_true: FloatArray, y_pred: FloatArray) -> dict[str, float]:
    """R2, RMSE and MAE by scikit-learn's formulas (R2 of a constant label: 1 if exact, else 0)."""
    error = y_true - y_pred
    squared = float(np.sum(error**2))
    spread = float(np.sum((y_true - np.mean(y_true)) ** 2))
    r2 = 1.0 - squared / spread if spread != 0.0 else (1.0 if squared == 0.0 else 0.0)
    return {
        "performance.r2": r2,
        "performance.rmse": float(np.sqrt(squared / error.size)),
        "performance.mae": float(np.mean(np.abs(error))),
    }


def durbin_watson(residuals: FloatArray) -> float:
    """sum((e_t - e_{t-1})^2) / sum(e_t^2), the residuals in row order."""
    return float(np.sum(np.diff(residuals) ** 2) / np.sum(residuals**2))


def vif_from_cross_products(cross: FloatArray) -> FloatArray:
    """Variance inflation factor of each feature from its centred cross-product matrix (no constant feature).

    VIF_j is the j-th diagonal entry of the inverse correlation matrix, which equals ``1 / (1 - R2_j)``
    of regressing feature j on the others with an intercept. Raises ``np.linalg.LinAlgError`` when the
    features are perfectly collinear (the VIF is infinite).
    """
    scale = np.sqrt(np.diag(cross))
    corr = cross / np.outer(scale, scale)
    # A condition number near 1/eps means some feature is (numerically) a linear mix of the others.
    if not np.all(np.isfinite(corr)) or np.linalg.cond(corr) > 1e12:
        raise np.linalg.LinAlgError("the correlation matrix is singular (perfect multicollinearity)")
    return np.diag(np.linalg.inv(corr)).copy()
