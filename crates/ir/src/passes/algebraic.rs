//! Algebraic simplification: local rewrites, each stated as its algebra.
//!
//! The rules are exact except for the sign of zero. Like XLA's algebraic simplifier and JAX's
//! symbolic zeros, they treat `-0.0` and `+0.0` as one number, so that the zeros reverse mode
//! produces can vanish: `x+0 → x` is wrong only for `x = -0.0` (`-0.0 + 0.0` is `+0.0`). A
//! simplified function therefore computes the same values as the original when zeros are read
//! as unsigned; it may return `-0.0` for `+0.0` (or `-inf` for `+inf` from `1/x` of such a zero).
//! The rules marked "up to the sign of zero" are the ones that take this liberty.
//!
//! Rules that are wrong for other IEEE special values are restricted: `x*0 → 0` applies to
//! integers only, since `nan*0` and `inf*0` are `nan` (JAX and XLA do not fold it either), and
//! complex `x*1` is left alone, since the product computes `im*0`, `nan` for an infinite part.
//!
//! Constant operands are recognised through splat constants; the fold pass turns arithmetic
//! on constants into constants, so the rules here need only spot neutral and absorbing
//! elements, inverse pairs and chains of layout operations.

use super::rewrite::{self, Rewrite, Rule, Site};
use crate::dtype::{DType, Shape};
use crate::function::Function;
use crate::prim::{Axes, BinaryOp, Literal, Prim, ReduceOp, UnaryOp};
use crate::Scalar;
use num_complex::Complex64;
use smallvec::smallvec;

/// Applies the rules of this module to every equation, recursively inside `call` bodies.
pub fn algebraic(f: &Function) -> Function {
    rewrite::rewrite(f, RULES, algebraic)
}

/// The rules, tried in order on each equation.
pub(crate) const RULES: &[Rule] = &[
    Rule { name: "passthrough", apply: passthrough },
    Rule { name: "neutral_element", apply: neutral_element },
    Rule { name: "absorbing_element", apply: absorbing_element },
    Rule { name: "idempotent", apply: idempotent },
    Rule { name: "involution", apply: involution },
    Rule { name: "negated_operand", apply: negated_operand },
    Rule { name: "zero_minus", apply: zero_minus },
    Rule { name: "times_minus_one", apply: times_minus_one },
    Rule { name: "small_integer_power", apply: small_integer_power },
    Rule { name: "select_constant_predicate", apply: select_constant_predicate },
    Rule { name: "select_same_branches", apply: select_same_branches },
    Rule { name: "convert_round_trip", apply: convert_round_trip },
    Rule { name: "splat_layout", apply: splat_layout },
    Rule { name: "stop_gradient_constant", apply: stop_gradient_constant },
    Rule { name: "scalar_broadcast_layout", apply: scalar_broadcast_layout },
    Rule { name: "compose_broadcast", apply: compose_broadcast },
    Rule { name: "compose_reshape", apply: compose_reshape },
    Rule { name: "compose_transpose", apply: compose_transpose },
    Rule { name: "constant_reduction", apply: constant_reduction },
    Rule { name: "dot_with_ones", apply: dot_with_ones },
    Rule { name: "sum_unit_axes", apply: sum_unit_axes },
];

/// Operations that return one operand unchanged for these parameters and types.
fn passthrough(s: &Site) -> Option<Rewrite> {
    let x = s.ty_of(*s.inputs.first()?);
    let same_shape = x.shape == s.ty.shape;
    let operand = match s.prim {
        // broadcast_in_dim[shape=x.shape] x == x
        Prim::BroadcastInDim { .. } if same_shape => 0,
        // reshape[shape=x.shape] x == x
        Prim::Reshape { .. } if same_shape => 0,
        // transpose[permutation=(0, 1, ..)] x == x
        Prim::Transpose { perm } if is_identity(perm) => 0,
        // x[0:n:1] == x
        Prim::Slice { start, .. } if same_shape && start.iter().all(|&i| i == 0) => 0,
        // pad of nothing: x == x
        Prim::Pad { low, .. } if same_shape && low.iter().all(|&i| i == 0) => 0,
        // rev over axes of size <= 1 == x
        Prim::Rev { axes } if axes.iter().all(|&a| x.dims()[a] <= 1) => 0,
        // concatenate of one operand == x
        Prim::Concatenate { .. } if s.inputs.len() == 1 => 0,
        // dynamic_slice of the whole array == x (the start indices are clamped to 0)
        Prim::DynamicSlice { .. } if same_shape => 0,
        // dynamic_update_slice of a whole-array update == the update
        Prim::DynamicUpdateSlice if *s.operand_ty(1) == *s.ty => 1,
        // reduce over no axes == x (a sum up to the sign of zero: it computes 0 + x; complex
        // products are excluded: 1 * x computes 0 * im)
        Prim::Reduce { op, axes } if axes.is_empty() && !(*op == ReduceOp::Prod && x.dtype.is_complex()) => 0,
        // convert_element_type to x's dtype == x
        Prim::ConvertElementType { dtype } if *dtype == x.dtype => 0,
        // x^1 == x
        Prim::IntegerPow { y: 1 } => 0,
        _ => return None,
    };
    Some(Rewrite::Value(s.inputs[operand]))
}

