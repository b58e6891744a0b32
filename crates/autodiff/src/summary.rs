//! The derivative rules of every primitive, in words: the autodiff columns of the primitive
//! table in `docs/primitives.md`.
//!
//! Each entry restates what `rules/jvp.rs` and `rules/transpose.rs` (and `control/` for the
//! primitives with sub-functions) emit, so it must change with them; the `match`es are
//! exhaustive, so a new primitive does not compile until it is described here. A workspace test
//! renders the table from these summaries and compares it with the document.
//!
//! Notation: `dx` is the tangent of operand `x`, `y` the primal output (rules reuse it), `ct` the
//! output cotangent. "zero" is a symbolic zero: no equation is emitted.

use gradjit_ir::{ArgOp, BinaryOp, CollectiveOp, CompareOp, PrimKind, ReduceOp, UnaryOp};

/// The derivative rules of one primitive kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSummary {
    /// The JVP rule: the output tangent as a linear function of the operand tangents.
    pub jvp: &'static str,
    /// The transpose rule, for primitives that are linear in some operands (`None` otherwise:
    /// transposing one is an error, as it never appears in a linearized function).
    pub transpose: Option<&'static str>,
}

const fn rule(jvp: &'static str, transpose: Option<&'static str>) -> RuleSummary {
    RuleSummary { jvp, transpose }
}

/// The JVP rule and, if the primitive is linear, its transpose rule.
pub fn rule_summary(kind: PrimKind) -> RuleSummary {
    match kind {
        PrimKind::Unary(op) => unary(op),
        PrimKind::Binary(op) => binary(op),
        PrimKind::Compare(op) => compare(op),
        PrimKind::Reduce(op) => reduce(op),
        PrimKind::Arg(ArgOp::ArgMax | ArgOp::ArgMin) => rule("zero (integer result)", None),
        PrimKind::IntegerPow => rule(
            "`d xⁿ = n·xⁿ⁻¹·dx` (zero for `n = 0`, `dx` for `n = 1`)",
            Some("`ct` for `y = 1` (the identity); other powers are not linear"),
        ),
        PrimKind::Select => rule(
            "`select(p, d_on_true, d_on_false)`, zeros instantiated; `p` has no tangent",
            Some("`on_true`: `select(p, ct, 0)`, `on_false`: `select(p, 0, ct)`"),
        ),
        PrimKind::BroadcastInDim => rule(
            "`broadcast_in_dim(dx)`",
            Some("`reduce_sum` of `ct` over the created and expanded dims, reshaped to `x`: the one place cotangents are summed"),
        ),
        PrimKind::Reshape => rule("`reshape(dx)`", Some("`reshape(ct)` to `x`'s shape")),
        PrimKind::Transpose => rule("`transpose(dx)`", Some("`transpose(ct)` by the inverse permutation")),
        PrimKind::Slice => rule(
            "`slice(dx)`",
            Some("`pad(ct)` with zeros: `low = start`, `interior = stride − 1`"),
        ),
        PrimKind::Pad => rule(
            "`pad(dx)` with value 0 (the padding value is static)",
            Some("zero padding value only: the strided `slice` of `ct` where `x` went"),
        ),
        PrimKind::Concatenate => rule(
            "`concatenate(dx0, dx1, …)`, zeros instantiated",
            Some("each linear operand gets its `slice` of `ct` along `axis`"),
        ),
        PrimKind::Rev => rule("`rev(dx)`", Some("`rev(ct)`")),
        PrimKind::Gather => rule(
            "`gather(dx, idx)`",
            Some("`scatter_add(0, idx, ct)`: repeated indices sum"),
        ),
        PrimKind::ScatterAdd => rule(
            "`scatter_add(dx, idx, dupd)` (linear in `x` and `upd`)",
            Some("`x`: `ct`; `upd`: `gather(ct, idx)`"),
        ),
        PrimKind::DynamicSlice => rule(
            "`dynamic_slice(dx, i…)`",
            Some("`dynamic_update_slice(0, ct, i…)`"),
        ),
        PrimKind::DynamicUpdateSlice => rule(
            "`dynamic_update_slice(dx, dupd, i…)`, zeros instantiated (a zero update still overwrites)",
            Some("`x`: `dynamic_update_slice(ct, 0, i…)`; `upd`: `dynamic_slice(ct, i…)`"),
        ),
        PrimKind::DotGeneral => rule(
            "`d(a·b) = da·b + a·db`, each a `dot_general`",
            Some("`a`: `dot_general(ct, b)` over `b`'s free dims, transposed into `a`'s order; `b`: `dot_general(a, ct)` likewise (`aᵀ·ct` for a matrix product)"),
        ),
        PrimKind::ConvertElementType => rule(
            "`convert(dx)` to an inexact `dtype`; zero to integers and `bool`",
            Some("`convert(ct)` back to `x`'s dtype (zero if `x` is not inexact)"),
        ),
        PrimKind::Iota | PrimKind::Constant => rule("zero (no operands)", None),
        PrimKind::RandomBits => rule("zero (integer result)", None),
        PrimKind::StopGradient => rule("zero", Some("zero: the linear map it stands for is 0")),
        PrimKind::Call => rule(
            "one `call` of the body's JVP, returning primals and tangents together",
            Some("a `call` of the transposed linear body (reverse mode splits the body into a primal and a linear call)"),
        ),
        PrimKind::Scan => rule(
            "a `scan` of the body's JVP; which carries have tangents is a fixed point over the body",
            Some("a `scan` of the transposed body in the other direction (BPTT); the split first stacks per-step residuals in a primal scan"),
        ),
        PrimKind::While => rule(
            "a `while` of the body's JVP (the condition sees the primal carries only); reverse mode is an error: the trip count depends on data, use `scan`",
            None,
        ),
        PrimKind::Cond => rule(
            "a `cond` of the branches' JVPs, each returning the union of the branches' tangents",
            Some("a `cond` of the branches' transposes (each branch's residuals in their own slots)"),
        ),
        PrimKind::CustomJvp => rule(
            "a `call` of the user's `jvp(xs…, ts…)` (zeros instantiated); reverse mode linearizes and transposes that call",
            None,
        ),
        PrimKind::CustomVjp => rule(
            "forward mode is an error; reverse mode calls `fwd` for outputs and residuals and emits a `custom_lin` of the residuals and tangents",
            None,
        ),
        PrimKind::CustomLin => rule(
            "itself applied to the tangents (it is linear in them)",
            Some("a `call` of `bwd(residuals…, ct…)`"),
        ),
        PrimKind::Collective(CollectiveOp::Psum) => rule("`psum(dx)`", Some("`psum(ct)` (JAX's convention)")),
        PrimKind::Collective(CollectiveOp::Pmean) => rule("`pmean(dx)`", Some("`pmean(ct)`")),
        PrimKind::Collective(CollectiveOp::Pmax | CollectiveOp::Pmin) => rule(
            "`psum(select(x = y, dx, 0)) / psum(x = y)`: the mean tangent of the lanes holding the extreme",
            None,
        ),
    }
}

