//! Batching rules of the primitives that carry sub-functions, and the lane-by-lane fallback.
//!
//! | primitive | rule |
//! |---|---|
//! | `call` | a call of the batched body |
//! | `scan` | a scan of the batched body; a carry is batched if its initial value or any step makes it so (a fixed point, as for JVPs); mapped `xs` and `ys` keep the loop axis in front of the batch axis |
//! | `while` | unbatched condition: a while of the batched bodies. Batched condition: every carry batched, the loop runs while any lane's condition holds, and a lane whose condition fails keeps its carry through a `select` |
//! | `cond` | unbatched index: a cond of the batched branches, outputs batched if any branch batches them. Batched index: every branch runs, and a `select` per lane picks the one its index names (clamped as `cond` clamps) |
//! | `custom_jvp_call` | the body and the rule batched as the operands (each tangent as its primal), outputs batched where either batches them |
//! | `custom_vjp_call`, `custom_lin` | every operand and result batched: a cotangent of a shared operand may differ per lane, so `bwd` must see every operand batched |
//!
//! [`map_lanes`] runs one primitive per lane in a `scan` over the batch (JAX's `lax.map`): exact
//! for every primitive, used where a per-lane parameter (a random key) has no batched form.

use super::{batch_body, move_axis, BVal, Cx};
use crate::builder::Builder;
use crate::error::AdError;
use gradjit_ir::{CompareOp, DType, Function, Prim, ReduceOp, TensorType, Value};
use smallvec::smallvec;
use std::sync::Arc;

fn vals(xs: &[BVal]) -> Vec<Value> {
    xs.iter().map(|x| x.v).collect()
}

fn flags(xs: &[BVal]) -> Vec<bool> {
    xs.iter().map(|x| x.batched).collect()
}

fn or(a: &[bool], b: &[bool]) -> Vec<bool> {
    a.iter().zip(b).map(|(x, y)| *x || *y).collect()
}

/// The rule of a primitive with sub-functions.
pub(crate) fn batch_control(cx: &Cx, b: &mut Builder, prim: &Prim, ins: &[BVal]) -> Result<Vec<BVal>, AdError> {
    match prim {
        Prim::Call { body } => {
            let (g, out) = batch_body(cx, body, &flags(ins), &[])?;
            let outs = b.emit(Prim::Call { body: Arc::new(g) }, &vals(ins))?;
            Ok(outs.into_iter().zip(out).map(|(v, f)| BVal::new(v, f)).collect())
        }
        Prim::Scan { length, reverse, num_consts, num_carry, body } => {
            scan(cx, b, (*length, *reverse, *num_consts, *num_carry), body, ins)
        }
        Prim::While { cond_consts, body_consts, cond, body } => {
            while_loop(cx, b, *cond_consts, *body_consts, cond, body, ins)
        }
        Prim::Cond { branches } => cond(cx, b, branches, ins),
        Prim::CustomJvp { body, jvp } => custom_jvp(cx, b, body, jvp, ins),
        Prim::CustomVjp { .. } | Prim::CustomLin { .. } => all_batched(cx, b, prim, ins),
        p => Err(AdError::NoBatchingRule { prim: p.name().to_string() }),
    }
}

/// `custom_jvp_call`: the body batched as the operands are, and the rule `jvp(xs, ts)` with each
/// tangent batched as its primal (a tangent has its primal's type); the outputs (and their
/// tangents) batched where either function batches them, so that the two keep agreeing.
fn custom_jvp(cx: &Cx, b: &mut Builder, body: &Function, jvp: &Function, ins: &[BVal]) -> Result<Vec<BVal>, AdError> {
    let xs = flags(ins);
    let n = body.outputs.len();
    let twice = [xs.clone(), xs.clone()].concat();
    let mut out = batch_body(cx, body, &xs, &[])?.1;
    let rule = batch_body(cx, jvp, &twice, &[])?.1;
    for i in 0..n {
        out[i] |= rule[i] || rule[n + i];
    }
    let body = batch_body(cx, body, &xs, &out)?.0;
    let jvp = batch_body(cx, jvp, &twice, &[out.clone(), out.clone()].concat())?.0;
    let prim = Prim::CustomJvp { body: Arc::new(body), jvp: Arc::new(jvp) };
    Ok(b.emit(prim, &vals(ins))?.into_iter().zip(out).map(|(v, f)| BVal::new(v, f)).collect())
}

