//! Accuracy of the emitted transcendental functions, in ulp, against the Rust standard library.
//!
//! Each function is JIT-compiled into a kernel `extern "C" fn(x, y, out, n)` that walks the arrays with
//! `f32x4`/`f64x2` vectors and finishes with a scalar tail; the scalar code is also run alone on every 7th point
//! and must agree bit for bit with the vector code. The kernel is applied to at least
//! 1,000,000 points per function and precision: log-spaced magnitudes of both signs, a dense uniform sweep of the
//! interesting interval, and the IEEE special values.
//!
//! References: for f32 the f64 result of `std` (its error, below 1 f64 ulp, is ~2^-29 f32 ulp: effectively
//! exact); for f64 the `std` result itself (glibc's libm: mostly within 1 ulp, but e.g. 2 ulp off for `tanh` at
//! 0.477), so the f64 numbers include the reference's own error. `erf`, `logistic` and `rsqrt` have
//! double-double references below.
//!
//! The bound each test asserts is read from the table in `docs/transcendentals.md`, so the documented accuracy
//! cannot drift from what is tested.

use std::sync::OnceLock;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Type, Value};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Module};
use gradjit_codegen::{isa, math};

// ---------------------------------------------------------------- kernels

use math::{BinaryEmitter as BinaryEmit, UnaryEmitter as UnaryEmit};

#[derive(Clone, Copy)]
enum Emit {
    Unary(UnaryEmit),
    Binary(BinaryEmit),
}

impl Emit {
    fn apply(self, b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
        match self {
            Emit::Unary(f) => f(b, x),
            Emit::Binary(f) => f(b, x, y),
        }
    }
}