/// Which operand of a binary operation a rule matches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Right,
    Both,
}

/// `op(x, e) == x` (and `op(e, x) == x` for `Side::Both`) for elements `e` satisfying `is`, on
/// dtypes satisfying `dtypes`.
struct ElementRule {
    op: BinaryOp,
    side: Side,
    is: fn(Scalar) -> bool,
    dtypes: fn(DType) -> bool,
}

const NEUTRAL: &[ElementRule] = &[
    // x*1 == x, 1*x == x
    ElementRule { op: BinaryOp::Mul, side: Side::Both, is: is_one, dtypes: is_real },
    // x+0 == x, 0+x == x (up to the sign of zero)
    ElementRule { op: BinaryOp::Add, side: Side::Both, is: is_zero, dtypes: DType::is_numeric },
    // x-0 == x (up to the sign of zero: x - (-0.0) is x + 0.0)
    ElementRule { op: BinaryOp::Sub, side: Side::Right, is: is_zero, dtypes: DType::is_numeric },
    // x/1 == x
    ElementRule { op: BinaryOp::Div, side: Side::Right, is: is_one, dtypes: is_real },
    // pow(x, 1) == x
    ElementRule { op: BinaryOp::Pow, side: Side::Right, is: is_one, dtypes: DType::is_float },
    // x|0 == x, 0|x == x (false for bool)
    ElementRule { op: BinaryOp::Or, side: Side::Both, is: is_zero, dtypes: any },
    // x&-1 == x, -1&x == x (true for bool)
    ElementRule { op: BinaryOp::And, side: Side::Both, is: is_all_ones, dtypes: any },
    // x>>0 == x
    ElementRule { op: BinaryOp::ShiftRightLogical, side: Side::Right, is: is_zero, dtypes: any },
];

const ABSORBING: &[ElementRule] = &[
    // x*0 == 0, 0*x == 0 (integers only: nan*0 and inf*0 are nan)
    ElementRule { op: BinaryOp::Mul, side: Side::Both, is: is_zero, dtypes: DType::is_int },
    // x&0 == 0, 0&x == 0 (false for bool)
    ElementRule { op: BinaryOp::And, side: Side::Both, is: is_zero, dtypes: any },
    // x|-1 == -1, -1|x == -1 (true for bool)
    ElementRule { op: BinaryOp::Or, side: Side::Both, is: is_all_ones, dtypes: any },
];

/// The operand (0 or 1) of `s` that is a splat constant matching `rule`, if any.
fn element_operand(s: &Site, rules: &[ElementRule]) -> Option<usize> {
    let Prim::Binary(op) = s.prim else { return None };
    let dtype = s.operand_ty(0).dtype;
    let rule = rules.iter().find(|r| r.op == *op && (r.dtypes)(dtype))?;
    let sides: &[usize] = if rule.side == Side::Both { &[1, 0] } else { &[1] };
    sides.iter().copied().find(|&i| s.splat(i).is_some_and(rule.is))
}

fn neutral_element(s: &Site) -> Option<Rewrite> {
    element_operand(s, NEUTRAL).map(|i| Rewrite::Value(s.inputs[1 - i]))
}

fn absorbing_element(s: &Site) -> Option<Rewrite> {
    element_operand(s, ABSORBING).map(|i| Rewrite::Value(s.inputs[i]))
}

