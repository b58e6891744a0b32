//! A small rewrite engine: a table of local rules tried on every equation, in order.
//!
//! A rule looks at one single-output equation (a [`Site`]): its primitive, its operands and
//! its type, and, through the operands, at the equations of the result built so far. Since
//! equations are visited in definition order, every operand a rule sees is already fully
//! rewritten, so one forward sweep reaches a local fixed point: `neg (neg (neg x))` becomes
//! `neg x` in a single pass. A rule returns a [`Rewrite`]; when that is a new equation, the
//! rules are tried again on it (a bounded number of times) before it is emitted.
//!
//! Rules see only well-typed equations (the engine checks each with its shape rule first, so
//! rules may index operands freely). They must preserve the equation's type; the engine
//! checks every new equation with its shape rule and keeps the original equation if a rule
//! got that wrong (which the tests catch in debug builds).
//!
//! Whatever the rules, the engine also makes a `cond` with a constant index a `call` of the
//! selected branch, and replaces a `call` whose body only forwards its parameters by the
//! forwarded operands: that is structure, not algebra.

use super::rebuild::{map_body, Builder};
use crate::array::HostArray;
use crate::dtype::TensorType;
use crate::function::{Function, Value};
use crate::interp;
use crate::prim::{Literal, Prim};
use crate::Scalar;
use smallvec::{smallvec, SmallVec};

/// What a rule turns an equation into.
pub(crate) enum Rewrite {
    /// The equation's output is this existing value (of the same type).
    Value(Value),
    /// The equation becomes `prim inputs` (of the same type).
    Eqn(Box<Prim>, SmallVec<[Value; 3]>),
    /// The equation becomes the unary primitives applied in turn to `x` (the last giving the
    /// equation's type). Rules are not tried again on the result of a chain.
    Chain(Value, Vec<Prim>),
}

impl Rewrite {
    /// The equation becomes a constant.
    pub fn constant(lit: Literal) -> Rewrite {
        Rewrite::Eqn(Box::new(Prim::Constant(lit)), SmallVec::new())
    }
    /// The equation becomes `prim x`.
    pub fn unary(prim: Prim, x: Value) -> Rewrite {
        Rewrite::Eqn(Box::new(prim), smallvec![x])
    }
}

/// One single-output equation under rewriting, with access to its operands' definitions.
pub(crate) struct Site<'s> {
    pub prim: &'s Prim,
    /// Operands: values of the result function.
    pub inputs: &'s [Value],
    /// The type of the equation's output.
    pub ty: &'s TensorType,
    builder: &'s Builder<'s>,
}

impl Site<'_> {
    /// The type of operand `i`.
    pub fn operand_ty(&self, i: usize) -> &TensorType {
        self.builder.ty(self.inputs[i])
    }
    /// The primitive and operands of the equation defining operand `i`, if any.
    pub fn producer(&self, i: usize) -> Option<(&Prim, &[Value])> {
        self.builder.producer(*self.inputs.get(i)?).map(|e| (&e.prim, &e.inputs[..]))
    }
    /// The literal defining operand `i`, if there is one and it is a constant.
    pub fn literal(&self, i: usize) -> Option<&Literal> {
        self.builder.literal(*self.inputs.get(i)?)
    }
    /// The repeated element of operand `i`, if there is one and it is a constant with all
    /// elements equal.
    pub fn splat(&self, i: usize) -> Option<Scalar> {
        self.builder.splat(*self.inputs.get(i)?)
    }
    /// The type of any value of the result function (an operand's operand, say).
    pub fn ty_of(&self, v: Value) -> &TensorType {
        self.builder.ty(v)
    }
}

/// A named local rewrite.
pub(crate) struct Rule {
    pub name: &'static str,
    pub apply: fn(&Site) -> Option<Rewrite>,
}

/// How many times the rules are re-applied to the equation a rule produced.
const MAX_LOCAL_STEPS: usize = 8;