trait Lane: Copy + PartialEq + std::fmt::Debug + 'static {
    const SCALAR: Type;
    const VECTOR: Type;
    const LANES: i64;
    const MANTISSA_BITS: i32;
    const MIN_EXP: i32;
    const NAME: &'static str;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Lane for f32 {
    const SCALAR: Type = types::F32;
    const VECTOR: Type = types::F32X4;
    const LANES: i64 = 4;
    const MANTISSA_BITS: i32 = 23;
    const MIN_EXP: i32 = -126;
    const NAME: &'static str = "f32";
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Lane for f64 {
    const SCALAR: Type = types::F64;
    const VECTOR: Type = types::F64X2;
    const LANES: i64 = 2;
    const MANTISSA_BITS: i32 = 52;
    const MIN_EXP: i32 = -1022;
    const NAME: &'static str = "f64";
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

type Kernel<T> = unsafe extern "C" fn(*const T, *const T, *mut T, i64);

/// Compiles `out[i] = f(x[i], y[i])` with a vector loop and a scalar tail.
fn compile<T: Lane>(emit: Emit) -> Kernel<T> {
    compile_for::<T>(isa::host_isa().expect("host ISA"), emit)
}

fn compile_for<T: Lane>(isa: cranelift_codegen::isa::OwnedTargetIsa, emit: Emit) -> Kernel<T> {
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let ptr = module.target_config().pointer_type();
    let mut ctx: Context = module.make_context();
    for _ in 0..3 {
        ctx.func.signature.params.push(AbiParam::new(ptr));
    }
    ctx.func.signature.params.push(AbiParam::new(types::I64));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
    let size = (T::SCALAR.bytes()) as i64;
    let flags = MemFlagsData::new().with_notrap();

    let entry = b.create_block();
    let vec_head = b.create_block();
    let vec_body = b.create_block();
    let tail_head = b.create_block();
    let tail_body = b.create_block();
    let exit = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let [xs, ys, out, n] = b.block_params(entry).try_into().unwrap();
    let i = b.declare_var(types::I64);
    let zero = b.ins().iconst(types::I64, 0);
    b.def_var(i, zero);
    b.ins().jump(vec_head, &[]);

    // One element (vector or scalar) at index i: load, apply, store, advance.
    let step = |b: &mut FunctionBuilder, ty: Type, lanes: i64| {
        let iv = b.use_var(i);
        let off = b.ins().imul_imm_s(iv, size);
        let [xa, ya, oa] = [xs, ys, out].map(|p| b.ins().iadd(p, off));
        let x = b.ins().load(ty, flags, xa, 0);
        let y = b.ins().load(ty, flags, ya, 0);
        let r = emit.apply(b, x, y);
        b.ins().store(flags, r, oa, 0);
        let next = b.ins().iadd_imm_s(iv, lanes);
        b.def_var(i, next);
    };

    b.switch_to_block(vec_head);
    let iv = b.use_var(i);
    let end = b.ins().iadd_imm_s(iv, T::LANES);
    let more = b.ins().icmp(IntCC::SignedLessThanOrEqual, end, n);
    b.ins().brif(more, vec_body, &[], tail_head, &[]);
    b.switch_to_block(vec_body);
    step(&mut b, T::VECTOR, T::LANES);
    b.ins().jump(vec_head, &[]);

    b.switch_to_block(tail_head);
    let iv = b.use_var(i);
    let more = b.ins().icmp(IntCC::SignedLessThan, iv, n);
    b.ins().brif(more, tail_body, &[], exit, &[]);
    b.switch_to_block(tail_body);
    step(&mut b, T::SCALAR, 1);
    b.ins().jump(tail_head, &[]);

    b.switch_to_block(exit);
    b.ins().return_(&[]);
    b.seal_all_blocks();
    b.finalize(module.target_config());

    let id = module.declare_anonymous_function(&ctx.func.signature).unwrap();
    module.define_function(id, &mut ctx).unwrap_or_else(|e| panic!("{e:?}\n{}", ctx.func.display()));
    module.finalize_definitions().unwrap();
    let code = module.get_finalized_function(id);
    // The module is leaked on purpose: its code must outlive the returned pointer.
    std::mem::forget(module);
    // SAFETY: the function was compiled with exactly this signature.
    unsafe { std::mem::transmute::<*const u8, Kernel<T>>(code) }
}

fn run<T: Lane>(kernel: Kernel<T>, xs: &[T], ys: &[T]) -> Vec<T> {
    assert_eq!(xs.len(), ys.len());
    let mut out = xs.to_vec();
    // SAFETY: all three buffers hold xs.len() elements.
    unsafe { kernel(xs.as_ptr(), ys.as_ptr(), out.as_mut_ptr(), xs.len() as i64) };
    out
}

// ---------------------------------------------------------------- inputs

/// splitmix64: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// How to draw test points for one argument.
#[derive(Clone, Copy, Debug)]
enum Dist {
    /// `+-10^u` with `u` uniform in `[lo, hi]`.
    LogBothSigns(f64, f64),
    /// `10^u` with `u` uniform in `[lo, hi]`.
    LogPositive(f64, f64),
    /// Uniform in `[lo, hi]`.
    Uniform(f64, f64),
}

impl Dist {
    fn max_magnitude(self) -> f64 {
        match self {
            Dist::LogBothSigns(_, hi) | Dist::LogPositive(_, hi) => 10f64.powf(hi),
            Dist::Uniform(lo, hi) => lo.abs().max(hi.abs()),
        }
    }

    fn draw(self, rng: &mut Rng) -> f64 {
        match self {
            Dist::LogBothSigns(lo, hi) => {
                let m = 10f64.powf(rng.uniform(lo, hi));
                if rng.next_u64() & 1 == 0 {
                    m
                } else {
                    -m
                }
            }
            Dist::LogPositive(lo, hi) => 10f64.powf(rng.uniform(lo, hi)),
            Dist::Uniform(lo, hi) => rng.uniform(lo, hi),
        }
    }
}

const POINTS: usize = 1 << 20;

/// `POINTS` values, split evenly between the distributions, followed by the special values (the finite ones only
/// up to the largest magnitude of the distributions, for functions that are only accurate in a range).
fn inputs<T: Lane>(dists: &[Dist], seed: u64) -> Vec<T> {
    inputs_n(dists, seed, POINTS)
}

/// Like [`inputs`] with `points` random values.
fn inputs_n<T: Lane>(dists: &[Dist], seed: u64, points: usize) -> Vec<T> {
    let mut rng = Rng(seed);
    let per = points / dists.len();
    let mut xs: Vec<T> =
        dists.iter().flat_map(|&d| (0..per).map(move |_| d)).map(|d| T::from_f64(d.draw(&mut rng))).collect();
    let limit = dists.iter().map(|d| d.max_magnitude()).fold(0.0, f64::max);
    xs.extend(specials::<T>().into_iter().filter(|x| !x.to_f64().is_finite() || x.to_f64().abs() <= limit));
    xs
}

fn specials<T: Lane>() -> Vec<T> {
    let tiny = pow2(T::MIN_EXP - T::MANTISSA_BITS);
    let min_normal = pow2(T::MIN_EXP);
    let max = T::from_f64(f64::MAX).to_f64();
    let max = if max.is_infinite() { f32::MAX as f64 } else { max };
    [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        tiny,
        -tiny,
        min_normal,
        -min_normal,
        max,
        -max,
        1.0,
        -1.0,
        0.5,
        2.0,
    ]
    .into_iter()
    .map(T::from_f64)
    .collect()
}

// ---------------------------------------------------------------- error measure

/// The error of `got` against the (more precise) `want`, in ulp of the precision of `T`; infinite when the
/// special-value semantics differ (NaN vs number, infinity vs finite, sign of zero).
fn ulp_error<T: Lane>(got: T, want: f64) -> f64 {
    let got = got.to_f64();
    if want.is_nan() || got.is_nan() {
        return if want.is_nan() && got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let want_rounded = T::from_f64(want).to_f64();
    if want_rounded.is_infinite() || got.is_infinite() {
        return if got == want_rounded { 0.0 } else { f64::INFINITY };
    }
    if want == 0.0 && got == 0.0 {
        return if want.is_sign_negative() == got.is_sign_negative() { 0.0 } else { f64::INFINITY };
    }
    let exp = if want == 0.0 { T::MIN_EXP } else { (want.abs().log2().floor() as i32).max(T::MIN_EXP) };
    (got - want).abs() / pow2(exp - T::MANTISSA_BITS)
}

/// 2^e for e in the f64 normal or subnormal range (`powi` underflows to 0 on the way to 2^-1074).
fn pow2(e: i32) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

struct Worst {
    ulp: f64,
    x: f64,
    y: f64,
    got: f64,
    want: f64,
}

/// Runs the kernel over all inputs (vector loop), checks that the scalar code gives bit-identical results, and
/// finds the worst error against the reference.
fn measure<T: Lane>(emit: Emit, xs: &[T], ys: &[T], reference: impl Fn(f64, f64) -> f64) -> Worst {
    let kernel = compile::<T>(emit);
    let out = run(kernel, xs, ys);
    // Calls with one element at a time take the scalar tail only. Every 7th point keeps this cheap.
    for i in (0..xs.len()).step_by(7) {
        let scalar = run(kernel, &xs[i..i + 1], &ys[i..i + 1])[0];
        let (a, b) = (scalar.to_f64(), out[i].to_f64());
        let same = (a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative());
        assert!(same, "{}: scalar {scalar:?} != vector {:?} at x={:?} y={:?}", T::NAME, out[i], xs[i], ys[i]);
    }
    let mut worst = Worst { ulp: -1.0, x: 0.0, y: 0.0, got: 0.0, want: 0.0 };
    for ((&x, &y), &got) in xs.iter().zip(ys).zip(&out) {
        let (x, y) = (x.to_f64(), y.to_f64());
        let want = reference(x, y);
        let e = ulp_error(got, want);
        if e > worst.ulp || e.is_nan() {
            worst = Worst { ulp: e, x, y, got: got.to_f64(), want };
        }
    }
    worst
}

// ---------------------------------------------------------------- the documented bounds

/// One row of the accuracy table in docs/transcendentals.md.
struct DocRow {
    function: String,
    precision: String,
    measured: f64,
    bound: f64,
}

/// The rows of the accuracy table: `| function | precision | algorithm | tested range | measured | bound |`.
fn documented_rows() -> &'static [DocRow] {
    static TABLE: OnceLock<Vec<DocRow>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/transcendentals.md");
        let text = std::fs::read_to_string(path).expect("docs/transcendentals.md");
        text.lines()
            .filter_map(|line| {
                // `\|` is a pipe inside a cell.
                let line = line.replace("\\|", "");
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                if cells.len() != 8 {
                    return None;
                }
                Some(DocRow {
                    function: cells[1].trim_matches('`').to_string(),
                    precision: cells[2].to_string(),
                    measured: cells[5].parse().ok()?,
                    bound: cells[6].parse().ok()?,
                })
            })
            .collect()
    })
}

