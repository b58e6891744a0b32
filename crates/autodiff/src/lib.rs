//! Reverse- and forward-mode differentiation as IR-to-IR transforms.
//!
//! Every transform takes a [`Function`] and returns a new one, so transforms compose:
//!
//! - [`jvp`] (forward mode) emits each equation followed by its JVP rule;
//! - [`vjp`] and [`grad`] (reverse mode) linearize, then transpose, as JAX does: the JVP's
//!   tangent equations are linear in the tangents, so [`partial_eval`] can split them from the
//!   primal ones and [`transpose`] can run them backwards, with one transpose rule for each of
//!   the few linear primitives the JVP rules emit;
//! - [`jacfwd`], [`jacrev`], [`hessian`] and [`hvp`] compose the two;
//! - [`vmap`] (batching) maps a function over a new axis with one batching rule per primitive,
//!   and gives collectives (`psum` …) over its `axis_name` their meaning.
//!
//! The derivative rules live in two exhaustive tables, `rules/jvp.rs` and
//! `rules/transpose.rs`. Zeros are symbolic (`None`) throughout and materialised only where an
//! output needs them; results are cleaned up by [`gradjit_ir::passes::simplify`].
//!
//! ```
//! use gradjit_ir::{parse_function, HostArray};
//! use gradjit_autodiff::grad;
//!
//! let f = parse_function("{ lambda ; a:f64[]. let b:f64[] = integer_pow[y=3] a in (b,) }").unwrap();
//! let df = grad(&f, &[0]).unwrap();
//! let out = gradjit_ir::interp::run(&df, &[HostArray::from_vec([], vec![2.0f64]).unwrap()]).unwrap();
//! assert_eq!(out[1].to_vec::<f64>().unwrap(), vec![12.0]); // d/dx x³ = 3x² = 12 at x = 2
//! ```

mod batching;
mod builder;
mod control;
mod error;
mod jacobian;
mod jvp;
mod partial_eval;
mod reverse;
mod rules;
mod summary;
mod transpose;

pub use batching::vmap;
pub use error::AdError;
pub use jacobian::{hessian, hvp, jacfwd, jacrev, select_outputs};
pub use jvp::jvp;
pub use partial_eval::{partial_eval, Split};
pub use reverse::{grad, grad_unsimplified, vjp};
pub use summary::{rule_summary, RuleSummary};
pub use transpose::transpose;

use gradjit_ir::Function;

/// The clean-up every transform applies to its result (and to the bodies of calls it emits).
fn finish(f: Function) -> Function {
    gradjit_ir::passes::simplify(&f)
}
