//! The error function in double precision (Rust's `std` has none).
//!
//! This is the method and the coefficients of Sun's fdlibm `s_erf.c` (also in FreeBSD's msun
//! and musl), accurate to within one ulp:
//!
//! > Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//! > Developed at SunPro, a Sun Microsystems, Inc. business. Permission to use, copy, modify,
//! > and distribute this software is freely granted, provided that this notice is preserved.
//!
//! The range of `|x|` is split in four:
//! 1. `[0, 0.84375)`: `erf(x) = x + x·P(x²)/Q(x²)`.
//! 2. `[0.84375, 1.25)`: `erf(x) = c + P(s)/Q(s)` with `s = |x| - 1` and `c = erf(1)` rounded to 24 bits.
//! 3. `[1.25, 6)`: `erf(x) = 1 - erfc(x)`, `erfc(x) = exp(-x² - 0.5625 + R(1/x²)/S(1/x²)) / x`,
//!    with one `(R, S)` pair below `1/0.35` and another above.
//! 4. `[6, ∞)`: `erf(x) = 1` to double precision.
//!
//! and `erf(-x) = -erf(x)`.

// The coefficients are quoted digit for digit from fdlibm, so that they can be checked against it.
#![allow(clippy::excessive_precision)]

/// `erf(1)` rounded to single precision: the constant term of range 2.
const ERX: f64 = 8.45062911510467529297e-01;
/// `2/sqrt(pi) - 1`, for tiny `x` where `erf(x) = x + x·EFX`.
const EFX: f64 = 1.28379167095512586316e-01;
/// 2^-28: below it the `x²` terms of range 1 vanish in double precision.
const TINY: f64 = 3.725290298461914e-9;

// Range 1: erf(x) = x + x*PP(x^2)/QQ(x^2).
const PP: [f64; 5] = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
];
const QQ: [f64; 6] = [
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
];

// Range 2: erf(1+s) = ERX + PA(s)/QA(s).
const PA: [f64; 7] = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
];
const QA: [f64; 7] = [
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
];

// Range 3, |x| < 1/0.35: erfc(x) = exp(-x^2 - 0.5625 + RA(z)/SA(z)) / x with z = 1/x^2.
const RA: [f64; 8] = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e+01,
    -6.23753324503260060396e+01,
    -1.62396669462573470355e+02,
    -1.84605092906711035994e+02,
    -8.12874355063065934246e+01,
    -9.81432934416914548592e+00,
];
const SA: [f64; 9] = [
    1.0,
    1.96512716674392571292e+01,
    1.37657754143519042600e+02,
    4.34565877475229228821e+02,
    6.45387271733267880336e+02,
    4.29008140027567833386e+02,
    1.08635005541779435134e+02,
    6.57024977031928170135e+00,
    -6.04244152148580987438e-02,
];

// Range 3, |x| >= 1/0.35: the same form with RB/SB.
const RB: [f64; 7] = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e+01,
    -1.60636384855821916062e+02,
    -6.37566443368389627722e+02,
    -1.02509513161107724954e+03,
    -4.83519191608651397019e+02,
];
const SB: [f64; 8] = [
    1.0,
    3.03380607434824582924e+01,
    3.25792512996573918826e+02,
    1.53672958608443695994e+03,
    3.19985821950859553908e+03,
    2.55305040643316442583e+03,
    4.74528541206955367215e+02,
    -2.24409524465858183362e+01,
];

/// `c[0] + c[1]·x + c[2]·x² + …` by Horner's rule.
fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// The error function `erf(x) = 2/sqrt(pi) ∫_0^x exp(-t²) dt`.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let y = if a < 0.84375 {
        if a < TINY {
            // erf(x) = 2x/sqrt(pi) to double precision (and keeps the sign of zero).
            return x + x * EFX;
        }
        let z = x * x;
        return x + x * (poly(&PP, z) / poly(&QQ, z));
    } else if a < 1.25 {
        let s = a - 1.0;
        ERX + poly(&PA, s) / poly(&QA, s)
    } else if a < 6.0 {
        1.0 - erfc_tail(a)
    } else {
        1.0
    };
    y.copysign(x)
}

/// `erfc(a)` for `1.25 <= a < 6`.
fn erfc_tail(a: f64) -> f64 {
    let z = 1.0 / (a * a);
    let r_over_s = if a < 1.0 / 0.35 { poly(&RA, z) / poly(&SA, z) } else { poly(&RB, z) / poly(&SB, z) };
    // exp(-a²) split as exp(-h²)·exp((h-a)(h+a)) with h = a truncated to its high 32 bits, so
    // h² is exact and the large exponent loses no precision.
    let h = f64::from_bits(a.to_bits() & 0xffff_ffff_0000_0000);
    (-h * h - 0.5625).exp() * ((h - a) * (h + a) + r_over_s).exp() / a
}
