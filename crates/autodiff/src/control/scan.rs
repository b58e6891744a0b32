//! `scan`: forward mode runs a scan of the body's JVP; reverse mode splits the scan into a
//! primal scan that saves what the backward pass needs and a linear scan, whose transpose is a
//! scan of the transposed body in the other direction (backpropagation through time).
//!
//! **Carries.** A carry has a tangent (is linear) if it has one on entry or if the body gives it
//! one from another carry, const or slice that has one; which carries do is a fixed point over
//! the body, at most one round per carry.
//!
//! **Residuals.** Splitting the body ([`partial_eval_with`]) gives a primal body and a linear
//! body joined by residuals. A residual that is a const of the body (a weight matrix) is the
//! same at every step: the linear scan takes the scan's operand itself as a const. A residual
//! that is a slice of a scanned operand is read from that operand. Any other residual changes
//! from step to step and the primal scan stacks it as an extra output, which the linear scan
//! scans. (Residuals computed from consts alone were moved out of the body beforehand by
//! [`licm`](gradjit_ir::passes::licm).)

use super::{call, inexact_nonzero, tangent_ty, EqnSplit, JvpParts, Source};
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

/// The static parameters of a scan.
#[derive(Clone, Copy)]
pub(crate) struct Params<'a> {
    pub length: usize,
    pub reverse: bool,
    pub num_consts: usize,
    pub num_carry: usize,
    pub body: &'a Function,
}

