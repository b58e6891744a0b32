//! Common subexpression elimination by hash-consing.
//!
//! Every primitive is a pure function of its operands and parameters (`random_bits` too: its
//! bits are a function of the key), so two equations with equal primitives (parameters and
//! literals included) and equal operands compute the same values, and the second can reuse
//! the first's outputs. Literals compare bitwise (`Scalar` equality: `-0.0 != 0.0`, NaN equals
//! itself), so merging two constants never changes a bit.
//!
//! The operands of commutative operations are put in a canonical order first, so that
//! `mul a b` and `mul b a` meet. Only operations whose two orders give bit-identical results
//! qualify: IEEE `+`, `*` and `==` are exactly commutative (so is complex `*`, whose parts are
//! sums of exactly commutative products), while `max`/`min` are left alone since which NaN
//! they return may depend on the order.

use super::rebuild::Builder;
use crate::function::{Function, Value};
use crate::prim::{BinaryOp, CompareOp, Prim};
use smallvec::SmallVec;
use std::collections::HashMap;

/// An equation's primitive and operands: what it computes.
type Key = (Prim, SmallVec<[Value; 3]>);

/// Merges equations that apply equal primitives to equal operands, recursively inside `call`
/// bodies.
pub fn cse(f: &Function) -> Function {
    let mut b = Builder::new(f);
    let mut seen: HashMap<Key, SmallVec<[Value; 1]>> = HashMap::new();
    for eqn in &f.eqns {
        let prim = super::rebuild::map_body(&eqn.prim, cse);
        let inputs = b.values(&eqn.inputs);
        let key = (prim, canonical_operands(&eqn.prim, inputs.clone()));
        match seen.get(&key) {
            Some(outs) => {
                for (&old, &new) in eqn.outputs.iter().zip(outs) {
                    b.bind(old, new);
                }
            }
            None => {
                b.copy_as(eqn, key.0.clone(), &inputs);
                let outs = eqn.outputs.iter().map(|&o| b.value(o)).collect();
                seen.insert(key, outs);
            }
        }
    }
    b.finish()
}

/// True if swapping the two operands of `prim` gives bit-identical results.
fn is_commutative(prim: &Prim) -> bool {
    matches!(
        prim,
        Prim::Binary(BinaryOp::Add | BinaryOp::Mul | BinaryOp::And | BinaryOp::Or)
            | Prim::Compare(CompareOp::Eq | CompareOp::Ne)
    )
}

/// The operands in the order used as the hash key (the equation itself keeps its order).
fn canonical_operands(prim: &Prim, mut inputs: SmallVec<[Value; 3]>) -> SmallVec<[Value; 3]> {
    if is_commutative(prim) {
        inputs.sort_unstable();
    }
    inputs
}