/// The operand of `x` if it is defined by `prim`.
fn operand_of(s: &Site, i: usize, prim: &Prim) -> Option<crate::Value> {
    s.producer(i).filter(|(p, _)| *p == prim).map(|(_, ins)| ins[0])
}

fn idempotent(s: &Site) -> Option<Rewrite> {
    // max(x, x) == min(x, x) == x&x == x|x == x
    let op = matches!(s.prim, Prim::Binary(BinaryOp::Max | BinaryOp::Min | BinaryOp::And | BinaryOp::Or));
    (op && s.inputs[0] == s.inputs[1]).then(|| Rewrite::Value(s.inputs[0]))
}

fn involution(s: &Site) -> Option<Rewrite> {
    match s.prim {
        // neg(neg x) == x, conj(conj x) == x, not(not x) == x
        Prim::Unary(UnaryOp::Neg | UnaryOp::Conj | UnaryOp::Not) => operand_of(s, 0, s.prim).map(Rewrite::Value),
        _ => None,
    }
}

fn negated_operand(s: &Site) -> Option<Rewrite> {
    let neg = Prim::Unary(UnaryOp::Neg);
    let binary = |op, x, y| Some(Rewrite::Eqn(Box::new(Prim::Binary(op)), smallvec![x, y]));
    match s.prim {
        // x + (-y) == x - y
        Prim::Binary(BinaryOp::Add) if operand_of(s, 1, &neg).is_some() => {
            binary(BinaryOp::Sub, s.inputs[0], operand_of(s, 1, &neg)?)
        }
        // (-y) + x == x - y
        Prim::Binary(BinaryOp::Add) => binary(BinaryOp::Sub, s.inputs[1], operand_of(s, 0, &neg)?),
        // x - (-y) == x + y
        Prim::Binary(BinaryOp::Sub) => binary(BinaryOp::Add, s.inputs[0], operand_of(s, 1, &neg)?),
        _ => None,
    }
}

fn zero_minus(s: &Site) -> Option<Rewrite> {
    // 0 - x == -x (up to the sign of zero)
    let minus = *s.prim == Prim::Binary(BinaryOp::Sub) && s.splat(0).is_some_and(is_zero);
    minus.then(|| Rewrite::unary(Prim::Unary(UnaryOp::Neg), s.inputs[1]))
}

fn times_minus_one(s: &Site) -> Option<Rewrite> {
    // x * -1 == -x, -1 * x == -x
    if *s.prim != Prim::Binary(BinaryOp::Mul) || !is_real(s.ty.dtype) {
        return None;
    }
    let minus_one =
        [1, 0].into_iter().find(|&i| s.splat(i).is_some_and(|c| c.to_c128() == Complex64::new(-1.0, 0.0)))?;
    Some(Rewrite::unary(Prim::Unary(UnaryOp::Neg), s.inputs[1 - minus_one]))
}

fn small_integer_power(s: &Site) -> Option<Rewrite> {
    match s.prim {
        // x^0 == 1 (nan^0 too, as in JAX)
        Prim::IntegerPow { y: 0 } => {
            Some(Rewrite::constant(Literal::Splat(Scalar::from_f64(1.0, s.ty.dtype), s.ty.shape.clone())))
        }
        // x^2 == x*x: integer_pow multiplies exactly this way, and CSE can then share the
        // product with an existing `mul x x`
        Prim::IntegerPow { y: 2 } => {
            Some(Rewrite::Eqn(Box::new(Prim::Binary(BinaryOp::Mul)), smallvec![s.inputs[0], s.inputs[0]]))
        }
        _ => None,
    }
}

fn select_constant_predicate(s: &Site) -> Option<Rewrite> {
    // select(true, a, b) == a, select(false, a, b) == b
    match (s.prim, s.splat(0)?) {
        (Prim::Select, Scalar::Bool(p)) => Some(Rewrite::Value(s.inputs[if p { 1 } else { 2 }])),
        _ => None,
    }
}

fn select_same_branches(s: &Site) -> Option<Rewrite> {
    // select(p, a, a) == a
    (*s.prim == Prim::Select && s.inputs[1] == s.inputs[2]).then(|| Rewrite::Value(s.inputs[1]))
}

