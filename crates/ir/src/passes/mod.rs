//! Simplification passes, run as one named pipeline.
//!
//! Reverse-mode output is full of zeros and ones, broadcasts of broadcasts, duplicated
//! subexpressions and dead code. [`simplify`] runs the passes of [`PIPELINE`] in order, round
//! after round, until a round changes nothing (or [`MAX_ROUNDS`] is reached):
//!
//! - [`fold`](fold::fold): equations on constants become constants;
//! - [`algebraic`](algebraic::algebraic): local rewrites such as `x*1 → x` and
//!   `reshape(reshape x) → reshape x`, each stated as its algebra in `algebraic.rs`;
//! - [`licm`](licm::licm): equations of loop bodies that depend only on the loop's consts move
//!   out of the loop;
//! - [`cse`](cse::cse): equal primitives on equal operands are computed once;
//! - [`dce`](dce::dce): equations whose outputs are unused go.
//!
//! Every pass is a function `&Function -> Function` that copies its input through a value
//! map (`rebuild.rs`), so its output is canonical: values numbered densely in definition
//! order. Passes keep valid functions valid, never change a function's parameters or outputs,
//! apply themselves to sub-functions (of `call`, control flow and custom derivatives), and
//! preserve what the function computes, bit for bit except that zeros are unsigned: `x+0 → x`
//! may turn a `+0.0` into `-0.0` (see `algebraic.rs`).
//!
//! ```
//! use gradjit_ir::{passes, DType, Function, Prim, TensorType, BinaryOp};
//!
//! let mut f = Function::new();
//! let x = f.add_param(TensorType::new(DType::F32, [4]));
//! let one = f.push1(Prim::splat(1.0, f.ty(x)), &[], None).unwrap();
//! let y = f.push1(Prim::Binary(BinaryOp::Mul), &[x, one], None).unwrap();
//! f.outputs.push(y);
//!
//! let g = passes::simplify(&f);
//! assert!(g.eqns.is_empty());
//! assert_eq!(g.outputs, g.params);
//! ```

pub mod algebraic;
pub mod cse;
pub mod dce;
pub mod fold;
pub mod licm;
mod rebuild;
mod rewrite;

use crate::function::Function;

/// A simplification pass.
pub type Pass = fn(&Function) -> Function;

/// The passes of [`simplify`], by name, in the order they run in each round.
pub const PIPELINE: &[(&str, Pass)] = &[
    ("fold", fold::fold),
    ("algebraic", algebraic::algebraic),
    ("licm", licm::licm),
    ("cse", cse::cse),
    ("dce", dce::dce),
];

/// The most rounds of [`PIPELINE`] that [`simplify`] runs. Each rule strictly shrinks the
/// function or moves it towards a normal form, so a handful suffices; the bound only guards
/// against a pair of rules undoing each other.
pub const MAX_ROUNDS: usize = 16;

/// The pass named `name` (`"fold"`, `"algebraic"`, `"licm"`, `"cse"`, `"dce"`).
pub fn pass(name: &str) -> Option<Pass> {
    PIPELINE.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
}

/// Runs [`PIPELINE`] to a fixed point.
pub fn simplify(f: &Function) -> Function {
    simplify_observed(f, &mut |_, _| {})
}

/// Runs [`PIPELINE`] to a fixed point, calling `observe(pass_name, function)` after every pass
/// (how the CLI dumps the function after a given pass).
pub fn simplify_observed(f: &Function, observe: &mut dyn FnMut(&str, &Function)) -> Function {
    let mut current = f.clone();
    for _ in 0..MAX_ROUNDS {
        let before = current.clone();
        for &(name, pass) in PIPELINE {
            current = pass(&current);
            observe(name, &current);
        }
        if current == before {
            break;
        }
    }
    current
}
