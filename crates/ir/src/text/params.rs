//! The static parameters of each primitive as the text format spells them: one table,
//! read by the printer (the parser builds each primitive from the same keys).

use crate::array::{HostArray, Scalar};
use crate::dtype::DType;
use crate::function::Function;
use crate::prim::{Literal, Prim};
use std::sync::Arc;

/// One parameter value.
pub(crate) enum Param<'a> {
    Int(i64),
    Tuple(&'a [usize]),
    DType(DType),
    Scalar(Scalar),
    Dense(&'a HostArray),
    Bool(bool),
    /// A bare word (an axis name).
    Word(&'a str),
    Function(&'a Function),
    /// A tuple of functions: `({ lambda ; ... }, { lambda ; ... })`.
    Functions(&'a [Arc<Function>]),
}

/// The parameters of `prim`, in their canonical order (the table of `docs/ir-format.md`).
pub(crate) fn params(prim: &Prim) -> Vec<(&'static str, Param<'_>)> {
    use Param::*;
    match prim {
        Prim::Unary(_)
        | Prim::Binary(_)
        | Prim::Compare(_)
        | Prim::Select
        | Prim::StopGradient
        | Prim::DynamicUpdateSlice => vec![],
        Prim::IntegerPow { y } => vec![("y", Int(i64::from(*y)))],
        Prim::BroadcastInDim { shape, dims } => {
            vec![("shape", Tuple(shape.dims())), ("broadcast_dimensions", Tuple(dims))]
        }
        Prim::Reshape { shape } => vec![("shape", Tuple(shape.dims()))],
        Prim::Transpose { perm } => vec![("permutation", Tuple(perm))],
        Prim::Slice { start, limit, stride } => {
            vec![("start", Tuple(start)), ("limit", Tuple(limit)), ("stride", Tuple(stride))]
        }
        Prim::Pad { low, high, interior, value } => {
            vec![("low", Tuple(low)), ("high", Tuple(high)), ("interior", Tuple(interior)), ("value", Scalar(*value))]
        }
        Prim::Concatenate { axis } | Prim::Gather { axis } | Prim::ScatterAdd { axis } => vec![("axis", index(*axis))],
        Prim::Rev { axes } | Prim::Reduce { axes, .. } => vec![("axes", Tuple(axes))],
        Prim::DynamicSlice { sizes } => vec![("sizes", Tuple(sizes))],
        Prim::Arg { axis, index_dtype, .. } => vec![("axis", index(*axis)), ("index_dtype", DType(*index_dtype))],
        Prim::DotGeneral(d) => vec![
            ("lhs_contract", Tuple(&d.lhs_contract)),
            ("rhs_contract", Tuple(&d.rhs_contract)),
            ("lhs_batch", Tuple(&d.lhs_batch)),
            ("rhs_batch", Tuple(&d.rhs_batch)),
        ],
        Prim::ConvertElementType { dtype } => vec![("new_dtype", DType(*dtype))],
        Prim::Iota { dtype, shape, axis } => {
            vec![("dtype", DType(*dtype)), ("shape", Tuple(shape.dims())), ("axis", index(*axis))]
        }
        Prim::Constant(Literal::Splat(s, _)) => vec![("value", Scalar(*s))],
        Prim::Constant(Literal::Dense(a)) => vec![("value", Dense(a))],
        Prim::RandomBits { shape, dtype } => vec![("shape", Tuple(shape.dims())), ("dtype", DType(*dtype))],
        Prim::Call { body } => vec![("body", Function(body))],
        Prim::Scan { length, reverse, num_consts, num_carry, body } => vec![
            ("length", index(*length)),
            ("reverse", Bool(*reverse)),
            ("num_consts", index(*num_consts)),
            ("num_carry", index(*num_carry)),
            ("body", Function(body)),
        ],
        Prim::While { cond_consts, body_consts, cond, body } => vec![
            ("cond_consts", index(*cond_consts)),
            ("body_consts", index(*body_consts)),
            ("cond", Function(cond)),
            ("body", Function(body)),
        ],
        Prim::Cond { branches } => vec![("branches", Functions(branches))],
        Prim::CustomJvp { body, jvp } => vec![("body", Function(body)), ("jvp", Function(jvp))],
        Prim::CustomVjp { body, fwd, bwd } => {
            vec![("body", Function(body)), ("fwd", Function(fwd)), ("bwd", Function(bwd))]
        }
        Prim::CustomLin { num_res, bwd } => vec![("num_res", index(*num_res)), ("bwd", Function(bwd))],
        Prim::Collective { axis_name, .. } => vec![("axis_name", Word(axis_name))],
    }
}

fn index(i: usize) -> Param<'static> {
    Param::Int(i64::try_from(i).unwrap_or(i64::MAX))
}