fn convert_round_trip(s: &Site) -> Option<Rewrite> {
    // convert(convert(x, b), a) == x for x of dtype a, when a -> b is exact
    let Prim::ConvertElementType { dtype: back } = s.prim else { return None };
    let (Prim::ConvertElementType { dtype: wide }, ins) = s.producer(0)? else { return None };
    let x = ins[0];
    (s.ty_of(x).dtype == *back && converts_exactly(*back, *wide)).then_some(Rewrite::Value(x))
}

/// True if every value of `from` converts to `to` and back unchanged.
fn converts_exactly(from: DType, to: DType) -> bool {
    use DType::*;
    matches!(
        (from, to),
        (Bool, F32 | F64 | I32 | I64 | C64 | C128)
            | (I32, I64 | F64 | C128)
            | (F32, F64 | C64 | C128)
            | (F64, C128)
            | (C64, C128)
    )
}

/// True for layout operations whose every output element is an element of operand 0.
fn moves_operand0(prim: &Prim) -> bool {
    matches!(
        prim,
        Prim::BroadcastInDim { .. }
            | Prim::Reshape { .. }
            | Prim::Transpose { .. }
            | Prim::Rev { .. }
            | Prim::Slice { .. }
            | Prim::DynamicSlice { .. }
            | Prim::Gather { .. }
    )
}

fn splat_layout(s: &Site) -> Option<Rewrite> {
    // A layout operation on copies of one scalar c is more copies of c: e.g.
    // broadcast_in_dim(splat c) == splat c, pad(splat c, value=c) == splat c.
    let c = s.splat(0)?;
    let all_c = |ins: &[usize]| ins.iter().all(|&i| s.splat(i) == Some(c));
    let splat = match s.prim {
        p if moves_operand0(p) => true,
        Prim::Pad { value, .. } => *value == c,
        Prim::Concatenate { .. } => all_c(&(1..s.inputs.len()).collect::<Vec<_>>()),
        Prim::DynamicUpdateSlice => all_c(&[1]),
        _ => false,
    };
    splat.then(|| Rewrite::constant(Literal::Splat(c, s.ty.shape.clone())))
}

fn stop_gradient_constant(s: &Site) -> Option<Rewrite> {
    // stop_gradient(c) == c for a constant c (it has no derivative to stop)
    (*s.prim == Prim::StopGradient && s.literal(0).is_some()).then(|| Rewrite::Value(s.inputs[0]))
}

fn scalar_broadcast_layout(s: &Site) -> Option<Rewrite> {
    // A layout operation on a broadcast scalar x is a broadcast of x:
    // reshape(broadcast_in_dim(x)) == broadcast_in_dim(x) of the new shape, and so on.
    if !moves_operand0(s.prim) || matches!(s.prim, Prim::BroadcastInDim { .. }) {
        return None;
    }
    let (Prim::BroadcastInDim { .. }, ins) = s.producer(0)? else { return None };
    let x = ins[0];
    (s.ty_of(x).rank() == 0)
        .then(|| Rewrite::unary(Prim::BroadcastInDim { shape: s.ty.shape.clone(), dims: Axes::new() }, x))
}

fn compose_broadcast(s: &Site) -> Option<Rewrite> {
    // broadcast_in_dim(broadcast_in_dim(x, s1, d1), s2, d2) == broadcast_in_dim(x, s2, d2∘d1):
    // operand dimension i goes to d1[i], which goes to d2[d1[i]].
    let Prim::BroadcastInDim { shape, dims: outer } = s.prim else { return None };
    let (Prim::BroadcastInDim { dims: inner, .. }, ins) = s.producer(0)? else { return None };
    let dims: Axes = inner.iter().map(|&d| outer[d]).collect();
    Some(Rewrite::unary(Prim::BroadcastInDim { shape: shape.clone(), dims }, ins[0]))
}

fn compose_reshape(s: &Site) -> Option<Rewrite> {
    // reshape(reshape(x, s1), s2) == reshape(x, s2): both keep the row-major order
    let Prim::Reshape { shape } = s.prim else { return None };
    let (Prim::Reshape { .. }, ins) = s.producer(0)? else { return None };
    Some(Rewrite::unary(Prim::Reshape { shape: shape.clone() }, ins[0]))
}

