//! Loop-invariant code motion: equations of a loop body that depend only on the loop's consts
//! compute the same values at every step, so they move out of the loop and their results come
//! in as new consts.
//!
//! In a `scan` body the invariant values are the const parameters and everything computed from
//! them and from constants alone; likewise in the body and the condition of a `while`, from
//! their own consts. An invariant equation is *moved* to just before the loop, with the loop's
//! const operands standing for the body's const parameters, unless it is cheap to recompute: a
//! constant, an `iota` or a `broadcast_in_dim` (free inside a fused loop, but a materialised
//! array outside) is *copied* out where a moved equation needs it, and stays inside for the
//! rest. Moved values the remaining body reads become const parameters after the existing ones.
//!
//! Reverse mode makes these: the backward pass of a recurrence `h' = tanh(W h + x)` transposes
//! `W` at every step unless the transpose is hoisted. Bodies are processed inside out, so an
//! invariant of an inner loop that is also invariant in the outer one moves out of both.

use super::rebuild::{map_body, Builder};
use crate::function::{Eqn, Function, Value};
use crate::prim::Prim;
use smallvec::SmallVec;
use std::sync::Arc;

/// Moves loop-invariant equations out of `scan` and `while` bodies, recursively.
pub fn licm(f: &Function) -> Function {
    let mut b = Builder::new(f);
    for eqn in &f.eqns {
        let prim = map_body(&eqn.prim, licm);
        let mut inputs = b.values(&eqn.inputs);
        let prim = match prim {
            Prim::Scan { length, reverse, num_consts, num_carry, body } => {
                match hoist(&mut b, &body, &inputs[..num_consts]) {
                    None => Prim::Scan { length, reverse, num_consts, num_carry, body },
                    Some((body, new_consts)) => {
                        let n = new_consts.len();
                        splice(&mut inputs, num_consts, &new_consts);
                        Prim::Scan { length, reverse, num_consts: num_consts + n, num_carry, body: Arc::new(body) }
                    }
                }
            }
            Prim::While { cond_consts, body_consts, cond, body } => {
                let (cc, bc) = (cond_consts, body_consts);
                let (cond, cond_new) = match hoist(&mut b, &cond, &inputs[..cc]) {
                    None => (cond, SmallVec::new()),
                    Some((g, new)) => (Arc::new(g), new),
                };
                let (body, body_new) = match hoist(&mut b, &body, &inputs[cc..cc + bc]) {
                    None => (body, SmallVec::new()),
                    Some((g, new)) => (Arc::new(g), new),
                };
                splice(&mut inputs, cc + bc, &body_new);
                splice(&mut inputs, cc, &cond_new);
                Prim::While { cond_consts: cc + cond_new.len(), body_consts: bc + body_new.len(), cond, body }
            }
            p => p,
        };
        b.copy_as(eqn, prim, &inputs);
    }
    b.finish()
}

/// Inserts `vs` into `list` at `at`.
fn splice(list: &mut SmallVec<[Value; 3]>, at: usize, vs: &[Value]) {
    list.insert_many(at, vs.iter().copied());
}

/// Whether an equation is cheaper to recompute than to pass in as a const.
fn is_cheap(e: &Eqn) -> bool {
    e.inputs.is_empty() || matches!(e.prim, Prim::BroadcastInDim { .. })
}

/// Moves the invariant equations of `body`, whose first `consts.len()` parameters are the
/// consts bound to the values `consts` of the function `b` builds, to `b`. Returns the body
/// without them, taking the moved values it still reads as parameters right after the consts,
/// and those values in `b`; `None` if nothing moves.
fn hoist(b: &mut Builder, body: &Function, consts: &[Value]) -> Option<(Function, SmallVec<[Value; 3]>)> {
    let nc = consts.len();
    let mut invariant = vec![false; body.num_values()];
    for &p in &body.params[..nc] {
        invariant[p.index()] = true;
    }
    // Each invariant equation, and whether it moves (rather than being copied where needed).
    let mut moves = vec![false; body.eqns.len()];
    let mut inv_eqn = vec![false; body.eqns.len()];
    for (i, e) in body.eqns.iter().enumerate() {
        if e.inputs.iter().all(|v| invariant[v.index()]) {
            inv_eqn[i] = true;
            moves[i] = !is_cheap(e);
            e.outputs.iter().for_each(|o| invariant[o.index()] = true);
        }
    }
    if !moves.contains(&true) {
        return None;
    }

    // The moved equations, emitted outside with the cheap ones they read copied along.
    let defs = body.definitions();
    let mut outside: Vec<Option<Value>> = vec![None; body.num_values()];
    for (&p, &c) in body.params.iter().zip(consts) {
        outside[p.index()] = Some(c);
    }
    let mut emitted = vec![false; body.eqns.len()];
    for i in (0..body.eqns.len()).filter(|&i| moves[i]) {
        emit_outside(b, body, &defs, i, &mut outside, &mut emitted);
    }

    // The rest of the body; moved values it reads come in as new consts.
    let mut g = Function::new();
    let mut map: Vec<Option<Value>> = vec![None; body.num_values()];
    for &p in &body.params[..nc] {
        map[p.index()] = Some(g.add_param(body.ty(p).clone()));
    }
    let reads_moved = |v: Value| defs[v.index()].is_some_and(|d| moves[d]);
    let mut new_consts: SmallVec<[Value; 3]> = SmallVec::new();
    let kept = body.eqns.iter().enumerate().filter(|&(i, _)| !moves[i]).map(|(_, e)| e);
    let uses = kept.clone().flat_map(|e| e.inputs.iter()).chain(&body.outputs);
    for &v in uses {
        if reads_moved(v) && map[v.index()].is_none() {
            map[v.index()] = Some(g.add_param(body.ty(v).clone()));
            new_consts.push(outside[v.index()].expect("moved equations are emitted outside"));
        }
    }
    for &p in &body.params[nc..] {
        map[p.index()] = Some(g.add_param(body.ty(p).clone()));
    }
    let get = |map: &[Option<Value>], v: Value| map[v.index()].expect("a verified body defines values before use");
    for e in kept {
        let ins: SmallVec<[Value; 3]> = e.inputs.iter().map(|&v| get(&map, v)).collect();
        let outs = g.push_typed(e.prim.clone(), &ins, e.outputs.iter().map(|&o| body.ty(o).clone()), e.loc.clone());
        for (&o, n) in e.outputs.iter().zip(outs) {
            map[o.index()] = Some(n);
        }
    }
    g.outputs = body.outputs.iter().map(|&v| get(&map, v)).collect();
    Some((g, new_consts))
}

/// Emits invariant equation `i` of `body` into `b`, after the equations it reads (copying cheap
/// ones as needed), unless it is already there.
fn emit_outside(
    b: &mut Builder,
    body: &Function,
    defs: &[Option<usize>],
    i: usize,
    outside: &mut [Option<Value>],
    emitted: &mut [bool],
) {
    if std::mem::replace(&mut emitted[i], true) {
        return;
    }
    let e = &body.eqns[i];
    for &v in &e.inputs {
        if let (None, Some(d)) = (outside[v.index()], defs[v.index()]) {
            emit_outside(b, body, defs, d, outside, emitted);
        }
    }
    let ins: SmallVec<[Value; 3]> = e.inputs.iter().map(|v| outside[v.index()].expect("emitted first")).collect();
    let outs = b.emit(e.prim.clone(), &ins, e.outputs.iter().map(|&o| body.ty(o).clone()), e.loc.clone());
    for (&o, n) in e.outputs.iter().zip(outs) {
        outside[o.index()] = Some(n);
    }
}