fn documented_bound(function: &str, precision: &str) -> f64 {
    documented_rows()
        .iter()
        .find(|r| r.function == function && r.precision == precision)
        .map(|r| r.bound)
        .unwrap_or_else(|| panic!("docs/transcendentals.md has no bound for {function} {precision}"))
}

/// Every emitter has exactly one row per precision, within the 4 ulp target and consistent with itself.
#[test]
fn documented_table_is_complete() {
    let names = math::UNARY.iter().map(|&(n, _)| n).chain(math::BINARY.iter().map(|&(n, _)| n));
    let mut expected = 0;
    for name in names {
        for precision in ["f32", "f64"] {
            let rows: Vec<&DocRow> =
                documented_rows().iter().filter(|r| r.function == name && r.precision == precision).collect();
            assert_eq!(rows.len(), 1, "{name} {precision}: {} rows", rows.len());
            let r = rows[0];
            assert!(r.measured <= r.bound && r.bound <= 4.0, "{name} {precision}: {} / {}", r.measured, r.bound);
            expected += 1;
        }
    }
    assert_eq!(documented_rows().len(), expected, "rows for functions that do not exist");
}

fn check<T: Lane>(name: &str, emit: Emit, xs: &[T], ys: &[T], reference: impl Fn(f64, f64) -> f64) {
    let w = measure::<T>(emit, xs, ys, reference);
    let bound = documented_bound(name, T::NAME);
    println!(
        "{name} {}: max {:.3} ulp over {} points (x={:e} y={:e}: got {:e}, want {:e})",
        T::NAME,
        w.ulp,
        xs.len(),
        w.x,
        w.y,
        w.got,
        w.want
    );
    assert!(
        w.ulp <= bound,
        "{name} {}: {:.3} ulp > documented {bound} at x={:e} y={:e}: got {:e}, want {:e}",
        T::NAME,
        w.ulp,
        w.x,
        w.y,
        w.got,
        w.want
    );
}

