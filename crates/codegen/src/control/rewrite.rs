//! Rewrites of loops before they are planned ([`prepare`]).
//!
//! - [`inline_splat_operands`]: a scan operand that is a splat constant (a const, or scanned
//!   slices that are all equal: reverse mode's cotangent of a mean) becomes a constant of the body,
//!   an immediate in its kernels, instead of a buffer filled before the loop and read every step.
//! - [`hoist_outer_accumulations`]: a scan carry that only accumulates outer products,
//!   `c' = c + outer(a, b)`, is what reverse mode makes of a weight used in every step (BPTT's
//!   `dW`). Carried, it costs a pass over the whole matrix per step. Stacking `a` and `b` instead
//!   (two more stacked outputs) and contracting them over the steps after the loop,
//!   `c = init + Σ_t outer(a_t, b_t) = init + Aᵀ B`, is one GEMM: the same sum in another order.
//! - [`outer_products_as_broadcasts`]: a `dot_general` with no contracting and no batch
//!   dimensions is an outer product: each element is one product, so it is exactly
//!   `broadcast(lhs) * broadcast(rhs)`, which fuses with what consumes it instead of a GEMM writing a
//!   temporary.

use gradjit_ir::{BinaryOp, DType, DotDims, Eqn, Function, Literal, Prim, Scalar, TensorType, Value};
use std::sync::Arc;

/// The loop rewrites of a function about to be planned: splat operands into bodies, then outer-product
/// accumulations out of them.
pub fn prepare(f: &Function) -> Function {
    hoist_outer_accumulations(&inline_splat_operands(f))
}

/// A function being rebuilt from `src` through a value map (values of `src` → values of `dst`).
struct Rebuild<'a> {
    src: &'a Function,
    dst: Function,
    map: Vec<Option<Value>>,
}

