//! `call`: the rules of the body, applied inside a call.

use super::{EqnSplit, Source};
use crate::builder::{Builder, Outs};
use crate::error::AdError;
use crate::partial_eval::{call_of, linear_values, partial_eval};
use crate::rules::jvp::Tangents;
use crate::rules::transpose::{Cotangents, Operand};
use gradjit_ir::{Function, Value};
use smallvec::SmallVec;

pub(crate) fn linear_outputs(body: &Function, mask: &[bool]) -> Vec<bool> {
    let inner = linear_values(body, mask);
    body.outputs.iter().map(|o| inner[o.index()]).collect()
}

/// One call of the body's JVP computes the primal and tangent outputs together.
pub(crate) fn jvp(
    b: &mut Builder,
    body: &Function,
    x: &[Value],
    y: &mut Outs,
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    let has_tangent: Vec<bool> = t.iter().map(Option::is_some).collect();
    let (jbody, out_nonzero) = crate::jvp::jvp_function(body, &has_tangent, false, b.mode)?;
    let mut args: SmallVec<[Value; 3]> = x.iter().copied().collect();
    args.extend(t.iter().flatten().copied());
    let outs = b.call(crate::finish(jbody), &args)?;
    let (primals, tangents) = outs.split_at(y.len());
    *y = primals.iter().copied().collect();
    let mut tangents = tangents.iter().copied();
    Ok(out_nonzero.into_iter().map(|nz| if nz { tangents.next() } else { None }).collect())
}

/// The body's primal part, called on the non-linear operands, and its linear part, called on
/// the residuals and the linear operands.
pub(crate) fn split(body: &Function, mask: &[bool]) -> Result<EqnSplit, AdError> {
    let inner = partial_eval(body, mask)?;
    let primal = (!inner.primal.outputs.is_empty()).then(|| call_of(inner.primal));
    let mut linear_operands: Vec<Source> = (0..inner.num_residuals).map(Source::Residual).collect();
    linear_operands.extend((0..mask.len()).filter(|&i| mask[i]).map(Source::Operand));
    Ok(EqnSplit {
        primal,
        primal_operands: (0..mask.len()).filter(|&i| !mask[i]).collect(),
        num_residuals: inner.num_residuals,
        linear: call_of(inner.linear),
        linear_operands,
        output_is_linear: inner.output_is_linear,
    })
}

/// Calls the transpose of the body, which takes the primal operands and the non-zero output
/// cotangents and returns the cotangents of the linear operands.
pub(crate) fn transpose(
    b: &mut Builder,
    body: &Function,
    x: &[Operand],
    ct: &[Option<Value>],
) -> Result<Cotangents, AdError> {
    let linear: Vec<bool> = x.iter().map(Operand::is_linear).collect();
    let has_ct: Vec<bool> = ct.iter().map(Option::is_some).collect();
    if !has_ct.contains(&true) {
        return Ok(x.iter().map(|_| None).collect());
    }
    let tbody = crate::transpose::transpose_function(body, &linear, &has_ct)?;
    let mut args: SmallVec<[Value; 3]> = x.iter().filter_map(Operand::primal).collect();
    args.extend(ct.iter().flatten().copied());
    let outs = b.call(crate::finish(tbody), &args)?;
    let mut outs = outs.into_iter();
    Ok(x.iter().map(|o| if o.is_linear() { outs.next() } else { None }).collect())
}