fn compose_transpose(s: &Site) -> Option<Rewrite> {
    // transpose(transpose(x, p), q) == transpose(x, p∘q): output dimension i is dimension
    // q[i] of the middle, which is dimension p[q[i]] of x
    let Prim::Transpose { perm: q } = s.prim else { return None };
    let (Prim::Transpose { perm: p }, ins) = s.producer(0)? else { return None };
    let perm: Axes = q.iter().map(|&i| p[i]).collect();
    Some(Rewrite::unary(Prim::Transpose { perm }, ins[0]))
}

fn constant_reduction(s: &Site) -> Option<Rewrite> {
    // reduce_sum(splat 0) == 0, reduce_prod(splat 1) == 1,
    // reduce_max(splat c) == reduce_min(splat c) == c (over a non-empty extent, c not nan)
    let Prim::Reduce { op, axes } = s.prim else { return None };
    let c = s.splat(0)?;
    let extent: usize = axes.iter().map(|&a| s.operand_ty(0).dims()[a]).product();
    let folds = match op {
        ReduceOp::Sum => is_zero(c),
        ReduceOp::Prod => is_one(c),
        ReduceOp::Max | ReduceOp::Min => extent > 0 && !c.to_c128().is_nan(),
    };
    let c = if *op == ReduceOp::Sum { Scalar::from_f64(0.0, c.dtype()) } else { c };
    folds.then(|| Rewrite::constant(Literal::Splat(c, s.ty.shape.clone())))
}

fn dot_with_ones(s: &Site) -> Option<Rewrite> {
    // dot_general(x, 1) == broadcast_in_dim(reduce_sum(x, contracting axes)) and likewise for
    // dot_general(1, x): each output element sums x*1 == x over the contracting indices. The
    // reverse mode of sum(x @ w) makes these. Exact when x's contracting axes are in increasing
    // order, so that both sum in row-major order from 0.
    let Prim::DotGeneral(d) = s.prim else { return None };
    if !is_real(s.ty.dtype) {
        return None;
    }
    let lhs_free = s.operand_ty(0).rank() - d.lhs_contract.len() - d.lhs_batch.len();
    // Which operand x is, its contracting and batch axes, and where its free axes start in the
    // output (after the batch axes, and for rhs after lhs's free axes).
    let (x, contract, batch, free_start) = if s.splat(1).is_some_and(is_one) {
        (0, &d.lhs_contract, &d.lhs_batch, d.lhs_batch.len())
    } else if s.splat(0).is_some_and(is_one) {
        (1, &d.rhs_contract, &d.rhs_batch, d.lhs_batch.len() + lhs_free)
    } else {
        return None;
    };
    if !contract.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let mut next_free = free_start..;
    let dims: Axes = (0..s.operand_ty(x).rank())
        .filter(|a| !contract.contains(a))
        .map(|a| batch.iter().position(|&b| b == a).or_else(|| next_free.next()))
        .collect::<Option<_>>()?;
    if !dims.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let sum = Prim::Reduce { op: ReduceOp::Sum, axes: contract.clone() };
    let broadcast = Prim::BroadcastInDim { shape: s.ty.shape.clone(), dims };
    Some(Rewrite::Chain(s.inputs[x], vec![sum, broadcast]))
}

fn sum_unit_axes(s: &Site) -> Option<Rewrite> {
    // reduce_sum over axes of size 1 == reshape (a sum of one element is that element, up to
    // the sign of zero)
    let Prim::Reduce { op: ReduceOp::Sum, axes } = s.prim else { return None };
    let unit = axes.iter().all(|&a| s.operand_ty(0).dims()[a] == 1);
    unit.then(|| Rewrite::unary(Prim::Reshape { shape: Shape::new(s.ty.dims()) }, s.inputs[0]))
}

fn is_identity(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(i, &p)| i == p)
}

fn is_zero(c: Scalar) -> bool {
    c.to_c128() == Complex64::new(0.0, 0.0)
}

fn is_one(c: Scalar) -> bool {
    c.to_c128() == Complex64::new(1.0, 0.0)
}

fn is_all_ones(c: Scalar) -> bool {
    matches!(c, Scalar::Bool(true) | Scalar::I32(-1) | Scalar::I64(-1))
}

fn is_real(d: DType) -> bool {
    d.is_float() || d.is_int()
}

fn any(_: DType) -> bool {
    true
}
