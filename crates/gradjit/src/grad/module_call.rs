//! Modules as functions: BrainPy's "class objects" with a `__call__`.
//!
//! A struct implements [`Call`] for its parameter tuple; a reference to it is then a function
//! every transformation accepts, exactly like a closure:
//!
//! ```
//! use gradjit::{grad, Array, Call, Module, ModuleName, Tensor, TrainVar};
//!
//! #[derive(Module)]
//! struct Example {
//!     name: ModuleName,
//!     x: TrainVar,
//!     y: Array, // a constant, not a variable
//! }
//!
//! impl Call<(Tensor, Tensor)> for Example {
//!     type Out = Tensor;
//!     fn call(&self, (z, v): (Tensor, Tensor)) -> Tensor {
//!         let t1 = self.x.value() * Tensor::from(&self.y).sum();
//!         (z * v + t1).tanh().mean()
//!     }
//! }
//!
//! let f = Example { name: ModuleName::of::<Example>(), x: TrainVar::new(Array::zeros([1])), y: Array::ones([10]) };
//! let (z, v) = (Array::full(0.5, [10]), Array::ones([10]));
//! let r = grad(&f).grad_vars(&f.x).argnums([0, 1]).call((&z, &v))?;
//! assert_eq!(r.tree().structure().to_string(), "(*, (*, *))"); // (var_grads, (dz, dv))
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! (The impls live on `&M` under the marker [`ModuleCall`], so that they cannot overlap with
//! the impls for closures.)

use crate::error::{Error, Result};
use crate::signature::{ArgsFor, HostLeaves, Output, Param, TraceFn};
use crate::tensor::Tensor;
use crate::tree::Tree;
use gradjit_ir::TensorType;
use std::marker::PhantomData;

/// A module (or any struct) callable on tensors: `Args` is the tuple of its parameters
/// (`(Tensor,)`, `(Tensor, Tree<Tensor>)`, ...), each a [`Param`], at most 6 of them.
pub trait Call<Args> {
    /// What the call returns (any [`Output`]).
    type Out: Output;
    /// Runs the module on `args`.
    fn call(&self, args: Args) -> Self::Out;
}

/// The parameter marker of a `&M` where `M: Call<Args>`, as a [`TraceFn`].
pub struct ModuleCall<Args>(PhantomData<fn(Args)>);

/// Arguments fit for a module's call are those fit for its parameter tuple.
impl<Args, X: ArgsFor<Args>> ArgsFor<ModuleCall<Args>> for X {
    fn into_trees(self) -> Vec<Tree<Tensor>> {
        ArgsFor::<Args>::into_trees(self)
    }
    fn match_signature<'a>(&'a self, sig: &[Tree<TensorType>], out: &mut HostLeaves<'a>) -> bool {
        ArgsFor::<Args>::match_signature(self, sig, out)
    }
}

macro_rules! module_arities {
    ($(($n:literal; $($P:ident),*)),*) => {$(
        impl<M: Call<($($P,)*)>, $($P: Param),*> TraceFn<ModuleCall<($($P,)*)>> for &M {
            type Out = M::Out;
            const ARITY: usize = $n;
            #[allow(unused_mut, unused_variables, non_snake_case)]
            fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<M::Out> {
                if args.len() != $n {
                    return Err(Error::Argument(format!("the module takes {} argument(s), got {}", $n, args.len())));
                }
                let mut args = args.into_iter().enumerate();
                $(
                    let (i, t) = args.next().ok_or_else(|| Error::Argument("too few arguments".into()))?;
                    let $P = $P::from_tree(t).map_err(|why| Error::Argument(format!("argument {i}: {why}")))?;
                )*
                Ok((**self).call(($($P,)*)))
            }
        }
    )*};
}

module_arities!(
    (0;),
    (1; P0),
    (2; P0, P1),
    (3; P0, P1, P2),
    (4; P0, P1, P2, P3),
    (5; P0, P1, P2, P3, P4),
    (6; P0, P1, P2, P3, P4, P5)
);
