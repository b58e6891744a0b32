//! How each primitive is executed by compiled code: the lowering column of the primitive table
//! in `docs/primitives.md`.
//!
//! The entries restate what [`crate::plan`] (fusion classes), [`crate::lower`] (CLIF per kernel
//! operation, [`crate::math`] for transcendentals), [`crate::shape_ops`] and [`crate::gemm`]
//! (host steps) do, so they must change with them; the `match`es are exhaustive, so a new
//! primitive does not compile until it is described. The ulp bounds quoted for the functions of
//! [`crate::math`] are checked against `docs/transcendentals.md` (whose bounds `tests/ulp.rs`
//! asserts) by the test below.
//!
//! Vocabulary: a *fused loop* is a loop kernel of the plan, vectorised (`f32x4`/`f64x2` with a
//! scalar tail) when every value in it is of one float type or a `bool` mask, scalar otherwise
//! (integers); a *host step* is Rust code on whole buffers; the *interpreter* is
//! `gradjit_ir::interp` run on copies of the operands, for what has no native lowering
//! (complex numbers everywhere, `random_bits`). Control flow runs compiled sub-functions
//! ([`crate::control`]).

use gradjit_ir::{ArgOp, BinaryOp, CompareOp, PrimKind, ReduceOp, UnaryOp};

const COMPLEX: &str = "complex → interpreter";

/// How compiled code executes a primitive of kind `kind`.
pub fn lowering_summary(kind: PrimKind) -> &'static str {
    match kind {
        PrimKind::Unary(op) => unary(op),
        PrimKind::Binary(op) => binary(op),
        PrimKind::Compare(CompareOp::Eq | CompareOp::Ne) => {
            "fused loop: `fcmp` giving a lane mask (SIMD) / `icmp` (scalar); complex → interpreter"
        }
        PrimKind::Compare(CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge) => {
            "fused loop: `fcmp` giving a lane mask (SIMD) / signed `icmp`, unsigned for `bool` (scalar)"
        }
        PrimKind::IntegerPow => {
            "fused loop: binary powering with `fmul` (SIMD; the interpreter's product order, bit for bit); integers: \
             runtime call `gj_pow_*`"
        }
        PrimKind::Select => "fused loop: `bitselect` on a lane mask (SIMD) / `select` (scalar)",
        PrimKind::BroadcastInDim => {
            "no code: a view with stride 0 on the new dims, read by the loop that consumes it (stored by a copy kernel \
             if a host step needs it)"
        }
        PrimKind::Reshape => "no code: a view with new strides (its operand is stored first if not contiguous)",
        PrimKind::Transpose | PrimKind::Slice | PrimKind::Rev => {
            "host step: native strided copy loop (byte moves, any dtype)"
        }
        PrimKind::Pad => "host step: fill with the value, then native strided copy loop",
        PrimKind::Concatenate => "host step: native strided copy loop per operand",
        PrimKind::DynamicSlice => "host step: native strided copy loop from the clamped offset",
        PrimKind::DynamicUpdateSlice => "host step: copy of `x`, then native strided copy of the block",
        PrimKind::Gather => "host step: native copy loop of contiguous blocks (indices clamped)",
        PrimKind::ScatterAdd => {
            "host step: native loop, in the interpreter's accumulation order (f32, f64, i32, i64, bool); other dtypes \
             → interpreter"
        }
        PrimKind::Reduce(op) => reduce(op),
        PrimKind::Arg(ArgOp::ArgMax | ArgOp::ArgMin) => {
            "host step: native loop (f32, f64, i32, i64; first extreme, NaN wins); other dtypes → interpreter"
        }
        PrimKind::DotGeneral => {
            "host step: GEMM (`gemm` crate, f32/f64, all cores from 2¹⁸ multiply-adds) per batch index, operands in \
             place when strides allow; integers: plain loop; complex → interpreter"
        }
        PrimKind::ConvertElementType => {
            "fused loop: scalar `fpromote`/`fdemote`/`fcvt_*` (float → int saturating); the one SIMD conversion is a \
             `bool` mask to 0.0/1.0; complex → interpreter"
        }
        PrimKind::Iota => "no code: the loop index, read by the loop that consumes it; complex → interpreter",
        PrimKind::Constant => "splat: an immediate in the loop; dense: a read-only buffer bound at each call",
        PrimKind::StopGradient => "no code: an alias of its operand",
        PrimKind::RandomBits => "host step: interpreter (Threefry-2x32 in Rust)",
        PrimKind::Call => "inlined before planning: its equations fuse with the caller's",
        PrimKind::Scan => {
            "native loop: the body compiled once (its own fused kernels and GEMMs), called per step on slices of `xs` \
             and `ys` addressed by pointer offset; carries in two buffers swapped per step; no allocation per step"
        }
        PrimKind::While => {
            "native loop: condition and body compiled once; the condition writes a flag, the body steps carries in \
             two swapped buffers"
        }
        PrimKind::Cond => "branches compiled once each; the index (clamped) picks one, run into the results in place",
        PrimKind::CustomJvp | PrimKind::CustomVjp => {
            "inlined before planning: `body` fuses with the caller (the rules only matter to autodiff)"
        }
        PrimKind::CustomLin => "none: reaching it is a run-time error (it exists only to be transposed)",
        PrimKind::Collective(_) => {
            "none: compiling one is an error (its axis name is unbound; `vmap` rewrites it into a reduction)"
        }
    }
}