fn unary(op: UnaryOp) -> RuleSummary {
    use UnaryOp::*;
    match op {
        Neg => rule("`d(−x) = −dx`", Some("`−ct`")),
        Abs => rule("real: `select(x ≥ 0, 1, −1)·dx`; complex: `Re(z̄·dz)/|z|`, 0 at `z = 0`", None),
        Sign | Floor | Ceil | Round => rule("zero (piecewise constant)", None),
        IsFinite | Not => rule("zero (`bool` or integer result)", None),
        Exp => rule("`d eˣ = y·dx`", None),
        Expm1 => rule("`d(eˣ − 1) = (y + 1)·dx`", None),
        Log => rule("`d ln x = dx / x`", None),
        Log1p => rule("`d ln(1 + x) = dx / (1 + x)`", None),
        Sqrt => rule("`d √x = dx / (2y)`", None),
        Rsqrt => rule("`d x^(−½) = −½·(y / x)·dx`", None),
        Tanh => rule("`d tanh x = (1 − y²)·dx`", None),
        Logistic => rule("`d σ(x) = y·(1 − y)·dx`", None),
        Sin => rule("`d sin x = cos x·dx`", None),
        Cos => rule("`d cos x = −sin x·dx`", None),
        Tan => rule("`d tan x = (1 + y²)·dx`", None),
        Erf => rule("`d erf x = (2/√π)·e^(−x²)·dx`", None),
        Real => rule("`real(dz)`", Some("`complex(ct, 0)`")),
        Imag => rule("`imag(dz)`", Some("`complex(0, −ct)`")),
        Conj => rule("`conj(dz)`", Some("`conj(ct)`")),
    }
}

