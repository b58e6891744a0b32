//! Rewrites that make loop bodies fuse better.
//!
//! A `dot_general` with no contracting and no batch dimensions is an outer product: each element is
//! one product, so it is exactly `broadcast(lhs) * broadcast(rhs)`. As a multiplication it fuses
//! with what consumes it; the gradient of a weight inside a scan is the case that matters,
//! `dW' = dW + outer(s, δ)`, which becomes one loop reading and writing `dW` once per step instead
//! of a GEMM writing a temporary and a second loop adding it.

use gradjit_ir::{BinaryOp, DType, Function, Prim, Value};

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
    let mut g = Function::new();
    let mut map: Vec<Option<Value>> = vec![None; f.num_values()];
    for &p in &f.params {
        map[p.index()] = Some(g.add_param(f.ty(p).clone()));
    }
    let get = |map: &[Option<Value>], v: Value| map[v.index()].expect("the verifier checked definitions");
    for eqn in &f.eqns {
        let ins: Vec<Value> = eqn.inputs.iter().map(|&v| get(&map, v)).collect();
        let outs: Vec<Value> = if is_outer_product(f, &eqn.prim, &eqn.inputs) {
            let out_ty = f.ty(eqn.outputs[0]).clone();
            let lr = f.ty(eqn.inputs[0]).rank();
            let rr = f.ty(eqn.inputs[1]).rank();
            let mut bcast = |x: Value, dims: Vec<usize>| {
                let prim = Prim::BroadcastInDim { shape: out_ty.shape.clone(), dims: dims.into_iter().collect() };
                let ty = gradjit_ir::TensorType::new(g.ty(x).dtype, out_ty.shape.clone());
                g.push_typed(prim, &[x], [ty], eqn.loc.clone())[0]
            };
            let l = bcast(ins[0], (0..lr).collect());
            let r = bcast(ins[1], (lr..lr + rr).collect());
            vec![g.push_typed(Prim::Binary(BinaryOp::Mul), &[l, r], [out_ty], eqn.loc.clone())[0]]
        } else {
            let tys = eqn.outputs.iter().map(|&o| f.ty(o).clone());
            g.push_typed(eqn.prim.clone(), &ins, tys, eqn.loc.clone()).into_vec()
        };
        for (&o, v) in eqn.outputs.iter().zip(outs) {
            map[o.index()] = Some(v);
        }
    }
    g.outputs = f.outputs.iter().map(|&o| get(&map, o)).collect();
    g
}