/// `f` with `rules` applied to every single-output equation, and `recurse` to `call` bodies.
pub(crate) fn rewrite(f: &Function, rules: &[Rule], recurse: fn(&Function) -> Function) -> Function {
    let mut b = Builder::new(f);
    for eqn in &f.eqns {
        let inputs = b.values(&eqn.inputs);
        let (prim, inputs) = known_branch(&b, map_body(&eqn.prim, recurse), inputs);
        if let Some(forwarded) = forwarded_operands(&prim, &inputs) {
            if eqn.outputs.len() == forwarded.len()
                && eqn.outputs.iter().zip(&forwarded).all(|(&o, &v)| f.ty(o) == b.ty(v))
            {
                for (&old, new) in eqn.outputs.iter().zip(forwarded) {
                    b.bind(old, new);
                }
                continue;
            }
        }
        let (ty, out) = match eqn.outputs[..] {
            [out] if b.type_checks(&prim, &inputs, f.ty(out)) => (f.ty(out).clone(), out),
            _ => {
                b.copy_as(eqn, prim, &inputs);
                continue;
            }
        };
        let rewritten = match local_fixed_point(&b, rules, &prim, &inputs, &ty) {
            Step::Keep => None,
            Step::Value(v) => Some(v),
            Step::Eqn(rule, p, ins) => {
                let v = b.emit_checked(*p, &ins, &ty, eqn.loc.clone());
                debug_assert!(v.is_some(), "rule `{rule}` changed the type of `{}`", prim.name());
                v
            }
            Step::Chain(rule, x, mut prims) => {
                let last = prims.pop();
                let mut v = Some(x);
                for p in prims {
                    v = v.and_then(|v| b.emit_inferred(p, &[v], eqn.loc.clone()));
                }
                // On failure, the chain's first equations stay behind, dead, for dce.
                let v = v.zip(last).and_then(|(v, p)| b.emit_checked(p, &[v], &ty, eqn.loc.clone()));
                debug_assert!(v.is_some(), "rule `{rule}` changed the type of `{}`", prim.name());
                v
            }
        };
        match rewritten {
            Some(v) => b.bind(out, v),
            None => b.copy_as(eqn, prim, &inputs),
        }
    }
    b.finish()
}

/// A `cond` whose index is a constant is a `call` of the branch it selects; anything else is
/// returned unchanged.
fn known_branch(b: &Builder, prim: Prim, inputs: SmallVec<[Value; 3]>) -> (Prim, SmallVec<[Value; 3]>) {
    if let (Prim::Cond { branches }, Some(index)) = (&prim, inputs.first().and_then(|&i| b.splat(i))) {
        let k = interp::branch_index(&HostArray::scalar(index), branches.len());
        if let Some(body) = branches.get(k) {
            return (Prim::Call { body: body.clone() }, inputs[1..].iter().copied().collect());
        }
    }
    (prim, inputs)
}

/// The operands a `call` returns, if its body has no equations and so only forwards its
/// parameters: `call[body={ lambda ; a b. let in (b, a) }] x y == (y, x)`.
fn forwarded_operands(prim: &Prim, inputs: &[Value]) -> Option<SmallVec<[Value; 1]>> {
    let Prim::Call { body } = prim else { return None };
    if !body.eqns.is_empty() || body.params.len() != inputs.len() {
        return None;
    }
    let operand = |o: &Value| body.params.iter().position(|p| p == o).map(|i| inputs[i]);
    body.outputs.iter().map(operand).collect()
}

/// The outcome of rewriting one equation to a local fixed point.
enum Step {
    /// No rule applies.
    Keep,
    /// The equation's output is an existing value.
    Value(Value),
    /// The equation becomes another, produced last by the named rule.
    Eqn(&'static str, Box<Prim>, SmallVec<[Value; 3]>),
    /// The equation becomes a chain of unary primitives, produced by the named rule.
    Chain(&'static str, Value, Vec<Prim>),
}

fn local_fixed_point(b: &Builder, rules: &[Rule], prim: &Prim, inputs: &[Value], ty: &TensorType) -> Step {
    let mut step = Step::Keep;
    for _ in 0..MAX_LOCAL_STEPS {
        let (p, ins) = match &step {
            Step::Eqn(_, p, ins) => (&**p, &ins[..]),
            _ => (prim, inputs),
        };
        let site = Site { prim: p, inputs: ins, ty, builder: b };
        match rules.iter().find_map(|r| (r.apply)(&site).map(|rw| (r.name, rw))) {
            None => break,
            Some((name, Rewrite::Value(v))) => {
                if b.ty(v) == ty {
                    return Step::Value(v);
                }
                debug_assert!(false, "rule `{name}` replaced a {ty} by a {}", b.ty(v));
                break;
            }
            Some((name, Rewrite::Eqn(p, ins))) => step = Step::Eqn(name, p, ins),
            Some((name, Rewrite::Chain(x, prims))) => return Step::Chain(name, x, prims),
        }
    }
    step
}