/// Tests a unary function in both precisions on the given distributions.
fn check_unary(name: &str, f: UnaryEmit, dists: &[Dist], reference: fn(f64) -> f64) {
    check_unary_per_precision(name, f, dists, dists, reference)
}

/// Like [`check_unary`] with different distributions for f32 and f64.
fn check_unary_per_precision(name: &str, f: UnaryEmit, dists32: &[Dist], dists64: &[Dist], reference: fn(f64) -> f64) {
    let xs32 = inputs::<f32>(dists32, 1);
    check::<f32>(name, Emit::Unary(f), &xs32, &xs32, |x, _| reference(x));
    let xs64 = inputs::<f64>(dists64, 2);
    check::<f64>(name, Emit::Unary(f), &xs64, &xs64, |x, _| reference(x));
}

// ---------------------------------------------------------------- tests

use Dist::*;

#[test]
fn exp() {
    check_unary(
        "exp",
        math::emit_exp,
        &[LogBothSigns(-30.0, 3.0), Uniform(-750.0, 750.0), Uniform(-5.0, 5.0)],
        f64::exp,
    );
}

#[test]
fn expm1() {
    check_unary(
        "expm1",
        math::emit_expm1,
        &[LogBothSigns(-30.0, 3.0), Uniform(-50.0, 720.0), Uniform(-2.0, 2.0)],
        f64::exp_m1,
    );
}