/// Custom derivatives: every body batched over every operand, every result batched, so that
/// their rules (which take primal operands, tangents, residuals and cotangents together) agree.
/// Without any batched operand the bodies are still batched, for the collectives they may hold.
fn all_batched(cx: &Cx, b: &mut Builder, prim: &Prim, ins: &[BVal]) -> Result<Vec<BVal>, AdError> {
    let any = ins.iter().any(|x| x.batched);
    let new = prim.try_map_bodies(|body| {
        let n_in = body.params.len();
        let n_out = body.outputs.len();
        Ok::<_, AdError>(batch_body(cx, body, &vec![any; n_in], &vec![any; n_out])?.0)
    })?;
    let args = if any { ins.iter().map(|&x| cx.materialize(b, x)).collect::<Result<Vec<_>, _>>()? } else { vals(ins) };
    Ok(b.emit(new, &args)?.into_iter().map(|v| BVal::new(v, any)).collect())
}

/// `scan`: carries batched at the body's fixed point; mapped `xs` and `ys` are `[length, size, …]`
/// inside the loop.
fn scan(
    cx: &Cx,
    b: &mut Builder,
    (length, reverse, num_consts, num_carry): (usize, bool, usize, usize),
    body: &Function,
    ins: &[BVal],
) -> Result<Vec<BVal>, AdError> {
    let (consts, rest) = ins.split_at(num_consts);
    let (init, xs) = rest.split_at(num_carry);
    let mut carry = flags(init);
    let (g, out) = loop {
        let in_flags = [flags(consts), carry.clone(), flags(xs)].concat();
        let (g, out) = batch_body(cx, body, &in_flags, &carry)?;
        let next = or(&carry, &out[..num_carry]);
        if next == carry {
            break (g, out);
        }
        carry = next;
    };
    let mut args = vals(consts);
    for (x, &c) in init.iter().zip(&carry) {
        args.push(if c { cx.materialize(b, *x)? } else { x.v });
    }
    for x in xs {
        args.push(if x.batched { move_axis(b, x.v, 0, 1)? } else { x.v });
    }
    let prim = Prim::Scan { length, reverse, num_consts, num_carry, body: Arc::new(g) };
    let outs = b.emit(prim, &args)?;
    let mut res = Vec::with_capacity(outs.len());
    for (i, (&v, &f)) in outs.iter().zip(&out).enumerate() {
        let v = if f && i >= num_carry { move_axis(b, v, 1, 0)? } else { v };
        res.push(BVal::new(v, f));
    }
    Ok(res)
}

/// `while`: carries batched at the body's fixed point; a batched condition makes every carry
/// batched and the loop run while any lane is active.
fn while_loop(
    cx: &Cx,
    b: &mut Builder,
    cond_consts: usize,
    body_consts: usize,
    cond: &Function,
    body: &Function,
    ins: &[BVal],
) -> Result<Vec<BVal>, AdError> {
    let (cc, rest) = ins.split_at(cond_consts);
    let (bc, init) = rest.split_at(body_consts);
    let mut carry = flags(init);
    let fixed_point = |carry: &mut Vec<bool>| -> Result<Function, AdError> {
        loop {
            let (g, out) = batch_body(cx, body, &[flags(bc), carry.clone()].concat(), carry)?;
            let next = or(carry, &out);
            if next == *carry {
                return Ok(g);
            }
            *carry = next;
        }
    };
    let mut g = fixed_point(&mut carry)?;
    let (mut c, pred) = batch_body(cx, cond, &[flags(cc), carry.clone()].concat(), &[])?;
    if pred[0] && carry.contains(&false) {
        carry = vec![true; init.len()];
        g = fixed_point(&mut carry)?;
        c = batch_body(cx, cond, &[flags(cc), carry.clone()].concat(), &[])?.0;
    }
    let mut args = vals(cc);
    if !pred[0] {
        args.extend(vals(bc));
        for (x, &f) in init.iter().zip(&carry) {
            args.push(if f { cx.materialize(b, *x)? } else { x.v });
        }
        let prim = Prim::While { cond_consts, body_consts, cond: Arc::new(c), body: Arc::new(g) };
        let outs = b.emit(prim, &args)?;
        return Ok(outs.into_iter().zip(carry).map(|(v, f)| BVal::new(v, f)).collect());
    }
    // Run while any lane is active; the body takes the condition's consts too, to mask lanes.
    let any_cond = any_lane(&c)?;
    let masked_body = masked_body(&c, &g, cond_consts, body_consts)?;
    args.extend(vals(cc));
    args.extend(vals(bc));
    for x in init {
        args.push(cx.materialize(b, *x)?);
    }
    let prim = Prim::While {
        cond_consts,
        body_consts: cond_consts + body_consts,
        cond: Arc::new(crate::finish(any_cond)),
        body: Arc::new(crate::finish(masked_body)),
    };
    Ok(b.emit(prim, &args)?.into_iter().map(|v| BVal::new(v, true)).collect())
}

/// `cond'(consts, carry) = any(cond(consts, carry))` for a condition batched per lane.
fn any_lane(c: &Function) -> Result<Function, AdError> {
    let mut f = Function::new();
    let params: Vec<Value> = c.params.iter().map(|&p| f.add_param(c.ty(p).clone())).collect();
    let mut b = Builder::new(&mut f);
    let p = b.inline(c, &params)?[0];
    let any = b.reduce(ReduceOp::Max, p, smallvec![0])?;
    f.outputs = vec![any];
    Ok(f)
}