fn unary(op: UnaryOp) -> &'static str {
    use UnaryOp::*;
    match op {
        Neg => "fused loop: `fneg` (SIMD) / `ineg` (scalar); complex → interpreter",
        Abs => "fused loop: `fabs` (SIMD) / compare and `select` (scalar); complex → interpreter",
        Sign => "fused loop: `copysign(1, x)` keeping `±0` and NaN (SIMD) / two `select`s (scalar); complex → interpreter",
        Exp => "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 2 ulp f64; complex → interpreter",
        Expm1 => "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 3 ulp f64; complex → interpreter",
        Log => "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 2 ulp f64; complex → interpreter",
        Log1p => "fused SIMD loop, polynomial in CLIF (log kernel + correction): ≤ 2 ulp f32, ≤ 2 ulp f64; complex → interpreter",
        Sqrt => "fused SIMD loop: `sqrt` instruction, ≤ 0.5 ulp f32, ≤ 0.5 ulp f64; complex → interpreter",
        Rsqrt => "fused SIMD loop: `1 / sqrt(x)`, ≤ 2 ulp f32, ≤ 2 ulp f64; complex → interpreter",
        Tanh => "fused SIMD loop, polynomial in CLIF (+ exp): ≤ 2 ulp f32, ≤ 3 ulp f64; complex → interpreter",
        Logistic => "fused SIMD loop, exp in CLIF + division: ≤ 2 ulp f32, ≤ 3 ulp f64; complex → interpreter",
        Sin => "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 2 ulp f64; complex → interpreter",
        Cos => "fused SIMD loop, polynomial in CLIF (sin's reduction): ≤ 2 ulp f32, ≤ 2 ulp f64; complex → interpreter",
        Tan => "fused SIMD loop, polynomial quotient in CLIF: ≤ 3 ulp f32, ≤ 3 ulp f64; complex → interpreter",
        Erf => "fused SIMD loop, polynomial in CLIF (+ exp): ≤ 2 ulp f32, ≤ 2 ulp f64",
        Floor => "fused SIMD loop: `floor` instruction",
        Ceil => "fused SIMD loop: `ceil` instruction",
        Round => "fused SIMD loop: `trunc`, then ±1 when the dropped fraction is ≥ ½",
        IsFinite => "fused SIMD loop: `|x| < ∞` as a lane mask",
        Not => "fused loop: `bnot` on a lane mask (SIMD) / `xor 1` for `bool`, `bnot` for integers (scalar)",
        Real | Imag | Conj => COMPLEX,
    }
}

