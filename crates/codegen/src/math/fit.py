#!/usr/bin/env python3
"""Minimax polynomial coefficients for gradjit's transcendental emitters (crates/codegen/src/math).

Run: python3 crates/codegen/src/math/fit.py [name ...]   (needs mpmath)

Each fit minimises the maximum error of `sum_k c_k * basis_k(x) - target(x)` over an interval with Lawson's
algorithm (iteratively reweighted least squares), in 60-digit arithmetic, then rounds the coefficients to the
target precision and reports the achieved error measured on a dense grid with the rounded coefficients.
Relative fits put the weight 1/|f(x)| into the basis and target, so the printed error is relative to f.
"""
import struct
import sys

from mpmath import mp, mpf, matrix, lu_solve, cos, sin, tanh, atan, erf, erfc, exp, sqrt, pi, log

mp.dps = 60


def to_f32(v):
    return struct.unpack("f", struct.pack("f", float(v)))[0]


def lawson(basis, target, lo, hi, npts=300, iters=80):
    # Chebyshev-distributed points plus the end points.
    xs = [(lo + hi) / 2 + (hi - lo) / 2 * cos(pi * (2 * i + 1) / (2 * npts)) for i in range(npts)] + [lo, hi]
    rows = [[f(x) for f in basis] for x in xs]
    ts = [target(x) for x in xs]
    n = len(basis)
    w = [mpf(1)] * len(xs)
    c = None
    for _ in range(iters):
        a = matrix(n, n)
        bvec = matrix(n, 1)
        for row, t, wi in zip(rows, ts, w):
            for i in range(n):
                bvec[i] += wi * row[i] * t
                for j in range(n):
                    a[i, j] += wi * row[i] * row[j]
        c = lu_solve(a, bvec)
        errs = [abs(sum(c[i] * row[i] for i in range(n)) - t) for row, t in zip(rows, ts)]
        total = sum(wi * e for wi, e in zip(w, errs))
        w = [wi * e / total for wi, e in zip(w, errs)]
    return [c[i] for i in range(n)]


def check(basis, target, coeffs, lo, hi, npts=4000):
    worst = mpf(0)
    for i in range(npts + 1):
        x = lo + (hi - lo) * i / npts
        e = abs(sum(c * f(x) for c, f in zip(coeffs, basis)) - target(x))
        worst = max(worst, e)
    return worst


def fit(name, basis, target, lo, hi):
    c = lawson(basis, target, mpf(lo), mpf(hi))
    for prec, rnd in (("f32", to_f32), ("f64", float)):
        if not name.endswith(prec):
            continue
        rc = [rnd(v) for v in c]
        err = check(basis, target, [mpf(v) for v in rc], mpf(lo), mpf(hi))
        print(f"// {name}: {len(c)} terms on [{float(lo):.6g}, {float(hi):.6g}], max error {float(err):.3g}")
        print("[" + ", ".join(repr(v) for v in rc) + "]")


def odd_relative(f, nterms, first_power=3):
    """f(x) ~ x + x^p (c0 + c1 x^2 + ...) with p = first_power, relative error:
    basis x^(p+2k)/f(x), target (f(x) - x)/f(x)."""
    basis = [(lambda k: lambda x: x ** (first_power + 2 * k) / f(x))(k) for k in range(nterms)]
    return basis, lambda x: (f(x) - x) / f(x)


FITS = {}


def register(name, make, lo, hi):
    FITS[name] = (make, lo, hi)


# log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f): R(z) = z (c0 + c1 z + ...) fits 2 atanh(s) - 2 s.
def log_r(nterms):
    def g(z):  # (2 atanh(s) - 2s) / s as a function of z = s^2, relative to 2 atanh(s) ~ 2 s
        s = sqrt(z)
        return (2 * (atanh_(s) - s)) / s

    basis = [(lambda k: lambda z: z ** (k + 1))(k) for k in range(nterms)]
    return basis, g


def atanh_(s):
    return log((1 + s) / (1 - s)) / 2


S_MAX = (sqrt(2) - 1) / (sqrt(2) + 1)
register("log_f32", lambda: log_r(4), 1e-30, S_MAX**2)
register("log_f64", lambda: log_r(7), 1e-60, S_MAX**2)
register("sin_f32", lambda: odd_relative(sin, 4), 1e-20, pi / 4 * 1.01)
register("sin_f64", lambda: odd_relative(sin, 7), 1e-40, pi / 4 * 1.01)
# cos(r) = 1 - r^2/2 + r^4 (c0 + c1 r^2 + ...): absolute error fit of (cos r - 1 + r^2/2) / r^4.
register(
    "cos_f32",
    lambda: ([(lambda k: lambda x: x ** (4 + 2 * k))(k) for k in range(4)], lambda x: cos(x) - 1 + x * x / 2),
    1e-20,
    pi / 4 * 1.01,
)
register(
    "cos_f64",
    lambda: ([(lambda k: lambda x: x ** (4 + 2 * k))(k) for k in range(6)], lambda x: cos(x) - 1 + x * x / 2),
    1e-40,
    pi / 4 * 1.01,
)
register("tanh_f32", lambda: odd_relative(tanh, 5), 1e-20, 0.625)
register("tanh_f64", lambda: odd_relative(tanh, 14), 1e-40, 0.625)


def exp_r(nterms):
    """exp(r) ~ c0 + c1 r + ..., relative error on |r| <= ln2/2 (exp.rs; tanh evaluates it at 2r with the
    coefficients scaled by 2^k). The f64 table was fitted in that scaled variable, so its last bits may differ."""
    return [(lambda k: lambda r: r**k / exp(r))(k) for k in range(nterms)], lambda r: 1


register("exp_f32", lambda: exp_r(7), -log(2) / 2, log(2) / 2)
register("exp_f64", lambda: exp_r(12), -log(2) / 2, log(2) / 2)
TAN_PI_8 = sqrt(2) - 1
register("atan_f32", lambda: odd_relative(atan, 6), 1e-20, TAN_PI_8)
register("atan_f64", lambda: odd_relative(atan, 12), 1e-40, TAN_PI_8)


def erf_small(nterms):
    """erf(x) = x + x (c0 + c1 x^2 + ...), relative error: c0 = 2/sqrt(pi) - 1 keeps the rounding of the
    leading coefficient small."""
    return odd_relative(erf, nterms, first_power=1)


register("erf_small_f32", lambda: erf_small(8), 1e-20, 1.0)
register("erf_small_f64", lambda: erf_small(14), 1e-40, 1.0)


def erfcx_piece(nterms, lo, hi):
    """erfc(x) exp(x^2) on [lo, hi] as a polynomial in t = (x - c) / h, relative error (fitted in t)."""
    c, h = (mpf(lo) + hi) / 2, (mpf(hi) - lo) / 2

    def g(t):
        x = c + h * t
        return erfc(x) * exp(x * x)

    return [(lambda k: lambda t: t**k / g(t))(k) for k in range(nterms)], lambda t: 1


ERF_PIECES = [(1.0, 2.0), (2.0, 3.5), (3.5, 6.0)]
for i, (lo, hi) in enumerate(ERF_PIECES):
    register(f"erfcx{i}_f32", (lambda lo, hi: lambda: erfcx_piece(9, lo, hi))(lo, hi), -1.0, 1.0)
    register(f"erfcx{i}_f64", (lambda lo, hi: lambda: erfcx_piece(18, lo, hi))(lo, hi), -1.0, 1.0)

if __name__ == "__main__":
    for name in sys.argv[1:] or FITS:
        make, lo, hi = FITS[name]
        basis, target = make()
        fit(name, basis, target, lo, hi)