/// `body'(cond_consts, body_consts, carry)`: the batched body's step on the lanes whose
/// condition holds, the old carry on the others.
fn masked_body(c: &Function, g: &Function, cond_consts: usize, body_consts: usize) -> Result<Function, AdError> {
    let mut f = Function::new();
    let cc: Vec<Value> = c.params[..cond_consts].iter().map(|&p| f.add_param(c.ty(p).clone())).collect();
    let rest: Vec<Value> = g.params.iter().map(|&p| f.add_param(g.ty(p).clone())).collect();
    let carry = rest[body_consts..].to_vec();
    let mut b = Builder::new(&mut f);
    let active = b.inline(c, &[cc, carry.clone()].concat())?[0];
    let stepped = b.inline(g, &rest)?;
    let mut outs = Vec::with_capacity(carry.len());
    for (&old, &new) in carry.iter().zip(&stepped) {
        let ty = b.ty(old);
        let mask = b.broadcast_in_dim(active, &ty.shape, smallvec![0])?;
        outs.push(b.select(mask, new, old)?);
    }
    f.outputs = outs;
    Ok(f)
}

/// `cond`: batched branches under an unbatched index; under a batched index, every branch run
/// and a per-lane `select` of the results.
fn cond(cx: &Cx, b: &mut Builder, branches: &[Arc<Function>], ins: &[BVal]) -> Result<Vec<BVal>, AdError> {
    let (index, ops) = (ins[0], &ins[1..]);
    let n_out = branches.first().map_or(0, |g| g.outputs.len());
    let mut union = vec![index.batched; n_out];
    for g in branches {
        union = or(&union, &batch_body(cx, g, &flags(ops), &[])?.1);
    }
    let batched: Vec<Function> =
        branches.iter().map(|g| Ok(batch_body(cx, g, &flags(ops), &union)?.0)).collect::<Result<_, AdError>>()?;
    if !index.batched {
        let mut args = vec![index.v];
        args.extend(vals(ops));
        let outs = b.emit(Prim::Cond { branches: batched.into_iter().map(Arc::new).collect() }, &args)?;
        return Ok(outs.into_iter().zip(union).map(|(v, f)| BVal::new(v, f)).collect());
    }
    // Branch k is taken where the index, clamped into 0..n, is k: where `index ≥ k` for the
    // largest such k. A bool index is 0 or 1.
    let idx = b.convert(index.v, DType::I32)?;
    let mut results: Vec<Value> = Vec::new();
    for (k, g) in batched.into_iter().enumerate() {
        let outs = b.inline(&g, &vals(ops))?;
        if k == 0 {
            results = outs.to_vec();
            continue;
        }
        let kth = b.full_like(k as f64, idx)?;
        let take = b.compare(CompareOp::Ge, idx, kth)?;
        for (r, &o) in results.iter_mut().zip(&outs) {
            let ty = b.ty(o);
            let mask = b.broadcast_in_dim(take, &ty.shape, smallvec![0])?;
            *r = b.select(mask, o, *r)?;
        }
    }
    Ok(results.into_iter().map(|v| BVal::new(v, true)).collect())
}

/// `prim` applied lane by lane: a `scan` over the batch whose body applies it to one slice of
/// each batched operand (the unbatched ones are the scan's consts) and stacks the results.
pub(crate) fn map_lanes(cx: &Cx, b: &mut Builder, prim: &Prim, ins: &[BVal]) -> Result<Vec<BVal>, AdError> {
    let mut body = Function::new();
    let slice_ty = |t: TensorType| TensorType::new(t.dtype, t.dims()[1..].to_vec());
    let consts: Vec<usize> = (0..ins.len()).filter(|&i| !ins[i].batched).collect();
    let mapped: Vec<usize> = (0..ins.len()).filter(|&i| ins[i].batched).collect();
    let mut params = vec![Value::from_index(0); ins.len()];
    for &i in &consts {
        params[i] = body.add_param(b.ty(ins[i].v));
    }
    for &i in &mapped {
        params[i] = body.add_param(slice_ty(b.ty(ins[i].v)));
    }
    let outs = body.push(prim.clone(), &params, b.loc.clone())?;
    body.outputs = outs.to_vec();
    let args: Vec<Value> = consts.iter().chain(&mapped).map(|&i| ins[i].v).collect();
    let scan =
        Prim::Scan { length: cx.size, reverse: false, num_consts: consts.len(), num_carry: 0, body: Arc::new(body) };
    Ok(b.emit(scan, &args)?.into_iter().map(|v| BVal::new(v, true)).collect())
}
