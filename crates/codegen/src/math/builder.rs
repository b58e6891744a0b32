//! `MathBuilder`: a thin layer over `FunctionBuilder` that emits the same math for all four float types.
//!
//! Every emitter in `math` is written once against this type. The float type (`F32`, `F64`, `F32X4` or `F64X2`)
//! is read from the input value; the builder knows the matching integer type (`I32`, `I64`, `I32X4`, `I64X2`) for
//! bit manipulation and hides the two differences between scalars and vectors that matter here:
//!
//! * constants are `f32const`/`f64const`/`iconst`, splatted for vectors;
//! * `fcmp` gives an `i8` boolean for scalars but a lane mask for vectors, and a lane-wise choice must be a
//!   `bitselect` on the (bitcast) mask, since `select` with a vector condition does not verify. [`Mask`] wraps
//!   either, and [`MathBuilder::select`] emits the right instruction.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// The IEEE format of the lanes: everything that depends on it (bit layout, constants, polynomial tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Precision {
    F32,
    F64,
}

impl Precision {
    /// Explicit mantissa bits.
    pub fn mantissa_bits(self) -> i64 {
        match self {
            Precision::F32 => 23,
            Precision::F64 => 52,
        }
    }

    pub fn exponent_bias(self) -> i64 {
        match self {
            Precision::F32 => 127,
            Precision::F64 => 1023,
        }
    }

    /// Picks the per-precision variant of a constant or table.
    pub fn pick<T>(self, f32_value: T, f64_value: T) -> T {
        match self {
            Precision::F32 => f32_value,
            Precision::F64 => f64_value,
        }
    }
}

/// The result of a float comparison: an `i8` boolean for scalars, an integer lane mask for vectors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mask(Value);

pub(crate) struct MathBuilder<'a, 'f> {
    b: &'a mut FunctionBuilder<'f>,
    /// The float type of every value this builder handles.
    pub ty: Type,
    /// The integer type with the same lane layout, for bit manipulation.
    pub int_ty: Type,
    pub prec: Precision,
}

impl<'a, 'f> MathBuilder<'a, 'f> {
    /// A builder for the type of `x`, which must be `F32`, `F64`, `F32X4` or `F64X2`.
    pub fn new(b: &'a mut FunctionBuilder<'f>, x: Value) -> Self {
        let ty = b.func.dfg.value_type(x);
        let (prec, int_ty) = match ty {
            types::F32 => (Precision::F32, types::I32),
            types::F64 => (Precision::F64, types::I64),
            types::F32X4 => (Precision::F32, types::I32X4),
            types::F64X2 => (Precision::F64, types::I64X2),
            _ => panic!("math emitters take F32, F64, F32X4 or F64X2 values, not {ty}"),
        };
        MathBuilder { b, ty, int_ty, prec }
    }

    fn is_vector(&self) -> bool {
        self.ty.is_vector()
    }

    // ---- constants ----

    /// `v` rounded to the lane precision, in every lane.
    pub fn c(&mut self, v: f64) -> Value {
        let scalar = match self.prec {
            Precision::F32 => self.b.ins().f32const(v as f32),
            Precision::F64 => self.b.ins().f64const(v),
        };
        if self.is_vector() {
            self.b.ins().splat(self.ty, scalar)
        } else {
            scalar
        }
    }

    /// The integer `v` in every lane of the integer type.
    pub fn ci(&mut self, v: i64) -> Value {
        let lane = self.int_ty.lane_type();
        let scalar = self.b.ins().iconst(lane, v);
        if self.is_vector() {
            self.b.ins().splat(self.int_ty, scalar)
        } else {
            scalar
        }
    }

    /// The float whose bit pattern is `bits` (e.g. a sign mask), in every lane.
    pub fn c_bits(&mut self, bits: i64) -> Value {
        let i = self.ci(bits);
        self.float_from_bits(i)
    }