#[test]
fn log() {
    check_unary(
        "log",
        math::emit_log,
        &[LogPositive(-320.0, 308.0), LogPositive(-45.0, 38.0), Uniform(0.0, 4.0), LogBothSigns(-3.0, 3.0)],
        f64::ln,
    );
}

#[test]
fn log1p() {
    check_unary(
        "log1p",
        math::emit_log1p,
        &[LogBothSigns(-30.0, 0.0), LogPositive(-30.0, 38.0), Uniform(-1.0, 4.0)],
        f64::ln_1p,
    );
}

#[test]
fn sqrt() {
    check_unary("sqrt", math::emit_sqrt, &[LogPositive(-320.0, 308.0), Uniform(-1.0, 4.0)], f64::sqrt);
}

#[test]
fn rsqrt() {
    check_unary(
        "rsqrt",
        math::emit_rsqrt,
        &[LogPositive(-320.0, 308.0), LogPositive(-45.0, 38.0), Uniform(-1.0, 4.0)],
        rsqrt_reference,
    );
}

/// 1/sqrt(x) to about 2^-100 before the final rounding: one Newton step on the f64 estimate, with the residual
/// `1 - x r^2` evaluated exactly by `fma`.
fn rsqrt_reference(x: f64) -> f64 {
    if x > 0.0 && x < 1e-300 {
        return rsqrt_reference(x * pow2(200)) * pow2(100);
    }
    if x > 1e300 && x.is_finite() {
        return rsqrt_reference(x * pow2(-200)) * pow2(-100);
    }
    let r = 1.0 / x.sqrt();
    if !r.is_finite() || r == 0.0 {
        return r;
    }
    let rr = r * r;
    let rr_lo = r.mul_add(r, -rr);
    let t = (-x).mul_add(rr, 1.0) - x * rr_lo;
    r + r * t * 0.5
}

/// f32 and f64 distributions for sin, cos and tan: up to the documented reduction ranges.
const TRIG32: [Dist; 3] = [LogBothSigns(-30.0, 6.5), Uniform(-10.0, 10.0), Uniform(-3.2e6, 3.2e6)];
const TRIG64: [Dist; 4] = [LogBothSigns(-30.0, 15.0), Uniform(-10.0, 10.0), Uniform(-1e9, 1e9), Uniform(-1e15, 1e15)];

#[test]
fn sin() {
    check_unary_per_precision("sin", math::emit_sin, &TRIG32, &TRIG64, f64::sin);
}

#[test]
fn cos() {
    check_unary_per_precision("cos", math::emit_cos, &TRIG32, &TRIG64, f64::cos);
}

#[test]
fn tan() {
    check_unary_per_precision("tan", math::emit_tan, &TRIG32, &TRIG64, f64::tan);
}

/// Beyond the reduction range the results are not accurate, but sin and cos stay in [-1, 1], and the
/// infinities give NaN.
#[test]
fn sin_cos_stay_bounded_for_huge_arguments() {
    fn check_bounded<T: Lane>(emit: UnaryEmit, lo: f64, hi: f64) {
        let xs: Vec<T> = inputs_n::<T>(&[LogBothSigns(lo, hi)], 3, 1 << 16);
        let out = run(compile::<T>(Emit::Unary(emit)), &xs, &xs);
        for (x, y) in xs.iter().zip(&out) {
            let (x, y) = (x.to_f64(), y.to_f64());
            if x.is_finite() {
                assert!(y.abs() <= 1.0, "{}: f({x:e}) = {y:e}", T::NAME);
            } else {
                assert!(y.is_nan(), "{}: f({x:e}) = {y:e}", T::NAME);
            }
        }
    }
    for emit in [math::emit_sin as UnaryEmit, math::emit_cos] {
        check_bounded::<f32>(emit, 6.0, 38.5);
        check_bounded::<f64>(emit, 14.0, 308.0);
    }
}

