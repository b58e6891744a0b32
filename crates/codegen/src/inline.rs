//! Inlining of `call` equations, so that fusion sees one flat list of equations.
//!
//! `custom_jvp_call` and `custom_vjp_call` are inlined too: their rules only matter to autodiff, and
//! compiled code runs their primal `body`.

use gradjit_ir::{Function, Prim, Value};

/// The function an equation of `prim` inlines to, if any.
fn inlined_body(prim: &Prim) -> Option<&Function> {
    match prim {
        Prim::Call { body } | Prim::CustomJvp { body, .. } | Prim::CustomVjp { body, .. } => Some(body),
        _ => None,
    }
}

/// `f` with every `call`, `custom_jvp_call` and `custom_vjp_call` (recursively) replaced by its body.
pub fn inline_calls(f: &Function) -> Function {
    if !f.eqns.iter().any(|e| inlined_body(&e.prim).is_some()) {
        return f.clone();
    }
    let mut g = Function::new();
    let params: Vec<Value> = f.params.iter().map(|&p| g.add_param(f.ty(p).clone())).collect();
    let outputs = emit(&mut g, f, &params);
    g.outputs = outputs;
    g
}

/// Emits the equations of `f` into `g` with `f`'s parameters bound to `args`; returns its outputs.
fn emit(g: &mut Function, f: &Function, args: &[Value]) -> Vec<Value> {
    let mut map: Vec<Option<Value>> = vec![None; f.num_values()];
    for (&p, &a) in f.params.iter().zip(args) {
        map[p.index()] = Some(a);
    }
    let get = |map: &[Option<Value>], v: Value| map[v.index()].expect("the verifier checked definitions");
    for eqn in &f.eqns {
        let ins: Vec<Value> = eqn.inputs.iter().map(|&v| get(&map, v)).collect();
        let outs: Vec<Value> = match inlined_body(&eqn.prim) {
            Some(body) => emit(g, body, &ins),
            None => {
                let tys = eqn.outputs.iter().map(|&o| f.ty(o).clone());
                g.push_typed(eqn.prim.clone(), &ins, tys, eqn.loc.clone()).into_vec()
            }
        };
        for (&o, v) in eqn.outputs.iter().zip(outs) {
            map[o.index()] = Some(v);
        }
    }
    f.outputs.iter().map(|&o| get(&map, o)).collect()
}