    // ---- float arithmetic ----

    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fadd(a, b)
    }
    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fsub(a, b)
    }
    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmul(a, b)
    }
    pub fn div(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fdiv(a, b)
    }
    /// `a * b + c` with a single rounding.
    pub fn fma(&mut self, a: Value, b: Value, c: Value) -> Value {
        self.b.ins().fma(a, b, c)
    }
    pub fn neg(&mut self, a: Value) -> Value {
        self.b.ins().fneg(a)
    }
    pub fn abs(&mut self, a: Value) -> Value {
        self.b.ins().fabs(a)
    }
    pub fn sqrt(&mut self, a: Value) -> Value {
        self.b.ins().sqrt(a)
    }
    pub fn add_c(&mut self, a: Value, v: f64) -> Value {
        let c = self.c(v);
        self.add(a, c)
    }
    pub fn mul_c(&mut self, a: Value, v: f64) -> Value {
        let c = self.c(v);
        self.mul(a, c)
    }
    /// `a * v + c` for a constant `v`.
    pub fn fma_c(&mut self, a: Value, v: f64, c: Value) -> Value {
        let k = self.c(v);
        self.fma(a, k, c)
    }

    /// `coeffs[0] + coeffs[1] x + coeffs[2] x^2 + ...` by Horner's rule with `fma`.
    ///
    /// Horner rather than Estrin: the kernels are throughput-bound over many independent lanes and vectors,
    /// and Horner is the more accurate of the two.
    pub fn poly(&mut self, x: Value, coeffs: &[f64]) -> Value {
        let (&last, rest) = coeffs.split_last().expect("a polynomial needs at least one coefficient");
        let mut acc = self.c(last);
        for &c in rest.iter().rev() {
            let k = self.c(c);
            acc = self.fma(acc, x, k);
        }
        acc
    }

    /// Like [`Self::poly`], with each coefficient chosen per lane among pieces: `tables[i]` is used where
    /// `masks[i - 1]` holds (later pieces win), `tables[0]` elsewhere. All tables have the same length.
    pub fn poly_piecewise(&mut self, x: Value, tables: &[&[f64]], masks: &[Mask]) -> Value {
        assert_eq!(tables.len(), masks.len() + 1);
        let degree = tables[0].len();
        assert!(tables.iter().all(|t| t.len() == degree));
        let column = |k: usize| tables.iter().map(|t| t[k]).collect::<Vec<f64>>();
        let mut acc = self.c_piecewise(&column(degree - 1), masks);
        for k in (0..degree - 1).rev() {
            let c = self.c_piecewise(&column(k), masks);
            acc = self.fma(acc, x, c);
        }
        acc
    }

    /// The constant `values[i]` where `masks[i - 1]` holds (later pieces win), `values[0]` elsewhere.
    pub fn c_piecewise(&mut self, values: &[f64], masks: &[Mask]) -> Value {
        assert_eq!(values.len(), masks.len() + 1);
        let mut c = self.c(values[0]);
        for (&v, &m) in values[1..].iter().zip(masks) {
            let alt = self.c(v);
            c = self.select(m, alt, c);
        }
        c
    }

    // ---- comparisons and lane-wise choice ----

    pub fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Mask {
        Mask(self.b.ins().fcmp(cc, a, b))
    }
    pub fn lt(&mut self, a: Value, b: Value) -> Mask {
        self.fcmp(FloatCC::LessThan, a, b)
    }
    pub fn gt(&mut self, a: Value, b: Value) -> Mask {
        self.fcmp(FloatCC::GreaterThan, a, b)
    }
    pub fn eq(&mut self, a: Value, b: Value) -> Mask {
        self.fcmp(FloatCC::Equal, a, b)
    }
    pub fn lt_c(&mut self, a: Value, v: f64) -> Mask {
        let c = self.c(v);
        self.lt(a, c)
    }
    pub fn gt_c(&mut self, a: Value, v: f64) -> Mask {
        let c = self.c(v);
        self.gt(a, c)
    }
    pub fn ge_c(&mut self, a: Value, v: f64) -> Mask {
        let c = self.c(v);
        self.fcmp(FloatCC::GreaterThanOrEqual, a, c)
    }
    pub fn eq_c(&mut self, a: Value, v: f64) -> Mask {
        let c = self.c(v);
        self.eq(a, c)
    }
    pub fn is_nan(&mut self, a: Value) -> Mask {
        self.fcmp(FloatCC::Unordered, a, a)
    }

    pub fn and(&mut self, a: Mask, b: Mask) -> Mask {
        Mask(self.b.ins().band(a.0, b.0))
    }
    pub fn or(&mut self, a: Mask, b: Mask) -> Mask {
        Mask(self.b.ins().bor(a.0, b.0))
    }
    pub fn not(&mut self, a: Mask) -> Mask {
        if self.is_vector() {
            Mask(self.b.ins().bnot(a.0))
        } else {
            // A scalar `fcmp` gives 0 or 1; `bnot` would make both non-zero.
            let one = self.b.ins().iconst(types::I8, 1);
            Mask(self.b.ins().bxor(a.0, one))
        }
    }

    /// `a` where `m` holds, `b` elsewhere (float values).
    pub fn select(&mut self, m: Mask, a: Value, b: Value) -> Value {
        if self.is_vector() {
            let m = self.b.ins().bitcast(self.ty, MemFlagsData::new(), m.0);
            self.b.ins().bitselect(m, a, b)
        } else {
            self.b.ins().select(m.0, a, b)
        }
    }

    /// The constant `v` where `m` holds, `a` elsewhere: the usual special-case override.
    pub fn select_c(&mut self, m: Mask, v: f64, a: Value) -> Value {
        let c = self.c(v);
        self.select(m, c, a)
    }

    /// `min(a, b)` where NaNs need no care: `bitselect(a < b, a, b)` lowers to one `minps`/`minpd`.
    pub fn min(&mut self, a: Value, b: Value) -> Value {
        let m = self.lt(a, b);
        self.select(m, a, b)
    }

    /// `x` clamped to `[lo, hi]`; a NaN `x` stays NaN (the comparisons are false for it).
    ///
    /// Both steps have the form `bitselect(a < b, a, b)` / `bitselect(b < a, a, b)`, which lower to a single
    /// `minps` / `maxps` (with `x` as the operand those return for NaN); `x > hi` would be a compare and a blend.
    pub fn clamp(&mut self, x: Value, lo: f64, hi: f64) -> Value {
        let hi_c = self.c(hi);
        let above = self.lt(hi_c, x);
        let x = self.select(above, hi_c, x);
        let below = self.lt_c(x, lo);
        self.select_c(below, lo, x)
    }

    // ---- bit manipulation ----

    /// The bits of `x` as the matching integer type (free for same-size lanes).
    pub fn bits(&mut self, x: Value) -> Value {
        self.b.ins().bitcast(self.int_ty, MemFlagsData::new(), x)
    }

    /// The float with the bits of the integer `i`.
    pub fn float_from_bits(&mut self, i: Value) -> Value {
        self.b.ins().bitcast(self.ty, MemFlagsData::new(), i)
    }

    pub fn iadd(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().iadd(a, b)
    }
    pub fn isub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().isub(a, b)
    }
    pub fn iadd_c(&mut self, a: Value, v: i64) -> Value {
        let c = self.ci(v);
        self.b.ins().iadd(a, c)
    }
    pub fn iand_c(&mut self, a: Value, v: i64) -> Value {
        let c = self.ci(v);
        self.b.ins().band(a, c)
    }
    pub fn shl(&mut self, a: Value, n: i64) -> Value {
        let n = self.b.ins().iconst(types::I32, n);
        self.b.ins().ishl(a, n)
    }
    pub fn sshr(&mut self, a: Value, n: i64) -> Value {
        let n = self.b.ins().iconst(types::I32, n);
        self.b.ins().sshr(a, n)
    }
    /// Lanes where the integer `a` equals the integer `v` (as a mask usable with [`Self::select`]).
    pub fn ieq_c(&mut self, a: Value, v: i64) -> Mask {
        use cranelift_codegen::ir::condcodes::IntCC;
        let c = self.ci(v);
        let m = self.b.ins().icmp(IntCC::Equal, a, c);
        Mask(m)
    }

    /// The sign bit of each lane as a float (`-0.0` or `+0.0`).
    pub fn sign_of(&mut self, x: Value) -> Value {
        let sign = self.c_bits(self.sign_mask());
        self.b.ins().band(x, sign)
    }

    /// `x` with its sign bit flipped where `sign` (a float holding only a sign bit) is negative.
    pub fn xor_sign(&mut self, x: Value, sign: Value) -> Value {
        self.b.ins().bxor(x, sign)
    }

    /// `|mag|` with the sign of `sign_src` (`fcopysign` has no f32x4 lowering).
    pub fn copysign(&mut self, mag: Value, sign_src: Value) -> Value {
        let s = self.sign_of(sign_src);
        let m = self.abs(mag);
        self.b.ins().bor(m, s)
    }

    fn sign_mask(&self) -> i64 {
        match self.prec {
            Precision::F32 => i64::from(i32::MIN),
            Precision::F64 => i64::MIN,
        }
    }

    // ---- rounding and powers of two ----

    /// Rounds `x` to the nearest integer, returning it as a float and as an integer of the lane width.
    ///
    /// Adding `1.5 * 2^mantissa_bits` pushes the fraction bits out (round-to-nearest-even by the FPU), so the
    /// low mantissa bits of the sum hold the integer in two's complement. Needs `|x| < 2^(mantissa_bits - 1)`.
    /// This avoids `nearest` (a libcall per lane without SSE4.1) and `fcvt_to_sint` (none for i64x2).
    pub fn round_int(&mut self, x: Value) -> (Value, Value) {
        let k = self.c(self.shifter());
        let t = self.add(x, k);
        let n = self.sub(t, k);
        let t_bits = self.bits(t);
        let shifter_bits = self.bits(k);
        let n_int = self.isub(t_bits, shifter_bits);
        (n, n_int)
    }

    /// The float value of an integer `n` with `|n| < 2^(mantissa_bits - 1)`: the inverse of [`Self::round_int`]
    /// (`fcvt_from_sint` is scalarised for i64x2).
    pub fn int_to_float(&mut self, n: Value) -> Value {
        let k = self.c(self.shifter());
        let k_bits = self.bits(k);
        let t_bits = self.iadd(n, k_bits);
        let t = self.float_from_bits(t_bits);
        self.sub(t, k)
    }

    fn shifter(&self) -> f64 {
        1.5 * (2f64).powi(self.prec.mantissa_bits() as i32)
    }

    /// `2^n` for an integer `n` in the normal exponent range.
    pub fn exp2_int(&mut self, n: Value) -> Value {
        let biased = self.iadd_c(n, self.prec.exponent_bias());
        let bits = self.shl(biased, self.prec.mantissa_bits());
        self.float_from_bits(bits)
    }

    /// `x * 2^n` for `n` within twice the normal exponent range, so results may overflow to infinity or round
    /// into the subnormals (once: the first product is exact).
    pub fn scale(&mut self, x: Value, n: Value) -> Value {
        let half = self.sshr(n, 1);
        let rest = self.isub(n, half);
        let p1 = self.exp2_int(half);
        let p2 = self.exp2_int(rest);
        let y = self.mul(x, p1);
        self.mul(y, p2)
    }
}
