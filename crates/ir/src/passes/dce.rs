//! Dead code elimination: drops every equation none of whose outputs is used.
//!
//! One backward sweep marks the live values: the function's outputs, then the inputs of
//! every equation with a live output. All primitives are pure (`random_bits` is a function
//! of its key), so an equation with no live output can go. Equations with sub-functions are
//! pruned inside:
//!
//! - a `call` keeps only the outputs the caller uses; its body loses its dead code and the
//!   parameters that are then unused, together with the matching operands;
//! - a `scan` drops the stacked outputs nobody uses and the *dead carries*: a carry whose final
//!   value is unused and that no live carry or output depends on, step after step (found by a
//!   fixed point: a carry read by live code becomes live, which can make others live); unused
//!   consts and scanned operands go too;
//! - a `while` keeps the carries its condition reads (they decide the trip count) and those the
//!   live ones depend on, and drops the rest;
//! - a `cond` prunes every branch to the used outputs and keeps the operands any branch reads;
//! - the rules of custom derivatives keep their signatures (they must match each other) and lose
//!   their own dead code.
//!
//! The function's own parameters and outputs never change: its signature is its contract.

use super::rebuild::Builder;
use crate::function::{Eqn, Function, Value};
use crate::prim::Prim;
use smallvec::SmallVec;
use std::sync::Arc;

/// Removes the equations whose outputs are unused, recursively inside sub-functions.
pub fn dce(f: &Function) -> Function {
    prune(f, &vec![true; f.outputs.len()], &vec![false; f.params.len()]).0
}

/// `f` restricted to the outputs selected by `keep_outputs`, without dead equations and without
/// the parameters marked `droppable` that are then unused. Also returns which parameters were
/// kept.
fn prune(f: &Function, keep_outputs: &[bool], droppable: &[bool]) -> (Function, Vec<bool>) {
    let mut live = vec![false; f.num_values()];
    for (&o, _) in f.outputs.iter().zip(keep_outputs).filter(|(_, &k)| k) {
        live[o.index()] = true;
    }
    // The surviving form of each equation (`None`: dead), found in one backward sweep.
    let mut kept: Vec<Option<Eqn>> = vec![None; f.eqns.len()];
    for (i, e) in f.eqns.iter().enumerate().rev() {
        let used: Vec<bool> = e.outputs.iter().map(|o| live[o.index()]).collect();
        if !used.contains(&true) {
            continue;
        }
        let eqn = prune_eqn(e, &used);
        for &v in &eqn.inputs {
            live[v.index()] = true;
        }
        kept[i] = Some(eqn);
    }

    let keep_params: Vec<bool> = f.params.iter().zip(droppable).map(|(p, &d)| !d || live[p.index()]).collect();
    let mut b = Builder::with_params(f, &keep_params);
    for eqn in kept.iter().flatten() {
        let inputs = b.values(&eqn.inputs);
        b.copy_as(eqn, eqn.prim.clone(), &inputs);
    }
    let outputs: Vec<Value> = select(&f.outputs, keep_outputs);
    (b.finish_with(&outputs), keep_params)
}

/// Equation `e` reduced to the outputs marked `used` (at least one), with its sub-functions pruned.
fn prune_eqn(e: &Eqn, used: &[bool]) -> Eqn {
    let shrunk = |prim: Prim, inputs: SmallVec<[Value; 3]>, outputs: SmallVec<[Value; 1]>| Eqn {
        prim,
        inputs,
        outputs,
        loc: e.loc.clone(),
    };
    match &e.prim {
        Prim::Call { body } => {
            let (body, kept) = prune(body, used, &vec![true; body.params.len()]);
            shrunk(Prim::Call { body: Arc::new(body) }, select(&e.inputs, &kept), select(&e.outputs, used))
        }
        Prim::Scan { length, reverse, num_consts, num_carry, body } => {
            let (nc, nk) = (*num_consts, *num_carry);
            let mut keep_out = used.to_vec();
            let (body, kept) = loop {
                let droppable: Vec<bool> =
                    (0..body.params.len()).map(|p| !(nc..nc + nk).contains(&p) || !keep_out[p - nc]).collect();
                let (g, kept) = prune(body, &keep_out, &droppable);
                // A carry the live code reads is live: its final value needs all its steps.
                let newly: Vec<usize> = (0..nk).filter(|&j| !keep_out[j] && kept[nc + j]).collect();
                if newly.is_empty() {
                    break (g, kept);
                }
                newly.into_iter().for_each(|j| keep_out[j] = true);
            };
            let prim = Prim::Scan {
                length: *length,
                reverse: *reverse,
                num_consts: kept[..nc].iter().filter(|&&k| k).count(),
                num_carry: keep_out[..nk].iter().filter(|&&k| k).count(),
                body: Arc::new(body),
            };
            shrunk(prim, select(&e.inputs, &kept), select(&e.outputs, &keep_out))
        }
        Prim::While { cond_consts, body_consts, cond, body } => {
            let (cc, bc) = (*cond_consts, *body_consts);
            let n = used.len();
            // The carries the condition reads decide the trip count: they are live.
            let (_, cond_reads) = prune(cond, &[true], &vec![true; cond.params.len()]);
            let mut live: Vec<bool> = (0..n).map(|j| used[j] || cond_reads[cc + j]).collect();
            let (body, body_kept) = loop {
                let droppable: Vec<bool> = (0..bc).map(|_| true).chain(live.iter().map(|&l| !l)).collect();
                let (g, kept) = prune(body, &live, &droppable);
                let newly: Vec<usize> = (0..n).filter(|&j| !live[j] && kept[bc + j]).collect();
                if newly.is_empty() {
                    break (g, kept);
                }
                newly.into_iter().for_each(|j| live[j] = true);
            };
            let cond_droppable: Vec<bool> = (0..cc).map(|_| true).chain(live.iter().map(|&l| !l)).collect();
            let (cond, cond_kept) = prune(cond, &[true], &cond_droppable);
            let prim = Prim::While {
                cond_consts: cond_kept[..cc].iter().filter(|&&k| k).count(),
                body_consts: body_kept[..bc].iter().filter(|&&k| k).count(),
                cond: Arc::new(cond),
                body: Arc::new(body),
            };
            let mask: Vec<bool> = cond_kept[..cc].iter().chain(&body_kept[..bc]).chain(&live).copied().collect();
            shrunk(prim, select(&e.inputs, &mask), select(&e.outputs, &live))
        }
        Prim::Cond { branches } => {
            let n = e.inputs.len() - 1;
            let mut reads = vec![false; n];
            for b in branches {
                let (_, kept) = prune(b, used, &vec![true; n]);
                reads.iter_mut().zip(kept).for_each(|(r, k)| *r |= k);
            }
            let droppable: Vec<bool> = reads.iter().map(|&r| !r).collect();
            let branches = branches.iter().map(|b| Arc::new(prune(b, used, &droppable).0)).collect();
            let mask: Vec<bool> = std::iter::once(true).chain(reads).collect();
            shrunk(Prim::Cond { branches }, select(&e.inputs, &mask), select(&e.outputs, used))
        }
        // The custom rules' signatures are tied to each other and to the operands: prune inside only.
        prim => shrunk(prim.map_bodies(dce), e.inputs.clone(), e.outputs.clone()),
    }
}

/// The values of `vs` whose flag in `mask` is set.
fn select<C: FromIterator<Value>>(vs: &[Value], mask: &[bool]) -> C {
    vs.iter().zip(mask).filter(|(_, &k)| k).map(|(&v, _)| v).collect()
}