fn binary(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "fused loop: `fadd` (SIMD) / wrapping `iadd` (scalar); complex → interpreter",
        Sub => "fused loop: `fsub` (SIMD) / wrapping `isub` (scalar); complex → interpreter",
        Mul => "fused loop: `fmul` (SIMD) / wrapping `imul` (scalar); complex → interpreter",
        Div => {
            "fused loop: `fdiv` (SIMD); integers: runtime call `gj_div_*` (XLA's corner cases); complex → interpreter"
        }
        Pow => {
            "fused SIMD loop, double-double log and exp in CLIF: ≤ 1 ulp f32, ≤ 2 ulp f64; integers: runtime call \
             `gj_pow_*`; complex → interpreter"
        }
        Max => "fused loop: `fmax` (SIMD, NaN-propagating) / compare and `select` (scalar)",
        Min => "fused loop: `fmin` (SIMD, NaN-propagating) / compare and `select` (scalar)",
        Rem => "fused loop: runtime call per lane, `gj_fmod_*` (floats, exact) / `gj_rem_*` (integers)",
        Atan2 => "fused SIMD loop, polynomial in CLIF with octant fix-up: ≤ 3 ulp f32, ≤ 3 ulp f64",
        And => "fused loop: `band` on lane masks (SIMD) / on integers (scalar)",
        Or => "fused loop: `bor` on lane masks (SIMD) / on integers (scalar)",
        ShiftRightLogical => "fused scalar loop: `ushr`, 0 when the shift ≥ bit width",
        Complex => COMPLEX,
    }
}

fn reduce(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Sum => {
            "fused: accumulated (`fadd`, SIMD for floats) by the loop over the operand; small full reductions of \
             inputs in a kernel prologue; complex → interpreter"
        }
        ReduceOp::Max => {
            "fused: accumulated (`fmax`, SIMD for floats; `bor` for bool) by the loop over the operand; small full \
             reductions of inputs in a kernel prologue"
        }
        ReduceOp::Min => {
            "fused: accumulated (`fmin`, SIMD for floats; `band` for bool) by the loop over the operand; small full \
             reductions of inputs in a kernel prologue"
        }
        ReduceOp::Prod => {
            "fused: accumulated (`fmul`, SIMD for floats) by the loop over the operand; small full reductions of \
             inputs in a kernel prologue; complex → interpreter"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(function, precision, bound)` from the accuracy table of docs/transcendentals.md.
    fn documented_bounds() -> Vec<(String, String, String)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/transcendentals.md");
        let text = std::fs::read_to_string(path).expect("docs/transcendentals.md");
        text.lines()
            .filter_map(|line| {
                let line = line.replace("\\|", "¦");
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                // | function | precision | algorithm | range | measured | bound |
                if cells.len() != 8 || !cells[1].starts_with('`') {
                    return None;
                }
                Some((cells[1].trim_matches('`').to_string(), cells[2].to_string(), cells[6].to_string()))
            })
            .collect()
    }

    /// Every ulp bound quoted here is the one the ulp tests assert, for every math emitter.
    #[test]
    fn quoted_ulp_bounds_match_the_transcendentals_table() {
        let bounds = documented_bounds();
        let names = crate::math::UNARY.iter().map(|(n, _)| *n).chain(crate::math::BINARY.iter().map(|(n, _)| *n));
        let mut checked = 0;
        for name in names {
            let kind = PrimKind::from_name(name).unwrap_or_else(|| panic!("no primitive named {name}"));
            let summary = lowering_summary(kind);
            for precision in ["f32", "f64"] {
                let (_, _, bound) = bounds
                    .iter()
                    .find(|(f, p, _)| f == name && p == precision)
                    .unwrap_or_else(|| panic!("docs/transcendentals.md has no bound for {name} {precision}"));
                let quoted = format!("≤ {bound} ulp {precision}");
                assert!(summary.contains(&quoted), "{name}: {summary:?} should quote {quoted:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 2 * (crate::math::UNARY.len() + crate::math::BINARY.len()));
    }
}
