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
//! (`random_bits`). Control flow runs compiled sub-functions ([`crate::control`]).
//!
//! Complex values (`c64`, `c128`) fuse like real ones: lowering splits each into a pair of real
//! values (`lower/complex.rs`), and vector loops read and write interleaved complex memory as two
//! vectors and a shuffle; `abs`, `log`, `sqrt`, `sign` and `pow` of `c64` work partly in f64, so
//! their loops are scalar. The
//! bounds quoted for complex functions are normwise relative errors, `|w − w_ref| / |w_ref|`, in
//! units of the real type's epsilon, against the interpreter (`num_complex` on Rust's libm), as
//! `tests/complex.rs` asserts them.

use gradjit_ir::{ArgOp, BinaryOp, CompareOp, PrimKind, ReduceOp, UnaryOp};

/// How compiled code executes a primitive of kind `kind`.
pub fn lowering_summary(kind: PrimKind) -> &'static str {
    match kind {
        PrimKind::Unary(op) => unary(op),
        PrimKind::Binary(op) => binary(op),
        PrimKind::Compare(CompareOp::Eq | CompareOp::Ne) => {
            "fused loop: `fcmp` giving a lane mask (SIMD) / `icmp` (scalar); complex: both parts compared, `band`/`bor`"
        }
        PrimKind::Compare(CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge) => {
            "fused loop: `fcmp` giving a lane mask (SIMD) / signed `icmp`, unsigned for `bool` (scalar)"
        }
        PrimKind::IntegerPow => {
            "fused loop: binary powering with `fmul` (SIMD; the interpreter's product order, bit for bit); integers: \
             runtime call `gj_pow_*`; complex: the same sequence of complex products (and `1 / x^|y|`), bit for bit"
        }
        PrimKind::Select => "fused loop: `bitselect` on a lane mask (SIMD) / `select` (scalar); complex: per part",
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
            "host step: native loop, in the interpreter's accumulation order (f32, f64, c64, c128, i32, i64, bool); \
             other dtypes → interpreter"
        }
        PrimKind::Reduce(op) => reduce(op),
        PrimKind::Arg(ArgOp::ArgMax | ArgOp::ArgMin) => {
            "host step: native loop (f32, f64, i32, i64; first extreme, NaN wins); other dtypes → interpreter"
        }
        PrimKind::DotGeneral => {
            "host step: GEMM (`gemm` crate, f32/f64, all cores from 2¹⁸ multiply-adds) per batch index, operands in \
             place when strides allow; complex: `gemm`'s c32/c64 kernels; integers: plain loop"
        }
        PrimKind::ConvertElementType => {
            "fused loop: scalar `fpromote`/`fdemote`/`fcvt_*` (float → int saturating); the one SIMD conversion is a \
             `bool` mask to 0.0/1.0; complex: per part (to real drops `im`, to bool is `re ≠ 0 ∨ im ≠ 0`, from real \
             has `im = 0`)"
        }
        PrimKind::Iota => "no code: the loop index, read by the loop that consumes it (complex: with `im = 0`)",
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
        Neg => "fused loop: `fneg` (SIMD) / `ineg` (scalar); complex: `fneg` of both parts",
        Abs => {
            "fused loop: `fabs` (SIMD) / compare and `select` (scalar); complex: overflow-free hypot (in f64 for c64, \
             `m·√(1 + (n/m)²)` for c128), ≤ 1 eps c64, ≤ 2 eps c128"
        },
        Sign => {
            "fused loop: `copysign(1, x)` keeping `±0` and NaN (SIMD) / two `select`s (scalar); complex: `z / |z|`, \
             `0` for `0`, ≤ 1 eps c64, ≤ 2.5 eps c128"
        },
        Exp => {
            "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 2 ulp f64; complex: `e^a (cos b + i sin b)` with \
             `num_complex`'s special cases, ≤ 3 eps"
        },
        Expm1 => {
            "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 3 ulp f64; complex: `expm1(a) cos b − 2 sin²(b/2) + \
             i e^a sin b`, ≤ 4 eps"
        },
        Log => {
            "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 2 ulp f64; complex: `ln|z| + i atan2(b, a)`, `ln|z|` \
             without overflow, ≤ 2 eps of `max(|w|, 1)`"
        },
        Log1p => {
            "fused SIMD loop, polynomial in CLIF (log kernel + correction): ≤ 2 ulp f32, ≤ 2 ulp f64; complex: \
             `½ log1p(2a + a² + b²) + i atan2(b, 1 + a)`, ≤ 2 eps of `max(|w|, 1)`"
        },
        Sqrt => {
            "fused SIMD loop: `sqrt` instruction, ≤ 0.5 ulp f32, ≤ 0.5 ulp f64; complex: Kahan's `t = √((|a| + |z|)/2)` \
             (no cancellation near the cut, no overflow), ≤ 3 eps"
        },
        Rsqrt => "fused SIMD loop: `1 / sqrt(x)`, ≤ 2 ulp f32, ≤ 2 ulp f64; complex: `1 / √z`, ≤ 4 eps",
        Tanh => {
            "fused SIMD loop, polynomial in CLIF (+ exp): ≤ 2 ulp f32, ≤ 3 ulp f64; complex: `(sinh a cosh a + i sin b \
             cos b) / (sinh² a + cos² b)`, `±1` for large `|a|` (stable at the poles and where `num_complex` is NaN), \
             ≤ 5 eps"
        },
        Logistic => {
            "fused SIMD loop, exp in CLIF + division: ≤ 2 ulp f32, ≤ 3 ulp f64; complex: `1 / (1 + e^−z)`, ≤ 4 eps"
        },
        Sin => {
            "fused SIMD loop, polynomial in CLIF: ≤ 2 ulp f32, ≤ 2 ulp f64; complex: `sin a cosh b + i cos a sinh b` \
             (`sinh`/`cosh` from `expm1`/`exp`, finite wherever they are), ≤ 4 eps"
        },
        Cos => {
            "fused SIMD loop, polynomial in CLIF (sin's reduction): ≤ 2 ulp f32, ≤ 2 ulp f64; complex: `cos a cosh b \
             − i sin a sinh b`, ≤ 4 eps"
        },
        Tan => {
            "fused SIMD loop, polynomial quotient in CLIF: ≤ 3 ulp f32, ≤ 3 ulp f64; complex: `−i tanh(iz)`, ≤ 5 eps"
        },
        Erf => "fused SIMD loop, polynomial in CLIF (+ exp): ≤ 2 ulp f32, ≤ 2 ulp f64",
        Floor => "fused SIMD loop: `floor` instruction",
        Ceil => "fused SIMD loop: `ceil` instruction",
        Round => "fused SIMD loop: `trunc`, then ±1 when the dropped fraction is ≥ ½",
        IsFinite => "fused SIMD loop: `|x| < ∞` as a lane mask",
        Not => "fused loop: `bnot` on a lane mask (SIMD) / `xor 1` for `bool`, `bnot` for integers (scalar)",
        Real | Imag => "fused loop: no code, the part itself",
        Conj => "fused loop: `fneg` of the imaginary part",
    }
}