#[test]
fn tanh() {
    check_unary(
        "tanh",
        math::emit_tanh,
        &[LogBothSigns(-30.0, 2.0), Uniform(-25.0, 25.0), Uniform(-1.0, 1.0)],
        f64::tanh,
    );
}

#[test]
fn logistic() {
    check_unary(
        "logistic",
        math::emit_logistic,
        &[LogBothSigns(-30.0, 3.0), Uniform(-800.0, 800.0), Uniform(-40.0, 40.0)],
        logistic_reference,
    );
}

/// `1 / (1 + exp(-x))` with the sum and the quotient carried to double-double precision, so the only error left
/// is that of `exp` (at most ~0.5 ulp, damped by `1 / (1 + e)` for x >= 0).
fn logistic_reference(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    let num = if x < 0.0 { e } else { 1.0 };
    // 1 + e = s + s_lo exactly (fast two-sum, 1 >= e).
    let s = 1.0 + e;
    let s_lo = (1.0 - s) + e;
    let q = num / s;
    let residual = (-q).mul_add(s, num) - q * s_lo;
    q + residual / s
}

/// `(x, y)` pairs for `pow`: wide magnitudes with moderate exponents, large exponents near 1 (where the
/// double-double logarithm matters), negative bases with integer exponents, results near overflow and
/// underflow, and every pair of special values.
fn pow_inputs<T: Lane>(seed: u64) -> (Vec<T>, Vec<T>) {
    let mut rng = Rng(seed);
    let per = POINTS / 5;
    let mut pairs: Vec<(f64, f64)> = Vec::with_capacity(POINTS + 256);
    for _ in 0..per {
        pairs.push((LogPositive(-30.0, 30.0).draw(&mut rng), rng.uniform(-30.0, 30.0)));
        pairs.push((rng.uniform(0.0, 4.0), rng.uniform(-300.0, 300.0)));
        pairs.push((1.0 + rng.uniform(-1e-3, 1e-3), rng.uniform(-5e5, 5e5)));
        pairs.push((rng.uniform(-10.0, 0.0), (rng.uniform(-40.0, 40.0)).round()));
        pairs.push((LogPositive(-300.0, 300.0).draw(&mut rng), rng.uniform(-2.5, 2.5)));
    }
    let specials = specials::<T>();
    for &x in &specials {
        for &y in &specials {
            pairs.push((x.to_f64(), y.to_f64()));
        }
    }
    pairs.into_iter().map(|(x, y)| (T::from_f64(x), T::from_f64(y))).unzip()
}

#[test]
fn pow() {
    let emit = Emit::Binary(math::emit_pow);
    let (x, y) = pow_inputs::<f32>(4);
    check::<f32>("pow", emit, &x, &y, f64::powf);
    let (x, y) = pow_inputs::<f64>(5);
    check::<f64>("pow", emit, &x, &y, f64::powf);
}

/// `(y, x)` pairs for `atan2`: angles all around the circle at log-spaced radii, points near the axes and the
/// diagonals, very different magnitudes, and every pair of special values.
fn atan2_inputs<T: Lane>(seed: u64) -> (Vec<T>, Vec<T>) {
    let mut rng = Rng(seed);
    let per = POINTS / 4;
    let mut pairs: Vec<(f64, f64)> = Vec::with_capacity(POINTS + 256);
    for _ in 0..per {
        let (r, angle) = (LogPositive(-30.0, 30.0).draw(&mut rng), rng.uniform(-4.0, 4.0));
        pairs.push((r * angle.sin(), r * angle.cos()));
        pairs.push((rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)));
        pairs.push((LogBothSigns(-35.0, 35.0).draw(&mut rng), LogBothSigns(-35.0, 35.0).draw(&mut rng)));
        let x = rng.uniform(-10.0, 10.0);
        pairs.push((x * (1.0 + rng.uniform(-1e-3, 1e-3)), x));
    }
    let specials = specials::<T>();
    for &x in &specials {
        for &y in &specials {
            pairs.push((y.to_f64(), x.to_f64()));
        }
    }
    pairs.into_iter().map(|(y, x)| (T::from_f64(y), T::from_f64(x))).unzip()
}