impl<'a> Rebuild<'a> {
    /// An empty function: the caller adds the parameters it keeps.
    fn new(src: &'a Function) -> Rebuild<'a> {
        Rebuild { src, dst: Function::new(), map: vec![None; src.num_values()] }
    }

    fn with_params(src: &'a Function) -> Rebuild<'a> {
        let mut r = Rebuild::new(src);
        for &p in &src.params {
            r.keep_param(p);
        }
        r
    }

    fn keep_param(&mut self, p: Value) {
        self.map[p.index()] = Some(self.dst.add_param(self.src.ty(p).clone()));
    }

    fn get(&self, v: Value) -> Value {
        self.map[v.index()].expect("values are defined before they are used")
    }

    fn inputs(&self, e: &Eqn) -> Vec<Value> {
        e.inputs.iter().map(|&v| self.get(v)).collect()
    }

    /// Maps the outputs of `e` to `vals`.
    fn bind(&mut self, e: &Eqn, vals: impl IntoIterator<Item = Value>) {
        for (&o, v) in e.outputs.iter().zip(vals) {
            self.map[o.index()] = Some(v);
        }
    }

    /// Appends `e` as it is, on the mapped operands.
    fn copy(&mut self, e: &Eqn) {
        let ins = self.inputs(e);
        let tys = e.outputs.iter().map(|&o| self.src.ty(o).clone());
        let outs = self.dst.push_typed(e.prim.clone(), &ins, tys, e.loc.clone());
        self.bind(e, outs);
    }

    fn finish(mut self, outputs: impl IntoIterator<Item = Value>) -> Function {
        self.dst.outputs = outputs.into_iter().map(|v| self.get(v)).collect();
        self.dst
    }
}

/// `f` with the equations for which `emit(dst, eqn, operands)` returns their outputs replaced by what it
/// emitted; the others copied.
fn rewrite(f: &Function, mut emit: impl FnMut(&mut Function, &Eqn, &[Value]) -> Option<Vec<Value>>) -> Function {
    let mut r = Rebuild::with_params(f);
    for e in &f.eqns {
        let ins = r.inputs(e);
        match emit(&mut r.dst, e, &ins) {
            Some(outs) => r.bind(e, outs),
            None => r.copy(e),
        }
    }
    r.finish(f.outputs.iter().copied())
}

/// The splat value of `v` if an equation of `f` defines it as a splat constant.
fn splat_of(f: &Function, def: &[Option<usize>], v: Value) -> Option<Scalar> {
    match &f.eqns[def[v.index()]?].prim {
        Prim::Constant(lit) => lit.splat(),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------ splat operands

/// `f` with the splat-constant consts and scanned operands of its scans made constants of the bodies.
pub fn inline_splat_operands(f: &Function) -> Function {
    let def = f.definitions();
    // The operands of equation `e` to move into its body (by operand index), with their values.
    let splats = |e: &Eqn| -> Vec<(usize, Scalar)> {
        let Prim::Scan { num_consts, num_carry, .. } = &e.prim else { return vec![] };
        let carries = *num_consts..num_consts + num_carry;
        (0..e.inputs.len())
            .filter(|i| !carries.contains(i))
            .filter_map(|i| splat_of(f, &def, e.inputs[i]).map(|s| (i, s)))
            .collect()
    };
    if f.eqns.iter().all(|e| splats(e).is_empty()) {
        return f.clone();
    }
    rewrite(f, |g, e, ins| {
        let Prim::Scan { length, reverse, num_consts, num_carry, body } = &e.prim else { return None };
        let moved = splats(e);
        if moved.is_empty() {
            return None;
        }
        let is_moved = |i: usize| moved.iter().any(|&(m, _)| m == i);
        let operands: Vec<Value> = (0..ins.len()).filter(|&i| !is_moved(i)).map(|i| ins[i]).collect();
        let prim = Prim::Scan {
            length: *length,
            reverse: *reverse,
            num_consts: num_consts - moved.iter().filter(|&&(i, _)| i < *num_consts).count(),
            num_carry: *num_carry,
            body: Arc::new(body_with_constants(body, &moved)),
        };
        let tys = e.outputs.iter().map(|&o| f.ty(o).clone());
        Some(g.push_typed(prim, &operands, tys, e.loc.clone()).into_vec())
    })
}

/// `body` without the parameters `moved` (by index), each defined instead by a splat constant of its type.
fn body_with_constants(body: &Function, moved: &[(usize, Scalar)]) -> Function {
    let mut r = Rebuild::new(body);
    for (i, &p) in body.params.iter().enumerate() {
        if !moved.iter().any(|&(m, _)| m == i) {
            r.keep_param(p);
        }
    }
    for &(i, s) in moved {
        let p = body.params[i];
        let ty = body.ty(p).clone();
        let prim = Prim::Constant(Literal::Splat(s, ty.shape.clone()));
        r.map[p.index()] = Some(r.dst.push_typed(prim, &[], [ty], None)[0]);
    }
    for e in &body.eqns {
        r.copy(e);
    }
    r.finish(body.outputs.iter().copied())
}

// ------------------------------------------------------------------------------------------ outer products

fn is_outer_product(f: &Function, prim: &Prim, inputs: &[Value]) -> bool {
    let Prim::DotGeneral(d) = prim else { return false };
    let fusible = matches!(f.ty(inputs[0]).dtype, DType::F32 | DType::F64 | DType::I32 | DType::I64);
    fusible && d.lhs_contract.is_empty() && d.rhs_contract.is_empty() && d.lhs_batch.is_empty()
}

/// `f` with every outer-product `dot_general` of its own equations (not of sub-functions) written as a
/// multiplication of broadcasts.
pub fn outer_products_as_broadcasts(f: &Function) -> Function {
    if !f.eqns.iter().any(|e| is_outer_product(f, &e.prim, &e.inputs)) {
        return f.clone();
    }
    rewrite(f, |g, e, ins| {
        if !is_outer_product(f, &e.prim, &e.inputs) {
            return None;
        }
        let out_ty = f.ty(e.outputs[0]).clone();
        let (lr, rr) = (f.ty(e.inputs[0]).rank(), f.ty(e.inputs[1]).rank());
        let mut bcast = |x: Value, dims: std::ops::Range<usize>| {
            let prim = Prim::BroadcastInDim { shape: out_ty.shape.clone(), dims: dims.collect() };
            g.push_typed(prim, &[x], [out_ty.clone()], e.loc.clone())[0]
        };
        let (l, r) = (bcast(ins[0], 0..lr), bcast(ins[1], lr..lr + rr));
        Some(vec![g.push_typed(Prim::Binary(BinaryOp::Mul), &[l, r], [out_ty], e.loc.clone())[0]])
    })
}

// ------------------------------------------------------------------------------------------ accumulations

/// A carry of a scan body that only accumulates an outer product: `outputs[k] = add(params[p], u)`
/// with `u = dot_general(a, b)` an outer product, the carry read nowhere else.
struct Accumulation {
    /// Index of the carry among the carries.
    carry: usize,
    /// The `add` and (when nothing else reads it) the `dot_general` equation.
    add: usize,
    dot: Option<usize>,
    a: Value,
    b: Value,
}

fn accumulations(body: &Function, num_consts: usize, num_carry: usize) -> Vec<Accumulation> {
    let def = body.definitions();
    let uses = body.use_counts();
    let mut found = Vec::new();
    for k in 0..num_carry {
        let (p, o) = (body.params[num_consts + k], body.outputs[k]);
        let Some(add) = def[o.index()] else { continue };
        let e = &body.eqns[add];
        if e.prim != Prim::Binary(BinaryOp::Add) || uses[p.index()] != 1 || uses[o.index()] != 1 {
            continue;
        }
        let u = match (e.inputs[0], e.inputs[1]) {
            (x, u) if x == p && u != p => u,
            (u, x) if x == p && u != p => u,
            _ => continue,
        };
        let Some(dot) = def[u.index()] else { continue };
        let d = &body.eqns[dot];
        let float = matches!(body.ty(u).dtype, DType::F32 | DType::F64);
        if !float || !is_outer_product(body, &d.prim, &d.inputs) {
            continue;
        }
        let dot_dead = uses[u.index()] == 1;
        found.push(Accumulation { carry: k, add, dot: dot_dead.then_some(dot), a: d.inputs[0], b: d.inputs[1] });
    }
    found
}

/// `f` with the outer-product accumulations of its scans (not of nested ones: their bodies are
/// rewritten when compiled) moved out of the loops.
pub fn hoist_outer_accumulations(f: &Function) -> Function {
    let todo = |e: &Eqn| match &e.prim {
        // An empty loop keeps its carry: there is nothing to contract.
        Prim::Scan { length, num_consts, num_carry, body, .. } => {
            *length > 0 && !accumulations(body, *num_consts, *num_carry).is_empty()
        }
        _ => false,
    };
    if !f.eqns.iter().any(todo) {
        return f.clone();
    }
    let def = f.definitions();
    rewrite(f, |g, e, ins| {
        let Prim::Scan { length, reverse, num_consts, num_carry, body } = &e.prim else { return None };
        if !todo(e) {
            return None;
        }
        let zero_init = |k: usize| splat_of(f, &def, e.inputs[num_consts + k]).is_some_and(|s| s.to_f64() == 0.0);
        let scan = Scan { length: *length, reverse: *reverse, num_consts: *num_consts, num_carry: *num_carry };
        Some(hoist_scan(g, &scan, body, ins, zero_init, e))
    })
}

struct Scan {
    length: usize,
    reverse: bool,
    num_consts: usize,
    num_carry: usize,
}

/// Emits into `g` the scan `s` of `body` on operands `ins` with its accumulations hoisted; returns the
/// values of the original scan's results.
fn hoist_scan(
    g: &mut Function,
    s: &Scan,
    body: &Function,
    ins: &[Value],
    zero_init: impl Fn(usize) -> bool,
    eqn: &Eqn,
) -> Vec<Value> {
    let acc = accumulations(body, s.num_consts, s.num_carry);
    let hoisted = |k: usize| acc.iter().any(|a| a.carry == k);
    let kept: Vec<usize> = (0..s.num_carry).filter(|&k| !hoisted(k)).collect();

    // The body without the hoisted carries, returning `a` and `b` of each as stacked outputs.
    let mut r = Rebuild::new(body);
    for (i, &p) in body.params.iter().enumerate() {
        let is_carry = (s.num_consts..s.num_consts + s.num_carry).contains(&i);
        if !(is_carry && hoisted(i - s.num_consts)) {
            r.keep_param(p);
        }
    }
    for (i, e) in body.eqns.iter().enumerate() {
        if !acc.iter().any(|a| a.add == i || a.dot == Some(i)) {
            r.copy(e);
        }
    }
    let carry_outs = kept.iter().map(|&k| body.outputs[k]);
    let ys = body.outputs[s.num_carry..].iter().copied();
    let factors = acc.iter().flat_map(|a| [a.a, a.b]);
    let nb = r.finish(carry_outs.chain(ys).chain(factors));

    // The scan: kept carries, the original stacked outputs, then the stacked factors.
    let (consts, rest) = ins.split_at(s.num_consts);
    let (init, xs) = rest.split_at(s.num_carry);
    let operands: Vec<Value> = consts.iter().chain(kept.iter().map(|&k| &init[k])).chain(xs).copied().collect();
    let stacked = |t: &TensorType| TensorType::new(t.dtype, [&[s.length][..], t.dims()].concat());
    let out_tys: Vec<TensorType> = nb.outputs[..kept.len()]
        .iter()
        .map(|&v| nb.ty(v).clone())
        .chain(nb.outputs[kept.len()..].iter().map(|&v| stacked(nb.ty(v))))
        .collect();
    let prim = Prim::Scan {
        length: s.length,
        reverse: s.reverse,
        num_consts: s.num_consts,
        num_carry: kept.len(),
        body: Arc::new(nb),
    };
    let outs = g.push_typed(prim, &operands, out_tys, eqn.loc.clone());
    let num_ys = body.outputs.len() - s.num_carry;
    let (carries, rest) = outs.split_at(kept.len());
    let (ys, factors) = rest.split_at(num_ys);

    // Each hoisted carry: `init + Aᵀ B` contracted over the steps.
    let mut results: Vec<Option<Value>> = vec![None; s.num_carry];
    for (&k, &c) in kept.iter().zip(carries) {
        results[k] = Some(c);
    }
    let over_steps = DotDims {
        lhs_contract: [0].into_iter().collect(),
        rhs_contract: [0].into_iter().collect(),
        lhs_batch: Default::default(),
        rhs_batch: Default::default(),
    };
    for (a, f) in acc.iter().zip(factors.chunks(2)) {
        let ty = body.ty(body.outputs[a.carry]).clone();
        let prim = Prim::DotGeneral(over_steps.clone());
        let sum = g.push_typed(prim, &[f[0], f[1]], [ty.clone()], eqn.loc.clone())[0];
        let r = if zero_init(a.carry) {
            sum
        } else {
            g.push_typed(Prim::Binary(BinaryOp::Add), &[init[a.carry], sum], [ty], eqn.loc.clone())[0]
        };
        results[a.carry] = Some(r);
    }
    results.into_iter().map(|r| r.expect("every carry has a result")).chain(ys.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradjit_ir::{interp, parse_function, HostArray};

    /// An RNN whose weight-gradient-like carry `g` accumulates outer products (hoisted) and whose
    /// scanned operand `q` and const `k` are splats (moved into the body).
    const RNN: &str = "{ lambda ; w:f64[3,3] h0:f64[3] g0:f64[3,2] xs:f64[4,2] . let
        k:f64[3] = constant[value=0.5]
        q:f64[4,2] = constant[value=-2.0]
        h:f64[3] g:f64[3,2] hs:f64[4,3] = scan[length=4 reverse=true num_consts=2 num_carry=2 body={ lambda ; a:f64[3,3] k:f64[3] c:f64[3] d:f64[3,2] e:f64[2] q:f64[2]. let
                f:f64[3] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] c a
                i:f64[3] = tanh f
                m:f64[3] = mul i k
                x:f64[2] = mul e q
                j:f64[3,2] = dot_general[lhs_contract=() rhs_contract=() lhs_batch=() rhs_batch=()] m x
                l:f64[3,2] = add d j
              in (m, l, i) }] w k h0 g0 xs q
      in (h, g, hs) }";

    fn args() -> Vec<HostArray> {
        let ramp = |shape: &[usize], scale: f64| {
            let n: usize = shape.iter().product();
            HostArray::from_vec(
                shape.to_vec(),
                (0..n).map(|i| scale * (i as f64 - n as f64 / 2.0)).collect::<Vec<f64>>(),
            )
            .expect("sizes match")
        };
        vec![ramp(&[3, 3], 0.1), ramp(&[3], 0.3), ramp(&[3, 2], 0.2), ramp(&[4, 2], 0.25)]
    }

    #[test]
    fn rewritten_loops_verify_and_compute_the_same() {
        let f = parse_function(RNN).expect("parses");
        let g = prepare(&f);
        gradjit_ir::verify(&g).unwrap_or_else(|e| panic!("{e}\n{g}"));
        let Some(scan) = g.eqns.iter().find(|e| e.prim.name() == "scan") else { panic!("{g}") };
        let Prim::Scan { num_consts, num_carry, body, .. } = &scan.prim else { unreachable!("a scan") };
        // `k` and `q` are constants of the body; `g` left the loop, its factors are stacked instead.
        assert_eq!((*num_consts, *num_carry, scan.inputs.len(), scan.outputs.len()), (1, 1, 3, 4), "{g}");
        assert_eq!(body.eqns.iter().filter(|e| e.prim.name() == "dot_general").count(), 1, "{g}");
        assert_eq!(g.eqns.iter().filter(|e| e.prim.name() == "dot_general").count(), 1, "{g}");
        let (want, got) = (interp::run(&f, &args()).expect("runs"), interp::run(&g, &args()).expect("runs"));
        for (w, o) in want.iter().zip(&got) {
            assert_eq!(w.ty(), o.ty());
            for (a, b) in w.to_f64_vec().into_iter().zip(o.to_f64_vec()) {
                assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "{a} vs {b}\n{g}");
            }
        }
    }

    #[test]
    fn functions_without_such_loops_are_unchanged() {
        let f = parse_function(
            "{ lambda ; a:f32[3] b:f32[2] . let c:f32[3,2] = dot_general[lhs_contract=() rhs_contract=() lhs_batch=() rhs_batch=()] a b in (c,) }",
        )
        .expect("parses");
        assert_eq!(prepare(&f), f);
        let g = outer_products_as_broadcasts(&f);
        gradjit_ir::verify(&g).unwrap_or_else(|e| panic!("{e}\n{g}"));
        assert_eq!(
            g.eqns.iter().map(|e| e.prim.name()).collect::<Vec<_>>(),
            ["broadcast_in_dim", "broadcast_in_dim", "mul"]
        );
    }
}