fn binary(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "fused loop: `fadd` (SIMD) / wrapping `iadd` (scalar); complex: per part",
        Sub => "fused loop: `fsub` (SIMD) / wrapping `isub` (scalar); complex: per part",
        Mul => "fused loop: `fmul` (SIMD) / wrapping `imul` (scalar); complex: `num_complex`'s formula, bit for bit",
        Div => {
            "fused loop: `fdiv` (SIMD); integers: runtime call `gj_div_*` (XLA's corner cases); complex: \
             `num_complex`'s textbook formula, bit for bit"
        }
        Pow => {
            "fused SIMD loop, double-double log and exp in CLIF: ≤ 1 ulp f32, ≤ 2 ulp f64; integers: runtime call \
             `gj_pow_*`; complex: `exp(w ln z)` with `z^0 = 1`, `0^w = 0`, ≤ 16 eps of `max(|w|, 1)`"
        }
        Max => "fused loop: `fmax` (SIMD, NaN-propagating) / compare and `select` (scalar)",
        Min => "fused loop: `fmin` (SIMD, NaN-propagating) / compare and `select` (scalar)",
        Rem => "fused loop: runtime call per lane, `gj_fmod_*` (floats, exact) / `gj_rem_*` (integers)",
        Atan2 => "fused SIMD loop, polynomial in CLIF with octant fix-up: ≤ 3 ulp f32, ≤ 3 ulp f64",
        And => "fused loop: `band` on lane masks (SIMD) / on integers (scalar)",
        Or => "fused loop: `bor` on lane masks (SIMD) / on integers (scalar)",
        ShiftRightLogical => "fused scalar loop: `ushr`, 0 when the shift ≥ bit width",
        Complex => "fused loop: no code, the pair of its operands",
    }
}

fn reduce(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Sum => {
            "fused: accumulated (`fadd`, SIMD for floats) by the loop over the operand; small full reductions of \
             inputs in a kernel prologue; complex: two real sums"
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
             inputs in a kernel prologue; complex: host step, native loop in the interpreter's order, bit for bit"
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