#[test]
fn atan2() {
    let emit = Emit::Binary(math::emit_atan2);
    let (y, x) = atan2_inputs::<f32>(6);
    check::<f32>("atan2", emit, &y, &x, f64::atan2);
    let (y, x) = atan2_inputs::<f64>(7);
    check::<f64>("atan2", emit, &y, &x, f64::atan2);
}

#[test]
fn erf() {
    check_unary(
        "erf",
        math::emit_erf,
        &[LogBothSigns(-30.0, 1.5), Uniform(-7.0, 7.0), Uniform(-1.5, 1.5)],
        erf_reference,
    );
}

/// A double-double `(hi, lo)`, just enough arithmetic for the `erf` reference.
#[derive(Clone, Copy)]
struct Dd(f64, f64);

impl Dd {
    fn add(self, o: Dd) -> Dd {
        let s = self.0 + o.0;
        let bb = s - self.0;
        let e = (self.0 - (s - bb)) + (o.0 - bb) + self.1 + o.1;
        let hi = s + e;
        Dd(hi, e - (hi - s))
    }
    fn mul(self, o: Dd) -> Dd {
        let p = self.0 * o.0;
        let e = self.0.mul_add(o.0, -p) + self.0 * o.1 + self.1 * o.0;
        let hi = p + e;
        Dd(hi, e - (hi - p))
    }
    fn div(self, d: f64) -> Dd {
        let q = self.0 / d;
        let r = (-q).mul_add(d, self.0) + self.1;
        let lo = r / d;
        let hi = q + lo;
        Dd(hi, lo - (hi - q))
    }
}

/// erf to ~1e-20 relative: the Taylor series in double-double for |x| <= 3 (its largest term is ~2^12, so the
/// cancellation costs 12 of 106 bits), and `1 - erfc` with a continued fraction for erfc beyond.
fn erf_reference(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let v = if a <= 3.0 {
        // 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))
        let x2 = Dd(a * a, a.mul_add(a, -a * a));
        let neg_x2 = Dd(-x2.0, -x2.1);
        let mut power = Dd(a, 0.0); // (-1)^n x^(2n+1) / n!
        let mut sum = Dd(a, 0.0);
        for n in 1..200 {
            power = power.mul(neg_x2).div(n as f64);
            let term = power.div((2 * n + 1) as f64);
            sum = sum.add(term);
            if term.0.abs() < 1e-34 * sum.0.abs() {
                break;
            }
        }
        sum.mul(Dd(std::f64::consts::FRAC_2_SQRT_PI, 1.533545961316588e-17)).0
    } else if a < 30.0 {
        // erfc(a) = exp(-a^2) / sqrt(pi) / (a + (1/2) / (a + 1 / (a + (3/2) / (a + 2 / (a + ...)))))
        let mut k = 0.0;
        for n in (1..200).rev() {
            k = (n as f64 * 0.5) / (a + k);
        }
        let (sh, sl) = (a * a, a.mul_add(a, -a * a));
        let erfc = (-sh).exp() * (1.0 - sl) * (0.5 * std::f64::consts::FRAC_2_SQRT_PI) / (a + k);
        1.0 - erfc
    } else {
        1.0
    };
    v.copysign(x)
}

#[test]
fn erf_reference_matches_known_values() {
    // Values from mpmath at 50 digits, rounded to f64.
    for (x, want) in [
        (0.5, 0.5204998778130465),
        (1.0, 0.8427007929497149),
        (2.5, 0.999593047982555),
        (3.0, 0.9999779095030014),
        (4.0, 0.9999999845827421),
        (0.0001, 0.00011283791633342487),
    ] {
        assert_eq!(erf_reference(x), want, "erf({x})");
        assert_eq!(erf_reference(-x), -want, "erf(-{x})");
    }
}

