//! `erf`.
//!
//! * `|x| < 1`: `erf x = x + x Q(x^2)` with an odd minimax polynomial (`fit.py erf_small_*`, 8 / 14 terms;
//!   writing the leading term as `x + x (2/sqrt(pi) - 1)` keeps the rounding of that coefficient small).
//! * `1 <= |x| < 6`: `erf x = 1 - exp(-x^2) erfcx(x)`, where the scaled complementary error function
//!   `erfcx(x) = exp(x^2) erfc(x)` is smooth and slowly varying (0.43 .. 0.09). It is fitted on three pieces,
//!   `[1, 2]`, `[2, 3.5]`, `[3.5, 6]`, each in its own variable `t = (x - c) / h` in `[-1, 1]` (`fit.py erfcx*`,
//!   9 / 18 terms); the coefficients are chosen per lane with `bitselect`. `x^2` is split exactly with `fma`
//!   so `exp(-x^2)` loses nothing to its rounding. `erfc <= 0.16` here, so its errors shrink in `1 - erfc`.
//! * `|x| >= 6`: the same formula with `x` clamped to 6 gives exactly `1` (erfc(6) = 2e-17), and the sign of
//!   `x` is copied back, so `erf(+-inf) = +-1` and `erf(-0) = -0`.

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

use super::builder::{MathBuilder, Precision};
use super::exp::exp;

const SMALL_F32: [f64; 8] = [
    0.12837916612625122,
    -0.37612637877464294,
    0.11283782124519348,
    -0.0268654003739357,
    0.0052209459245204926,
    -0.0008482832345180213,
    0.00011256965080974624,
    -9.641549695516005e-06,
];
const SMALL_F64: [f64; 14] = [
    0.1283791670955126,
    -0.37612638903183754,
    0.11283791670955119,
    -0.026866170645129733,
    0.00522397762542209,
    -0.0008548327021853421,
    0.00012055332899365817,
    -1.4925647465308464e-05,
    1.6462043410977743e-06,
    -1.6364614458121437e-07,
    1.4792146037418486e-08,
    -1.2163043339218176e-09,
    8.70379394479283e-11,
    -4.222901349470475e-12,
];

/// The pieces of `[1, 6]`: `(lo, hi)`; `t = (x - c) / h` with `c`, `h` the centre and half-width.
const PIECES: [(f64, f64); 3] = [(1.0, 2.0), (2.0, 3.5), (3.5, 6.0)];

const ERFCX_F32: [[f64; 9]; 3] = [
    [
        0.32158541679382324,
        -0.08181145042181015,
        0.01903776079416275,
        -0.00411643274128437,
        0.0008360855281352997,
        -0.00016056133608799428,
        2.9446369808283634e-05,
        -5.501689429365797e-06,
        9.168030601358623e-07,
    ],
    [
        0.19366209208965302,
        -0.04742822051048279,
        0.011114208959043026,
        -0.002503633266314864,
        0.0005440948880277574,
        -0.00011412398453103378,
        2.3303184207179584e-05,
        -5.0304374781262595e-06,
        9.62641138357867e-07,
    ],
    [
        0.11630270630121231,
        -0.02937930077314377,
        0.0072833215817809105,
        -0.0017737682210281491,
        0.00042465326259844005,
        -9.953257540473714e-05,
        2.310055060661398e-05,
        -5.941509243712062e-06,
        1.3289341040945146e-06,
    ],
];

const ERFCX_F64: [[f64; 18]; 3] = [
    [
        0.3215854164543175,
        -0.08181145886628004,
        0.019037759963869347,
        -0.004116363162445333,
        0.0008360838095667801,
        -0.0001608111733745078,
        2.9470857452455712e-05,
        -5.171328643937713e-06,
        8.723044759689139e-07,
        -1.41911957346504e-07,
        2.232841302102268e-08,
        -3.4057570215586978e-09,
        5.046601309530937e-10,
        -7.276591721176807e-11,
        1.0198272778236063e-11,
        -1.4002229396727732e-12,
        2.0289585270290734e-13,
        -2.6310669959169957e-14,
    ],
    [
        0.1936620962790687,
        -0.04742822817047613,
        0.011114208555369084,
        -0.0025035488002960295,
        0.0005440864558930264,
        -0.00011442715395540281,
        2.3347542127857212e-05,
        -4.6317052701198025e-06,
        8.950251217554863e-07,
        -1.6874333146640837e-07,
        3.108358637700579e-08,
        -5.601443099129617e-09,
        9.887866524906539e-10,
        -1.7107363502113293e-10,
        2.885581712547375e-11,
        -4.817807511286473e-12,
        8.907723078340567e-13,
        -1.4203185479372678e-13,
    ],
    [
        0.11630270721024731,
        -0.029379310747703936,
        0.007283322451518987,
        -0.0017736306582611407,
        0.00042462964854460603,
        -0.00010002374613876736,
        2.31976109667462e-05,
        -5.300367919532446e-06,
        1.1938335856588983e-06,
        -2.652090404199771e-07,
        5.8136009322498085e-08,
        -1.2581526028374931e-08,
        2.6912422336957418e-09,
        -5.68275523450371e-10,
        1.1660052650057985e-10,
        -2.4112014256169303e-11,
        6.000933446077093e-12,
        -1.2006070858612005e-12,
    ],
];

pub(crate) fn erf(m: &mut MathBuilder, x: Value) -> Value {
    let prec = m.prec;
    let z = m.mul(x, x);
    let q = m.poly(z, prec.pick(&SMALL_F32[..], &SMALL_F64[..]));
    let small = m.fma(x, q, x);

    let a = m.abs(x);
    let hi = PIECES[PIECES.len() - 1].1;
    let a = m.clamp(a, 1.0, hi);
    let masks = [m.ge_c(a, PIECES[1].0), m.ge_c(a, PIECES[2].0)];
    // t = a / h - c / h, with both factors chosen per lane.
    let inv_h = PIECES.map(|(lo, hi)| 2.0 / (hi - lo));
    let neg_c_over_h = PIECES.map(|(lo, hi)| -(lo + hi) / (hi - lo));
    let inv_h = m.c_piecewise(&inv_h, &masks);
    let offset = m.c_piecewise(&neg_c_over_h, &masks);
    let t = m.fma(a, inv_h, offset);
    let g = match prec {
        Precision::F32 => m.poly_piecewise(t, &ERFCX_F32.each_ref().map(|p| &p[..]), &masks),
        Precision::F64 => m.poly_piecewise(t, &ERFCX_F64.each_ref().map(|p| &p[..]), &masks),
    };
    // exp(-a^2) = exp(-(sh + sl)) ~ exp(-sh) (1 - sl).
    let sh = m.mul(a, a);
    let neg_sh = m.neg(sh);
    let sl = m.fma(a, a, neg_sh);
    let e = exp(m, neg_sh);
    let neg_sl = m.neg(sl);
    let e = m.fma(neg_sl, e, e);
    let erfc = m.mul(e, g);
    let one = m.c(1.0);
    let large = m.sub(one, erfc);
    let large = m.copysign(large, x);

    let abs_x = m.abs(x);
    let is_small = m.lt_c(abs_x, 1.0);
    // A NaN takes the large path: the clamp keeps it, and so does everything after.
    m.select(is_small, small, large)
}

pub fn emit_erf(b: &mut FunctionBuilder, x: Value) -> Value {
    erf(&mut MathBuilder::new(b, x), x)
}