fn binary(op: BinaryOp) -> RuleSummary {
    use BinaryOp::*;
    match op {
        Add => rule("`da + db`", Some("`ct` to each linear operand")),
        Sub => rule("`da − db`", Some("`a`: `ct`; `b`: `−ct`")),
        Mul => rule("`da·b + a·db`", Some("one operand primal: `ct·b` (or `a·ct`), no conjugation")),
        Div => rule("`da/b − db·(y/b)`", Some("linear numerator only: `ct / b`")),
        Pow => rule("`b·aᵇ⁻¹·da + ln(a)·y·db`; the first term 0 where `b = 0`, the second 0 where `a = 0`", None),
        Max => rule("`w(a > b)·da + w(b > a)·db` with `w` 1 if chosen, ½ on ties, 0 otherwise", None),
        Min => rule("`w(a < b)·da + w(b < a)·db` with `w` 1 if chosen, ½ on ties, 0 otherwise", None),
        Rem => rule("`da − trunc(a/b)·db`", None),
        Atan2 => rule("`(b·da − a·db) / (a² + b²)`", None),
        And | Or | ShiftRightLogical => rule("zero (`bool` or integer result)", None),
        Complex => rule("`complex(dre, dim)`, zeros instantiated", Some("`re`: `real(ct)`; `im`: `−imag(ct)`")),
    }
}

fn compare(op: CompareOp) -> RuleSummary {
    use CompareOp::*;
    match op {
        Eq | Ne | Lt | Le | Gt | Ge => rule("zero (`bool` result)", None),
    }
}

fn reduce(op: ReduceOp) -> RuleSummary {
    match op {
        ReduceOp::Sum => rule("`reduce_sum(dx)`", Some("`ct` broadcast back over the reduced axes")),
        ReduceOp::Max | ReduceOp::Min => {
            rule("`Σ dx·[x = y] / Σ [x = y]`: the chosen element's tangent, averaged over ties", None)
        }
        ReduceOp::Prod => rule(
            "`Σ dx_i·Π_{j≠i} x_j`: `y/x_i` off zeros; at a single zero the product of the others, at several 0",
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{grad, jvp};
    use gradjit_ir::{parse_function, HostArray};

    /// A claimed transpose rule means reverse mode goes through the primitive; spot-check one
    /// linear and one non-linear primitive against the values of the rules described.
    #[test]
    fn summaries_match_the_rules_on_examples() {
        assert!(rule_summary(PrimKind::Unary(UnaryOp::Exp)).transpose.is_none());
        assert!(rule_summary(PrimKind::BroadcastInDim).transpose.unwrap().contains("summed"));
        // d tanh x = (1 - y²) dx at x = 0.5.
        let f = parse_function("{ lambda ; a:f64[]. let b:f64[] = tanh a in (b,) }").unwrap();
        let df = grad(&f, &[0]).unwrap();
        let x = HostArray::from_vec([], vec![0.5f64]).unwrap();
        let out = gradjit_ir::interp::run(&df, &[x]).unwrap();
        let y = 0.5f64.tanh();
        assert!((out[1].to_vec::<f64>().unwrap()[0] - (1.0 - y * y)).abs() < 1e-15);
        // Ties split: d max(x, x) = ½ dx + ½ dx = dx.
        let f = parse_function("{ lambda ; a:f64[]. let b:f64[] = max a a in (b,) }").unwrap();
        let jf = jvp(&f).unwrap();
        let one = HostArray::from_vec([], vec![1.0f64]).unwrap();
        let out = gradjit_ir::interp::run(&jf, &[one.clone(), one]).unwrap();
        assert_eq!(out[1].to_vec::<f64>().unwrap(), vec![1.0]);
    }

    #[test]
    fn every_kind_has_a_rule_summary() {
        for k in PrimKind::all() {
            let s = rule_summary(k);
            assert!(!s.jvp.is_empty(), "{}", k.name());
            assert!(s.transpose.is_none_or(|t| !t.is_empty()), "{}", k.name());
        }
    }
}
