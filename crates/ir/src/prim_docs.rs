//! One-line descriptions of the primitives: operands, result and static parameters.
//!
//! This is the IR column of the primitive table in `docs/primitives.md`; `gradjit-autodiff`'s
//! `rule_summary` and `gradjit-codegen`'s `lowering_summary` give the other columns, and a test
//! of the workspace renders the table from all three and compares it with the document. Every
//! `match` here is exhaustive, so a new primitive does not compile until it is described.
//!
//! Notation: operands are named in order, `→` separates them from the result, parameters are in
//! brackets as the text format prints them. Elementwise operands have equal types (broadcasting
//! is explicit, through `broadcast_in_dim`).

use crate::prim::{ArgOp, BinaryOp, CollectiveOp, CompareOp, PrimKind, ReduceOp, UnaryOp};

/// What a primitive takes, returns and is parameterised by.
pub fn describe(kind: PrimKind) -> &'static str {
    match kind {
        PrimKind::Unary(op) => unary(op),
        PrimKind::Binary(op) => binary(op),
        PrimKind::Compare(op) => compare(op),
        PrimKind::Reduce(op) => reduce(op),
        PrimKind::Arg(op) => arg(op),
        PrimKind::IntegerPow => "`x` → `xʸ`, `[y]` a static `i32` (repeated multiplication; `1/x^-y` for `y < 0`)",
        PrimKind::Select => "`pred on_true on_false` → `pred ? on_true : on_false`; `pred` is `bool` of the same shape",
        PrimKind::BroadcastInDim => {
            "`x` → `x` placed into `[shape]`: operand dim `i` becomes output dim `dims[i]` (equal size or 1)"
        }
        PrimKind::Reshape => "`x` → the same elements (row-major) in `[shape]` of equal size",
        PrimKind::Transpose => "`x` → `x` with dims permuted: output dim `i` is operand dim `perm[i]`",
        PrimKind::Slice => "`x` → `x[start:limit:stride]` per dim, `[start, limit, stride]`",
        PrimKind::Pad => {
            "`x` → `x` padded with the static scalar `[value]`: `low`/`high` per end (may be 0), `interior` between \
             elements"
        }
        PrimKind::Concatenate => "`x0 x1 …` → the operands joined along `[axis]`",
        PrimKind::Rev => "`x` → `x` reversed along `[axes]`",
        PrimKind::Gather => {
            "`x idx` → `take(x, idx, axis)`, shape `x[..axis] ++ idx ++ x[axis+1..]`; integer indices clamped"
        }
        PrimKind::ScatterAdd => {
            "`x idx upd` → `x` with `upd` added at `idx` along `[axis]` (indices clamped, repeats add)"
        }
        PrimKind::DynamicSlice => "`x i0 i1 …` → the block of `[sizes]` at scalar integer indices (clamped into range)",
        PrimKind::DynamicUpdateSlice => "`x upd i0 i1 …` → `x` with block `upd` written at scalar indices (clamped)",
        PrimKind::DotGeneral => {
            "`lhs rhs` → generalised matrix product, `[lhs_contract, rhs_contract, lhs_batch, rhs_batch]`; result \
             dims: batch, lhs free, rhs free"
        }
        PrimKind::ConvertElementType => "`x` → `x` as `[dtype]` (float → int truncates and saturates, NaN → 0)",
        PrimKind::Iota => "`()` → `0, 1, 2, …` along `[axis]` of `[shape]`, of `[dtype]`",
        PrimKind::Constant => "`()` → a literal: one scalar splat over a shape, or dense captured data",
        PrimKind::StopGradient => "`x` → `x`; its derivative is zero",
        PrimKind::RandomBits => {
            "`key:i64[]` → `i32`/`i64` bits of `[shape]`: Threefry-2x32 keyed by `key` over counters `0..n`"
        }
        PrimKind::Call => "`xs…` → `body(xs…)`, a sub-function called inline",
        PrimKind::Scan => {
            "`consts… init… xs…` → `carry… ys…`: `[length]` steps of `body(consts, carry, x slices) = (carry, y \
             slices)`, ys stacked on a new leading axis; `[reverse, num_consts, num_carry]`"
        }
        PrimKind::While => {
            "`cond_consts… body_consts… init…` → `carry…`: `carry = body(body_consts, carry)` while \
             `cond(cond_consts, carry)`"
        }
        PrimKind::Cond => {
            "`index operands…` → `branches[index](operands…)`; index a clamped integer or a bool (`false` is branch \
             0)"
        }
        PrimKind::CustomJvp => "`xs…` → `body(xs…)`, differentiated by the rule `jvp(xs…, ts…)` instead of `body`",
        PrimKind::CustomVjp => {
            "`xs…` → `body(xs…)`, reverse mode by `fwd(xs…) = (ys…, residuals…)` and `bwd(residuals…, cts…)`"
        }
        PrimKind::CustomLin => {
            "`residuals… tangents…` → output tangents: the linear map whose transpose is `bwd`; `[num_res]`; never \
             evaluated"
        }
        PrimKind::Collective(op) => collective(op),
    }
}

