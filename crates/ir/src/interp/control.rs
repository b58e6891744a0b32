//! Control flow: `scan`, `while` and `cond` run their bodies with [`run`]; the custom-derivative
//! primitives run their primal function.
//!
//! Slices of the scanned operands and of the stacked results are contiguous runs of bytes
//! (the leading axis is the outermost), so a step copies its slices in and out without indexing.

use super::{run, InterpError};
use crate::array::HostArray;
use crate::dtype::TensorType;
use crate::function::Function;
use crate::shape_rules::OutTypes;
use smallvec::SmallVec;
use std::sync::Arc;

type Outs = SmallVec<[HostArray; 1]>;

/// The bytes of slice `i` of `a` along its leading axis.
fn slice_bytes(a: &HostArray, i: usize) -> &[u8] {
    let n = a.bytes().len() / a.dims()[0].max(1);
    &a.bytes()[i * n..(i + 1) * n]
}

/// Slice `i` of `a` along its leading axis, as an array of type `ty`.
fn slice(a: &HostArray, i: usize, ty: &TensorType) -> HostArray {
    let mut s = HostArray::zeros(ty.dtype, ty.shape.clone());
    s.bytes_mut().copy_from_slice(slice_bytes(a, i));
    s
}

/// Writes `s` as slice `i` of `a` along its leading axis.
fn set_slice(a: &mut HostArray, i: usize, s: &HostArray) {
    let n = s.bytes().len();
    a.bytes_mut()[i * n..(i + 1) * n].copy_from_slice(s.bytes());
}

/// `scan`: see [`Prim::Scan`](crate::Prim::Scan).
pub(super) fn scan(
    length: usize,
    reverse: bool,
    num_consts: usize,
    num_carry: usize,
    body: &Function,
    ins: &[&HostArray],
    out: &OutTypes,
) -> Result<Outs, InterpError> {
    let (consts, rest) = ins.split_at(num_consts);
    let (init, xs) = rest.split_at(num_carry);
    let slice_tys = &body.param_types()[num_consts + num_carry..];
    let mut carry: Vec<HostArray> = init.iter().map(|&a| a.clone()).collect();
    let mut ys: Vec<HostArray> = out[num_carry..].iter().map(|t| HostArray::zeros(t.dtype, t.shape.clone())).collect();
    let mut args: Vec<HostArray> = consts.iter().map(|&a| a.clone()).collect();
    for step in 0..length {
        let i = if reverse { length - 1 - step } else { step };
        args.truncate(num_consts);
        args.append(&mut carry);
        args.extend(xs.iter().zip(slice_tys).map(|(x, t)| slice(x, i, t)));
        let mut outs = run(body, &args)?;
        for (y, s) in ys.iter_mut().zip(&outs[num_carry..]) {
            set_slice(y, i, s);
        }
        outs.truncate(num_carry);
        carry = outs;
    }
    Ok(carry.into_iter().chain(ys).collect())
}

/// `while`: see [`Prim::While`](crate::Prim::While). A loop whose condition never turns false
/// does not return, as in JAX.
pub(super) fn while_loop(
    cond_consts: usize,
    body_consts: usize,
    cond: &Function,
    body: &Function,
    ins: &[&HostArray],
) -> Result<Outs, InterpError> {
    let (cc, rest) = ins.split_at(cond_consts);
    let (bc, init) = rest.split_at(body_consts);
    let mut carry: Vec<HostArray> = init.iter().map(|&a| a.clone()).collect();
    let mut cond_args: Vec<HostArray> = cc.iter().map(|&a| a.clone()).collect();
    let mut body_args: Vec<HostArray> = bc.iter().map(|&a| a.clone()).collect();
    loop {
        cond_args.truncate(cond_consts);
        cond_args.extend(carry.iter().cloned());
        let go = run(cond, &cond_args)?;
        if !go.first().is_some_and(|p| p.get(0).to_f64() != 0.0) {
            break;
        }
        body_args.truncate(body_consts);
        body_args.append(&mut carry);
        carry = run(body, &body_args)?;
    }
    Ok(carry.into_iter().collect())
}

/// The branch a `cond` index selects: clamped into range, a bool counting as 0 or 1.
pub fn branch_index(index: &HostArray, branches: usize) -> usize {
    let i = index.get(0).to_f64();
    if i <= 0.0 {
        0
    } else {
        (i as usize).min(branches.saturating_sub(1))
    }
}

/// `cond`: see [`Prim::Cond`](crate::Prim::Cond).
pub(super) fn cond(branches: &[Arc<Function>], ins: &[&HostArray]) -> Result<Outs, InterpError> {
    let branch = &branches[branch_index(ins[0], branches.len())];
    let args: Vec<HostArray> = ins[1..].iter().map(|&a| a.clone()).collect();
    Ok(run(branch, &args)?.into_iter().collect())
}

/// A function of the operands (`call`, and the primal of the custom-derivative primitives).
pub(super) fn call(body: &Function, ins: &[&HostArray]) -> Result<Outs, InterpError> {
    let args: Vec<HostArray> = ins.iter().map(|&a| a.clone()).collect();
    Ok(run(body, &args)?.into_iter().collect())
}
