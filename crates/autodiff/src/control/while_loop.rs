//! `while`: forward mode runs a while of the body's JVP (the condition sees only the primal
//! carries). Reverse mode would have to store every step of a loop whose length is known only
//! when it has run, so, as in JAX, it is an error: loops with a static trip count are `scan`s
//! (`fori_loop` with static bounds lowers to one) and differentiate in both modes.

use super::{call, inexact_nonzero, tangent_ty, JvpParts};
use crate::builder::{Builder, Outs};
use crate::error::AdError;
use crate::jvp::jvp_function;
use crate::rules::jvp::Tangents;
use gradjit_ir::{Function, Prim, Value};
use smallvec::SmallVec;
use std::sync::Arc;

/// The linear carries: a fixed point over the body (the condition only decides when to stop).
pub(crate) fn linear_outputs(cond_consts: usize, body: &Function, mask: &[bool]) -> Vec<bool> {
    let mut m = mask[cond_consts..].to_vec();
    let bc = body.params.len() - body.outputs.len();
    loop {
        let outs = call::linear_outputs(body, &m);
        let grown: Vec<usize> = (0..outs.len()).filter(|&j| outs[j] && !m[bc + j]).collect();
        if grown.is_empty() {
            return m[bc..].to_vec();
        }
        grown.into_iter().for_each(|j| m[bc + j] = true);
    }
}

/// The static parameters of a while loop.
pub(crate) struct Params<'a> {
    pub cond_consts: usize,
    pub body_consts: usize,
    pub cond: &'a Function,
    pub body: &'a Function,
}

/// A while of the body's JVP; the condition gets the tangent carries as unused parameters.
pub(crate) fn jvp(
    b: &mut Builder,
    w: Params,
    x: &[Value],
    y: &mut Outs,
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    let Params { cond_consts: cc, body_consts: bc, cond, body } = w;
    let nk = y.len();
    let mut mask: Vec<bool> = (cc..x.len()).map(|i| t[i].is_some() && b.ty(x[i]).dtype.is_inexact()).collect();
    let (mut jf, nonzero) = loop {
        let (jf, nonzero) = jvp_function(body, &mask, false, b.mode)?;
        let nz = inexact_nonzero(body, &nonzero);
        let grown: Vec<usize> = (0..nk).filter(|&j| nz[j] && !mask[bc + j]).collect();
        if grown.is_empty() {
            break (jf, nonzero);
        }
        grown.into_iter().for_each(|j| mask[bc + j] = true);
    };
    let want = mask[bc..].to_vec();
    if !want.contains(&true) {
        return Ok(smallvec::smallvec![None; nk]);
    }
    let parts = JvpParts::of(&mut jf, &mask, &nonzero, &want)?;
    let mut params = parts.params[..bc].to_vec();
    params.extend(parts.tangent_params[..bc].iter().flatten());
    params.extend_from_slice(&parts.params[bc..]);
    params.extend(parts.tangent_params[bc..].iter().flatten());
    jf.params = params;
    jf.outputs = parts.outputs.iter().copied().chain(parts.tangent_outputs.into_iter().flatten()).collect();

    // The condition, with the tangent carries appended as parameters it ignores.
    let mut cond = cond.clone();
    for j in (0..nk).filter(|&j| want[j]) {
        cond.add_param(tangent_ty(&b.ty(x[cc + bc + j])));
    }
    let mut operands: SmallVec<[Value; 3]> = x[..cc + bc].iter().copied().collect();
    operands.extend((0..bc).filter(|&i| mask[i]).filter_map(|i| t[cc + i]));
    operands.extend_from_slice(&x[cc + bc..]);
    for j in (0..nk).filter(|&j| want[j]) {
        let i = cc + bc + j;
        operands.push(b.instantiate(t[i], &tangent_ty(&b.ty(x[i])))?);
    }
    let num_body_tangents = mask[..bc].iter().filter(|&&m| m).count();
    let prim = Prim::While {
        cond_consts: cc,
        body_consts: bc + num_body_tangents,
        cond: Arc::new(cond),
        body: Arc::new(crate::finish(jf)),
    };
    let outs = b.emit(prim, &operands)?;
    let (primal, tangents) = outs.split_at(nk);
    *y = primal.iter().copied().collect();
    let mut tangents = tangents.iter().copied();
    Ok(want.iter().map(|&w| if w { tangents.next() } else { None }).collect())
}