/// Every emitter compiles, for all four types, to straight-line code with no calls at all: no libm, and no
/// per-lane libcalls (which Cranelift would insert for `fma` without `has_fma`, or for `nearest` without SSE4.1).
#[test]
fn emitted_code_has_no_calls() {
    use cranelift_codegen::control::ControlPlane;
    let isa = isa::host_isa().unwrap();
    if isa::isa_flag(&isa, "has_fma") != Some(true) {
        eprintln!("skipped: without FMA, Cranelift lowers fma to libcalls");
        return;
    }
    let emits = math::UNARY
        .iter()
        .map(|&(n, f)| (n, Emit::Unary(f)))
        .chain(math::BINARY.iter().map(|&(n, f)| (n, Emit::Binary(f))));
    for (name, emit) in emits {
        for ty in [types::F32X4, types::F64X2, types::F32, types::F64] {
            let mut ctx = Context::new();
            ctx.func.signature.params.extend([AbiParam::new(ty), AbiParam::new(ty)]);
            ctx.func.signature.returns.push(AbiParam::new(ty));
            let mut fctx = FunctionBuilderContext::new();
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let block = b.create_block();
            b.append_block_params_for_function_params(block);
            b.switch_to_block(block);
            let [x, y] = b.block_params(block).try_into().unwrap();
            let r = emit.apply(&mut b, x, y);
            b.ins().return_(&[r]);
            b.seal_all_blocks();
            b.finalize(isa.frontend_config());
            let code = ctx.compile(&*isa, &mut ControlPlane::default()).unwrap();
            println!("{name} {ty}: {} bytes", code.code_buffer().len());
            assert!(code.buffer.relocs().is_empty(), "{name} {ty}: {:?}", code.buffer.relocs());
            assert_eq!(ctx.func.layout.blocks().count(), 1, "{name} {ty}: branches");
        }
    }
}

/// On a baseline x86-64 ISA (SSE2 only: no SSE4.1 blends, no AVX, no FMA, where Cranelift turns each `fma` into a
/// libcall to the correctly rounded `fma`/`fmaf`), every emitter still compiles and gives bit-identical results.
#[cfg(target_arch = "x86_64")]
#[test]
fn baseline_isa_gives_identical_results() {
    use cranelift_codegen::settings::{self, Configurable};
    fn baseline() -> cranelift_codegen::isa::OwnedTargetIsa {
        let mut shared = settings::builder();
        shared.set("opt_level", "speed").unwrap();
        shared.set("is_pic", "false").unwrap();
        cranelift_native::builder_with_options(false).unwrap().finish(settings::Flags::new(shared)).unwrap()
    }
    fn compare<T: Lane>(name: &str, emit: Emit, xs: &[T], ys: &[T]) {
        let host = run(compile::<T>(emit), xs, ys);
        let base = run(compile_for::<T>(baseline(), emit), xs, ys);
        for i in 0..xs.len() {
            let (a, b) = (host[i].to_f64(), base[i].to_f64());
            let same = (a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative());
            assert!(same, "{name} {}: host {a:e} != baseline {b:e} at x={:?} y={:?}", T::NAME, xs[i], ys[i]);
        }
    }
    let dists = [LogBothSigns(-30.0, 3.0), Uniform(-10.0, 10.0)];
    let emits = math::UNARY
        .iter()
        .map(|&(n, f)| (n, Emit::Unary(f)))
        .chain(math::BINARY.iter().map(|&(n, f)| (n, Emit::Binary(f))));
    for (name, emit) in emits {
        let (x32, x64) = (inputs_n::<f32>(&dists, 8, 4096), inputs_n::<f64>(&dists, 9, 4096));
        let (y32, y64): (Vec<f32>, Vec<f64>) =
            (x32.iter().rev().copied().collect(), x64.iter().rev().copied().collect());
        compare::<f32>(name, emit, &x32, &y32);
        compare::<f64>(name, emit, &x64, &y64);
    }
}