fn collective(op: CollectiveOp) -> &'static str {
    match op {
        CollectiveOp::Psum => "`x` → `Σ x` over the lanes of the mapped axis `[axis_name]` (bound by `vmap`)",
        CollectiveOp::Pmean => "`x` → the mean of `x` over the lanes of the mapped axis `[axis_name]`",
        CollectiveOp::Pmax => "`x` → `max x` over the lanes of the mapped axis `[axis_name]`; real",
        CollectiveOp::Pmin => "`x` → `min x` over the lanes of the mapped axis `[axis_name]`; real",
    }
}

fn unary(op: UnaryOp) -> &'static str {
    use UnaryOp::*;
    match op {
        Neg => "`x` → `−x`; numeric",
        Abs => "`x` → `|x|`; numeric (the modulus of a complex, as a real)",
        Sign => "`x` → `−1`, `0` or `1` (`±0`, NaN kept); `z/|z|` for complex",
        Exp => "`x` → `eˣ`; float or complex",
        Expm1 => "`x` → `eˣ − 1`, accurate near 0; float or complex",
        Log => "`x` → `ln x`; float or complex",
        Log1p => "`x` → `ln(1 + x)`, accurate near 0; float or complex",
        Sqrt => "`x` → `√x`; float or complex",
        Rsqrt => "`x` → `1/√x`; float or complex",
        Tanh => "`x` → `tanh x`; float or complex",
        Logistic => "`x` → `1/(1 + e⁻ˣ)`; float or complex",
        Sin => "`x` → `sin x`; float or complex",
        Cos => "`x` → `cos x`; float or complex",
        Tan => "`x` → `tan x`; float or complex",
        Erf => "`x` → `erf x`; float",
        Floor => "`x` → `⌊x⌋`; float",
        Ceil => "`x` → `⌈x⌉`; float",
        Round => "`x` → `x` rounded half away from zero; float",
        IsFinite => "`x` → `bool`: neither infinite nor NaN; float",
        Not => "`x` → logical not (`bool`) or bitwise not (integers)",
        Real => "`z` → `Re z`, real; complex",
        Imag => "`z` → `Im z`, real; complex",
        Conj => "`z` → `z̄`; complex",
    }
}

fn binary(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "`a b` → `a + b`; numeric (integers wrap)",
        Sub => "`a b` → `a − b`; numeric (integers wrap)",
        Mul => "`a b` → `a · b`; numeric (integers wrap)",
        Div => "`a b` → `a / b`; numeric (integers truncate; `x/0 = −1`)",
        Pow => "`a b` → `aᵇ`; numeric",
        Max => "`a b` → `max(a, b)`, NaN-propagating, `−0 < +0`; float or integer",
        Min => "`a b` → `min(a, b)`, NaN-propagating, `−0 < +0`; float or integer",
        Rem => "`a b` → `a − b·trunc(a/b)` (C `fmod`); float or integer",
        Atan2 => "`a b` → `atan2(a, b)`, the angle of the point `(b, a)`; float",
        And => "`a b` → logical / bitwise and; `bool` or integer",
        Or => "`a b` → logical / bitwise or; `bool` or integer",
        ShiftRightLogical => "`a b` → `a >>> b` (zero-filling; `0` when `b` ≥ bit width); integer",
        Complex => "`re im` → `re + i·im`, complex of the operands' float width",
    }
}

fn compare(op: CompareOp) -> &'static str {
    use CompareOp::*;
    match op {
        Eq => "`a b` → `bool`: `a = b`",
        Ne => "`a b` → `bool`: `a ≠ b` (true for NaN)",
        Lt => "`a b` → `bool`: `a < b`; ordered types",
        Le => "`a b` → `bool`: `a ≤ b`; ordered types",
        Gt => "`a b` → `bool`: `a > b`; ordered types",
        Ge => "`a b` → `bool`: `a ≥ b`; ordered types",
    }
}

fn reduce(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Sum => "`x` → `Σ x` over `[axes]` (removed from the shape)",
        ReduceOp::Max => "`x` → `max x` over `[axes]`; `−∞` (or the type's minimum) when empty",
        ReduceOp::Min => "`x` → `min x` over `[axes]`; `+∞` (or the type's maximum) when empty",
        ReduceOp::Prod => "`x` → `Π x` over `[axes]`",
    }
}

fn arg(op: ArgOp) -> &'static str {
    match op {
        ArgOp::ArgMax => "`x` → index of the first maximum along `[axis]` (NaN wins), of `[index_dtype]`",
        ArgOp::ArgMin => "`x` → index of the first minimum along `[axis]` (NaN wins), of `[index_dtype]`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_description_with_an_arrow() {
        let all = PrimKind::all();
        let mut seen = std::collections::HashMap::new();
        for k in &all {
            let d = describe(*k);
            assert!(d.contains('→'), "{}: {d}", k.name());
            if let Some(other) = seen.insert(d, k.name()) {
                panic!("{} and {} share the description {d:?}", other, k.name());
            }
        }
        assert_eq!(seen.len(), all.len());
    }
}
