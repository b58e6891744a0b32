//! Dead code elimination: drops every equation none of whose outputs is used.
//!
//! One backward sweep marks the live values: the function's outputs, then the inputs of
//! every equation with a live output. All primitives are pure (`random_bits` is a function
//! of its key), so an equation with no live output can go. A `call` is pruned inside: its body
//! keeps only the outputs the caller uses, loses its own dead code, and drops the parameters
//! that are then unused, together with the matching operands of the `call`.
//!
//! The function's own parameters and outputs never change: its signature is its contract.

use super::rebuild::Builder;
use crate::function::{Eqn, Function, Value};
use crate::prim::Prim;
use smallvec::SmallVec;
use std::sync::Arc;

/// Removes the equations whose outputs are unused, recursively inside `call` bodies.
pub fn dce(f: &Function) -> Function {
    prune(f, &vec![true; f.outputs.len()], false).0
}

/// `f` restricted to the outputs selected by `keep_outputs`, without dead equations and, if
/// `drop_params`, without unused parameters. Also returns which parameters were kept.
fn prune(f: &Function, keep_outputs: &[bool], drop_params: bool) -> (Function, Vec<bool>) {
    let mut live = vec![false; f.num_values()];
    for (&o, _) in f.outputs.iter().zip(keep_outputs).filter(|(_, &k)| k) {
        live[o.index()] = true;
    }
    // The surviving form of each equation (`None`: dead), found in one backward sweep.
    let mut kept: Vec<Option<Eqn>> = vec![None; f.eqns.len()];
    for (i, e) in f.eqns.iter().enumerate().rev() {
        let used: SmallVec<[bool; 1]> = e.outputs.iter().map(|o| live[o.index()]).collect();
        if !used.contains(&true) {
            continue;
        }
        let eqn = match &e.prim {
            Prim::Call { body } => prune_call(e, body, &used),
            _ => e.clone(),
        };
        for &v in &eqn.inputs {
            live[v.index()] = true;
        }
        kept[i] = Some(eqn);
    }

    let keep_params: Vec<bool> = f.params.iter().map(|p| !drop_params || live[p.index()]).collect();
    let mut b = Builder::with_params(f, &keep_params);
    for eqn in kept.iter().flatten() {
        let inputs = b.values(&eqn.inputs);
        b.copy_as(eqn, eqn.prim.clone(), &inputs);
    }
    let outputs: Vec<Value> = select(&f.outputs, keep_outputs);
    (b.finish_with(&outputs), keep_params)
}

/// A `call` reduced to the outputs marked `used`, with a pruned body and only the operands
/// that body still reads.
fn prune_call(e: &Eqn, body: &Function, used: &[bool]) -> Eqn {
    let (body, kept_params) = prune(body, used, true);
    Eqn {
        prim: Prim::Call { body: Arc::new(body) },
        inputs: select(&e.inputs, &kept_params),
        outputs: select(&e.outputs, used),
        loc: e.loc.clone(),
    }
}

/// The values of `vs` whose flag in `mask` is set.
fn select<C: FromIterator<Value>>(vs: &[Value], mask: &[bool]) -> C {
    vs.iter().zip(mask).filter(|(_, &k)| k).map(|(&v, _)| v).collect()
}
