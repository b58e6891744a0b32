//! `cond`: every rule is applied to each branch under the same index, so the taken branch is
//! differentiated. Branches must agree on their signatures, so each transformed branch returns
//! the union of what any branch returns (zeros where it has nothing), as in JAX.

use super::{call, inexact_nonzero, EqnSplit, JvpParts, Source};
use crate::builder::{Builder, Outs};
use crate::error::AdError;
use crate::jvp::jvp_function;
use crate::partial_eval::partial_eval_with;
use crate::rules::jvp::Tangents;
use crate::rules::transpose::{Cotangents, Operand};
use crate::transpose::transpose_function;
use gradjit_ir::{Function, Prim, Value};
use smallvec::SmallVec;
use std::sync::Arc;

fn cond_of(branches: Vec<Function>) -> Prim {
    Prim::Cond { branches: branches.into_iter().map(|f| Arc::new(crate::finish(f))).collect() }
}

/// Outputs that some branch makes linear (the index, an integer, carries no linearity).
pub(crate) fn linear_outputs(branches: &[Arc<Function>], mask: &[bool]) -> Vec<bool> {
    let mut out = vec![false; branches.first().map_or(0, |b| b.outputs.len())];
    for b in branches {
        out.iter_mut().zip(call::linear_outputs(b, &mask[1..])).for_each(|(o, l)| *o |= l);
    }
    out
}

/// A cond of the branches' JVPs, each returning the tangents any branch has.
pub(crate) fn jvp(
    b: &mut Builder,
    branches: &[Arc<Function>],
    x: &[Value],
    y: &mut Outs,
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    let mask: Vec<bool> = (1..x.len()).map(|i| t[i].is_some() && b.ty(x[i]).dtype.is_inexact()).collect();
    let mut jvps = Vec::with_capacity(branches.len());
    let mut want = vec![false; y.len()];
    for branch in branches {
        let (jf, nonzero) = jvp_function(branch, &mask, false, b.mode)?;
        want.iter_mut().zip(inexact_nonzero(branch, &nonzero)).for_each(|(w, nz)| *w |= nz);
        jvps.push((jf, nonzero));
    }
    if !want.contains(&true) {
        return Ok(smallvec::smallvec![None; y.len()]);
    }
    let mut new_branches = Vec::with_capacity(branches.len());
    for (mut jf, nonzero) in jvps {
        let parts = JvpParts::of(&mut jf, &mask, &nonzero, &want)?;
        jf.outputs = parts.outputs.iter().copied().chain(parts.tangent_outputs.into_iter().flatten()).collect();
        new_branches.push(jf);
    }
    let mut operands: SmallVec<[Value; 3]> = x.iter().copied().collect();
    operands.extend((1..x.len()).filter(|&i| mask[i - 1]).filter_map(|i| t[i]));
    let outs = b.emit(cond_of(new_branches), &operands)?;
    let (primal, tangents) = outs.split_at(y.len());
    *y = primal.iter().copied().collect();
    let mut tangents = tangents.iter().copied();
    Ok(want.iter().map(|&w| if w { tangents.next() } else { None }).collect())
}

/// A primal cond returning the non-linear outputs and every branch's residuals (each branch
/// fills its own slots and zeros the others'), and a linear cond reading them.
pub(crate) fn split(branches: &[Arc<Function>], mask: &[bool]) -> Result<EqnSplit, AdError> {
    if mask[0] {
        return Err(AdError::NotLinear { prim: "cond".into(), operands: "a linear index".into() });
    }
    let m = &mask[1..];
    let lin_out = linear_outputs(branches, mask);
    let splits = branches.iter().map(|br| partial_eval_with(br, m, &lin_out)).collect::<Result<Vec<_>, _>>()?;
    // The type of every residual slot, branch after branch.
    let slots: Vec<Vec<gradjit_ir::TensorType>> = splits
        .iter()
        .map(|s| {
            s.primal.outputs[s.primal.outputs.len() - s.num_residuals..]
                .iter()
                .map(|&r| s.primal.ty(r).clone())
                .collect()
        })
        .collect();
    let total: usize = slots.iter().map(Vec::len).sum();

    let mut primal_branches = Vec::with_capacity(splits.len());
    let mut linear_branches = Vec::with_capacity(splits.len());
    for (k, s) in splits.into_iter().enumerate() {
        let (mut p, mut l) = (s.primal, s.linear);
        let own = p.outputs.split_off(p.outputs.len() - s.num_residuals);
        let own_params = l.params[..s.num_residuals].to_vec();
        let mut res_params = Vec::with_capacity(total);
        for (j, tys) in slots.iter().enumerate() {
            if j == k {
                p.outputs.extend(&own);
                res_params.extend(&own_params);
            } else {
                for ty in tys {
                    let zero = Builder::new(&mut p).zeros(ty)?;
                    p.outputs.push(zero);
                    res_params.push(l.new_value(ty.clone()));
                }
            }
        }
        l.params.splice(..s.num_residuals, res_params);
        primal_branches.push(p);
        linear_branches.push(l);
    }
    let has_primal = primal_branches.first().is_some_and(|p| !p.outputs.is_empty());
    let primal_operands: Vec<usize> = std::iter::once(0).chain((1..mask.len()).filter(|&i| !mask[i])).collect();
    let mut linear_operands = vec![Source::Operand(0)];
    linear_operands.extend((0..total).map(Source::Residual));
    linear_operands.extend((1..mask.len()).filter(|&i| mask[i]).map(Source::Operand));
    Ok(EqnSplit {
        primal: has_primal.then(|| cond_of(primal_branches)),
        primal_operands,
        num_residuals: if has_primal { total } else { 0 },
        linear: cond_of(linear_branches),
        linear_operands,
        output_is_linear: lin_out,
    })
}

/// A cond of the branches' transposes.
pub(crate) fn transpose(
    b: &mut Builder,
    branches: &[Arc<Function>],
    x: &[Operand],
    ct: &[Option<Value>],
) -> Result<Cotangents, AdError> {
    let Some(index) = x[0].primal() else {
        return Err(AdError::NotLinear { prim: "cond".into(), operands: "a linear index".into() });
    };
    if ct.iter().all(Option::is_none) {
        return Ok(x.iter().map(|_| None).collect());
    }
    let lin: Vec<bool> = x[1..].iter().map(Operand::is_linear).collect();
    let has_ct: Vec<bool> = ct.iter().map(Option::is_some).collect();
    let transposed = branches.iter().map(|br| transpose_function(br, &lin, &has_ct)).collect::<Result<Vec<_>, _>>()?;
    let mut operands: SmallVec<[Value; 3]> = smallvec::smallvec![index];
    operands.extend(x[1..].iter().filter_map(Operand::primal));
    operands.extend(ct.iter().flatten().copied());
    let outs = b.emit(cond_of(transposed), &operands)?;
    let mut outs = outs.into_iter();
    Ok(x.iter().enumerate().map(|(i, o)| if i > 0 && o.is_linear() { outs.next() } else { None }).collect())
}