impl<'a> Params<'a> {
    pub fn new(length: usize, reverse: bool, num_consts: usize, num_carry: usize, body: &'a Function) -> Params<'a> {
        Params { length, reverse, num_consts, num_carry, body }
    }

    fn prim(&self, num_consts: usize, num_carry: usize, body: Function, reverse: bool) -> Prim {
        Prim::Scan { length: self.length, reverse, num_consts, num_carry, body: Arc::new(crate::finish(body)) }
    }
}

/// Grows the linear carries of `mask` (over the body's parameters) to a fixed point and returns
/// the linear outputs of the body under it.
fn linear_carries(nc: usize, nk: usize, body: &Function, mask: &mut [bool]) -> Vec<bool> {
    loop {
        let outs = call::linear_outputs(body, mask);
        let grown: Vec<usize> = (0..nk).filter(|&j| outs[j] && !mask[nc + j]).collect();
        if grown.is_empty() {
            return outs;
        }
        grown.into_iter().for_each(|j| mask[nc + j] = true);
    }
}

pub(crate) fn linear_outputs(nc: usize, nk: usize, body: &Function, mask: &[bool]) -> Vec<bool> {
    let mut m = mask.to_vec();
    let outs = linear_carries(nc, nk, body, &mut m);
    m[nc..nc + nk].iter().chain(&outs[nk..]).copied().collect()
}

/// The scan of the body's JVP: consts, carries and slices each followed by their tangents.
pub(crate) fn jvp(
    b: &mut Builder,
    s: Params,
    x: &[Value],
    y: &mut Outs,
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    let (nc, nk) = (s.num_consts, s.num_carry);
    let n = x.len();
    let mut mask: Vec<bool> = (0..n).map(|i| t[i].is_some() && b.ty(x[i]).dtype.is_inexact()).collect();
    let (mut jf, nonzero) = loop {
        let (jf, nonzero) = jvp_function(s.body, &mask, false, b.mode)?;
        let nz = inexact_nonzero(s.body, &nonzero);
        let grown: Vec<usize> = (0..nk).filter(|&j| nz[j] && !mask[nc + j]).collect();
        if grown.is_empty() {
            break (jf, nonzero);
        }
        grown.into_iter().for_each(|j| mask[nc + j] = true);
    };
    let nz = inexact_nonzero(s.body, &nonzero);
    let want: Vec<bool> = mask[nc..nc + nk].iter().chain(&nz[nk..]).copied().collect();
    if !want.contains(&true) {
        return Ok(smallvec::smallvec![None; y.len()]);
    }
    let parts = JvpParts::of(&mut jf, &mask, &nonzero, &want)?;
    // Parameters and operands: each group (consts, carries, slices) followed by its tangents.
    let groups = [0..nc, nc..nc + nk, nc + nk..n];
    let mut params = Vec::new();
    let mut operands: SmallVec<[Value; 3]> = SmallVec::new();
    for g in &groups {
        params.extend_from_slice(&parts.params[g.clone()]);
        params.extend(parts.tangent_params[g.clone()].iter().flatten());
        operands.extend_from_slice(&x[g.clone()]);
        for i in g.clone().filter(|&i| mask[i]) {
            operands.push(b.instantiate(t[i], &tangent_ty(&b.ty(x[i])))?);
        }
    }
    let out_groups = [0..nk, nk..parts.outputs.len()];
    jf.params = params;
    jf.outputs = out_groups
        .iter()
        .flat_map(|g| {
            parts.outputs[g.clone()].iter().copied().chain(parts.tangent_outputs[g.clone()].iter().flatten().copied())
        })
        .collect();
    let count = |r: std::ops::Range<usize>| mask[r].iter().filter(|&&m| m).count();
    let (nct, nkt) = (count(0..nc), count(nc..nc + nk));
    let outs = b.emit(s.prim(nc + nct, nk + nkt, jf, s.reverse), &operands)?;
    // Results: carries, their tangents, ys, their tangents.
    let mut primal = outs[..nk].to_vec();
    primal.extend_from_slice(&outs[nk + nkt..nk + nkt + (y.len() - nk)]);
    let mut tangents = outs[nk..nk + nkt].iter().chain(&outs[nk + nkt + y.len() - nk..]).copied();
    *y = primal.into_iter().collect();
    Ok(want.iter().map(|&w| if w { tangents.next() } else { None }).collect())
}

/// Where the linear scan finds a residual of the split body.
#[derive(Clone, Copy, PartialEq)]
enum Residual {
    /// The scan's operand `i`, a const of the body: a const of the linear scan.
    Const(usize),
    /// The scan's operand `i`, scanned by the body: scanned by the linear scan.
    Scanned(usize),
    /// Computed at each step: stacked by the primal scan (its `k`th stacked residual).
    Stacked(usize),
}

/// Splits the scan into a primal scan (non-linear carries and outputs, plus the stacked
/// residuals) and a linear scan.
pub(crate) fn split(s: Params, mask: &[bool]) -> Result<EqnSplit, AdError> {
    let (nc, nk) = (s.num_consts, s.num_carry);
    let n = mask.len();
    let ny = s.body.outputs.len() - nk;
    let mut body_mask = mask.to_vec();
    let outs_lin = linear_carries(nc, nk, s.body, &mut body_mask);
    let lin_k = body_mask[nc..nc + nk].to_vec();
    let instantiate: Vec<bool> = lin_k.iter().copied().chain(std::iter::repeat_n(false, ny)).collect();
    let inner = partial_eval_with(s.body, &body_mask, &instantiate)?;
    let (mut primal, mut linear) = (inner.primal, inner.linear);

    // The body parameter each parameter of the primal body stands for.
    let nl_params: Vec<usize> = (0..n).filter(|&i| !body_mask[i]).collect();
    let n_nl_out = primal.outputs.len() - inner.num_residuals;
    let mut stacked = Vec::new();
    let residuals: Vec<Residual> = primal.outputs[n_nl_out..]
        .iter()
        .map(|r| match primal.params.iter().position(|p| p == r).map(|j| nl_params[j]) {
            Some(i) if i < nc => Residual::Const(i),
            Some(i) if i >= nc + nk => Residual::Scanned(i),
            _ => {
                stacked.push(*r);
                Residual::Stacked(stacked.len() - 1)
            }
        })
        .collect();

    // The primal scan: non-linear consts, carries and slices; outputs the non-linear carries,
    // the non-linear ys and the stacked residuals.
    primal.outputs.truncate(n_nl_out);
    primal.outputs.extend(&stacked);
    let primal_operands: Vec<usize> = nl_params.clone();
    let nl_consts = nl_params.iter().filter(|&&i| i < nc).count();
    let nl_carry = lin_k.iter().filter(|&&l| !l).count();
    let primal_prim = (!primal.outputs.is_empty()).then(|| s.prim(nl_consts, nl_carry, primal, s.reverse));

    // The linear scan: consts (forwarded residuals, then linear consts), linear carries, slices
    // (stacked and scanned residuals, then linear slices).
    let res_params = linear.params[..inner.num_residuals].to_vec();
    let lin_params = linear.params[inner.num_residuals..].to_vec();
    let lin_positions: Vec<usize> = (0..n).filter(|&i| body_mask[i]).collect();
    let (mut params, mut operands) = (Vec::new(), Vec::new());
    for (k, r) in residuals.iter().enumerate() {
        if let Residual::Const(i) = *r {
            params.push(res_params[k]);
            operands.push(Source::Operand(i));
        }
    }
    let push_linear = |range: std::ops::Range<usize>, params: &mut Vec<Value>, operands: &mut Vec<Source>| {
        for (j, &i) in lin_positions.iter().enumerate().filter(|(_, &i)| range.contains(&i)) {
            params.push(lin_params[j]);
            operands.push(Source::Operand(i));
        }
    };
    push_linear(0..nc, &mut params, &mut operands);
    let lin_consts = params.len();
    push_linear(nc..nc + nk, &mut params, &mut operands);
    for (k, r) in residuals.iter().enumerate() {
        match *r {
            Residual::Const(_) => {}
            Residual::Scanned(i) => {
                params.push(res_params[k]);
                operands.push(Source::Operand(i));
            }
            Residual::Stacked(j) => {
                params.push(res_params[k]);
                operands.push(Source::Residual(j));
            }
        }
    }
    push_linear(nc + nk..n, &mut params, &mut operands);
    linear.params = params;
    let num_carry = lin_k.iter().filter(|&&l| l).count();
    let output_is_linear: Vec<bool> = lin_k.iter().chain(&outs_lin[nk..]).copied().collect();
    Ok(EqnSplit {
        primal: primal_prim,
        primal_operands,
        num_residuals: stacked.len(),
        linear: s.prim(lin_consts, num_carry, linear, s.reverse),
        linear_operands: operands,
        output_is_linear,
    })
}

/// The transpose of a scan linear in its carries (whose initial values may be constants) and in
/// some consts and slices: a scan in the other direction of the transposed body, whose carries
/// are the cotangents of the carries and the sums of the cotangents of the linear consts.
pub(crate) fn transpose(
    b: &mut Builder,
    s: Params,
    x: &[Operand],
    ct: &[Option<Value>],
) -> Result<Cotangents, AdError> {
    let (nc, nk) = (s.num_consts, s.num_carry);
    let n = x.len();
    if ct.iter().all(Option::is_none) {
        return Ok(x.iter().map(|_| None).collect());
    }
    // In the body every carry is linear; consts and slices are as the operands are.
    let lin: Vec<bool> = (0..n).map(|i| (nc..nc + nk).contains(&i) || x[i].is_linear()).collect();
    let has_ct: Vec<bool> = (0..ct.len()).map(|o| o < nk || ct[o].is_some()).collect();
    let tf = transpose_function(s.body, &lin, &has_ct)?;

    // The transposed body: (primal consts, const cotangent sums, carry cotangents, y cotangents,
    // primal slices) -> (updated sums, carry cotangents, slice cotangents).
    let body_tys = s.body.param_types();
    let out_tys = s.body.output_types();
    let mut w = Function::new();
    let primal_consts: Vec<Value> = (0..nc).filter(|&i| !lin[i]).map(|i| w.add_param(body_tys[i].clone())).collect();
    let lin_consts: Vec<usize> = (0..nc).filter(|&i| lin[i]).collect();
    let sums: Vec<Value> = lin_consts.iter().map(|&i| w.add_param(tangent_ty(&body_tys[i]))).collect();
    let ct_carry: Vec<Value> = (0..nk).map(|j| w.add_param(tangent_ty(&out_tys[j]))).collect();
    let ct_ys: Vec<Value> =
        (nk..ct.len()).filter(|&o| has_ct[o]).map(|o| w.add_param(tangent_ty(&out_tys[o]))).collect();
    let primal_xs: Vec<Value> = (nc + nk..n).filter(|&i| !lin[i]).map(|i| w.add_param(body_tys[i].clone())).collect();
    let mut wb = Builder::new(&mut w);
    let args: Vec<Value> = [&primal_consts, &primal_xs, &ct_carry, &ct_ys].into_iter().flatten().copied().collect();
    let g = wb.inline(&tf, &args)?;
    let (g_consts, rest) = g.split_at(lin_consts.len());
    let (g_carry, g_xs) = rest.split_at(nk);
    let mut outputs = Vec::with_capacity(g.len());
    for (&sum, &gc) in sums.iter().zip(g_consts) {
        // Float0 cotangents (of integer consts) have nothing to add.
        outputs.push(if wb.ty(sum).dtype.is_inexact() { wb.add(sum, gc)? } else { sum });
    }
    outputs.extend_from_slice(g_carry);
    outputs.extend_from_slice(g_xs);
    w.outputs = outputs;

    let mut operands: SmallVec<[Value; 3]> = (0..nc).filter_map(|i| x[i].primal()).collect();
    for &i in &lin_consts {
        operands.push(b.zeros(&tangent_ty(&x[i].ty(b)))?);
    }
    for (j, c) in ct[..nk].iter().enumerate() {
        operands.push(b.instantiate(*c, &tangent_ty(&out_tys[j]))?);
    }
    operands.extend(ct[nk..].iter().flatten().copied());
    operands.extend((nc + nk..n).filter_map(|i| x[i].primal()));
    let prim = s.prim(primal_consts.len(), lin_consts.len() + nk, w, !s.reverse);
    let outs = b.emit(prim, &operands)?;

    let (sums, rest) = outs.split_at(lin_consts.len());
    let (carries, xs) = rest.split_at(nk);
    let (mut sums, mut carries, mut xs) = (sums.iter(), carries.iter(), xs.iter());
    Ok((0..n)
        .map(|i| match i {
            _ if i < nc => {
                if lin[i] {
                    sums.next().copied()
                } else {
                    None
                }
            }
            _ if i < nc + nk => carries.next().copied().filter(|_| x[i].is_linear()),
            _ => {
                if lin[i] {
                    xs.next().copied()
                } else {
                    None
                }
            }
        })
        .collect())
}
