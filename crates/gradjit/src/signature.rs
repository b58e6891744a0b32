//! How transformations call Rust functions of tensors: arguments in, parameters, outputs out.
//!
//! A transformation takes the user's function and a tuple of arguments:
//!
//! ```
//! use gradjit::{make_ir, Array, Tensor};
//! let (z, v) = (Array::ones([3]), Array::zeros([3]));
//! let ir = make_ir(|z: Tensor, v: Tensor| (&z * &v).tanh().mean(), (&z, &v)).unwrap();
//! assert_eq!(ir.function().params.len(), 2);
//! ```
//!
//! - **Arguments** ([`Arg`]): arrays (owned or borrowed), tensors, Rust scalars, and trees or
//!   `Vec`s of arrays or tensors. Several arguments are a tuple; one may also be passed alone.
//! - **Parameters** ([`Param`]): what the function takes for each argument, by value (cloning a
//!   tensor is cheap): a `Tensor`, a `Vec<Tensor>` or a `Tree<Tensor>`. [`TraceFn`] is
//!   implemented for every `Fn` of 0 to 6 parameters; closures need their parameter types
//!   written (`|x: Tensor| ...`), as the transformation accepts functions of any arity.
//! - **Outputs** ([`Output`]): a `Tensor`, a tuple or `Vec` of outputs, a `Tree<Tensor>`, or a
//!   `Result` of one (so a function can use `?` on [`Var::set`](crate::Var::set)).
//!
//! [`ArgsFor`] ties the argument tuple to the function's arity, so passing the wrong number of
//! arguments does not compile; a structure mismatch (a tree passed for a `Tensor` parameter) is
//! an [`Error::Argument`] at run time:
//!
//! ```compile_fail
//! use gradjit::{make_ir, Array, Tensor};
//! let x = Array::ones([2]);
//! let ir = make_ir(|a: Tensor| a.exp(), (&x, &x)); // two arguments for one parameter
//! ```

use crate::array::Array;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::tree::Tree;

/// One argument of a transformed function: becomes a tree of tensors (usually one leaf).
pub trait Arg {
    /// The argument as a tree of tensors.
    fn into_arg(self) -> Tree<Tensor>;
}

impl Arg for Tensor {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(self)
    }
}
impl Arg for &Tensor {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(self.clone())
    }
}
impl Arg for Array {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(Tensor::from(self))
    }
}
impl Arg for &Array {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(Tensor::from(self))
    }
}
impl Arg for Tree<Tensor> {
    fn into_arg(self) -> Tree<Tensor> {
        self
    }
}
impl Arg for &Tree<Tensor> {
    fn into_arg(self) -> Tree<Tensor> {
        self.clone()
    }
}
impl Arg for Tree<Array> {
    fn into_arg(self) -> Tree<Tensor> {
        self.into_map(Tensor::from)
    }
}
impl Arg for &Tree<Array> {
    fn into_arg(self) -> Tree<Tensor> {
        self.map(|a| Tensor::from(a.clone()))
    }
}
impl Arg for Vec<Array> {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::List(self.into_iter().map(|a| Tree::Leaf(Tensor::from(a))).collect())
    }
}
impl Arg for &[Array] {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::List(self.iter().map(|a| Tree::Leaf(Tensor::from(a))).collect())
    }
}
impl Arg for Vec<Tensor> {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::List(self.into_iter().map(Tree::Leaf).collect())
    }
}

macro_rules! scalar_args {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            /// A rank-0 array of this type (`f64` stays `f64`: Rust's types are kept).
            fn into_arg(self) -> Tree<Tensor> {
                Tree::Leaf(Tensor::from(self))
            }
        }
    )*};
}
scalar_args!(f32, f64, i32, i64, bool);

/// What a traced function takes for one argument.
pub trait Param: Sized {
    /// The same structure with leaves of type `L` (the type of this argument's gradient, for
    /// `L = Array`).
    type With<L>;
    /// The parameter from the traced argument, or a description of why it does not fit.
    fn from_tree(t: Tree<Tensor>) -> std::result::Result<Self, String>;
    /// Leaves of type `L` in this parameter's structure (`None` if `t` has another one).
    fn rebuild<L>(t: Tree<L>) -> Option<Self::With<L>>;
}

/// `a leaf`, `a tuple of 2`, ... for messages.
fn describe<T>(t: &Tree<T>) -> String {
    match t {
        Tree::Leaf(_) => "a single array".into(),
        Tree::Tuple(v) => format!("a tuple of {}", v.len()),
        Tree::List(v) => format!("a list of {}", v.len()),
        Tree::Dict(m) => format!("a dict with keys {:?}", m.keys().collect::<Vec<_>>()),
        Tree::None => "None".into(),
    }
}

impl Param for Tensor {
    type With<L> = L;
    fn from_tree(t: Tree<Tensor>) -> std::result::Result<Tensor, String> {
        match t {
            Tree::Leaf(x) => Ok(x),
            other => Err(format!("the function takes a Tensor there, but the argument is {}", describe(&other))),
        }
    }
    fn rebuild<L>(t: Tree<L>) -> Option<L> {
        t.into_leaf()
    }
}

impl Param for Tree<Tensor> {
    type With<L> = Tree<L>;
    fn from_tree(t: Tree<Tensor>) -> std::result::Result<Tree<Tensor>, String> {
        Ok(t)
    }
    fn rebuild<L>(t: Tree<L>) -> Option<Tree<L>> {
        Some(t)
    }
}

impl Param for Vec<Tensor> {
    type With<L> = Vec<L>;
    fn from_tree(t: Tree<Tensor>) -> std::result::Result<Vec<Tensor>, String> {
        let bad =
            |t: &Tree<Tensor>| format!("the function takes a Vec<Tensor> there, but the argument is {}", describe(t));
        match t {
            Tree::List(items) | Tree::Tuple(items) => {
                let n = items.len();
                let leaves: Vec<Tensor> = items.into_iter().filter_map(Tree::into_leaf).collect();
                if leaves.len() == n {
                    Ok(leaves)
                } else {
                    Err("the function takes a Vec<Tensor> there, but the argument's items are not all arrays".into())
                }
            }
            other => Err(bad(&other)),
        }
    }
    fn rebuild<L>(t: Tree<L>) -> Option<Vec<L>> {
        match t {
            Tree::List(items) | Tree::Tuple(items) => items.into_iter().map(Tree::into_leaf).collect(),
            _ => None,
        }
    }
}

/// What a traced function returns.
pub trait Output {
    /// The same structure with leaves of type `L` (`Array` for the values of a jitted function).
    type With<L>;
    /// The output as a tree of tensors (or the error the function returned).
    fn into_tree(self) -> Result<Tree<Tensor>>;
    /// Leaves of type `L` in this output's structure (`None` if `t` has another one).
    fn rebuild<L>(t: Tree<L>) -> Option<Self::With<L>>;
}

impl Output for Tensor {
    type With<L> = L;
    fn into_tree(self) -> Result<Tree<Tensor>> {
        Ok(Tree::Leaf(self))
    }
    fn rebuild<L>(t: Tree<L>) -> Option<L> {
        t.into_leaf()
    }
}

impl Output for Tree<Tensor> {
    type With<L> = Tree<L>;
    fn into_tree(self) -> Result<Tree<Tensor>> {
        Ok(self)
    }
    fn rebuild<L>(t: Tree<L>) -> Option<Tree<L>> {
        Some(t)
    }
}

impl<T: Output> Output for Vec<T> {
    type With<L> = Vec<T::With<L>>;
    fn into_tree(self) -> Result<Tree<Tensor>> {
        Ok(Tree::List(self.into_iter().map(T::into_tree).collect::<Result<_>>()?))
    }
    fn rebuild<L>(t: Tree<L>) -> Option<Self::With<L>> {
        match t {
            Tree::List(items) => items.into_iter().map(T::rebuild).collect(),
            _ => None,
        }
    }
}

impl<T: Output, E: Into<Error>> Output for std::result::Result<T, E> {
    type With<L> = T::With<L>;
    fn into_tree(self) -> Result<Tree<Tensor>> {
        self.map_err(Into::into)?.into_tree()
    }
    fn rebuild<L>(t: Tree<L>) -> Option<Self::With<L>> {
        T::rebuild(t)
    }
}

macro_rules! tuple_outputs {
    ($(($($T:ident),*)),*) => {$(
        impl<$($T: Output),*> Output for ($($T,)*) {
            type With<L> = ($($T::With<L>,)*);
            #[allow(non_snake_case)]
            fn into_tree(self) -> Result<Tree<Tensor>> {
                let ($($T,)*) = self;
                Ok(Tree::Tuple(vec![$($T.into_tree()?),*]))
            }
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn rebuild<L>(t: Tree<L>) -> Option<Self::With<L>> {
                let Tree::Tuple(items) = t else { return None };
                let mut items = items.into_iter();
                let out = ($($T::rebuild(items.next()?)?,)*);
                items.next().is_none().then_some(out)
            }
        }
    )*};
}
tuple_outputs!((), (A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E), (A, B, C, D, E, G));

/// A Rust function that transformations can trace: any `Fn` of up to 6 [`Param`]s returning
/// an [`Output`]. `P` is the tuple of its parameter types.
pub trait TraceFn<P> {
    /// What the function returns.
    type Out: Output;
    /// The number of parameters.
    const ARITY: usize;
    /// Calls the function on one tree per parameter.
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<Self::Out>;
}

/// An argument tuple fit for a function with parameters `P` (the same number of them).
pub trait ArgsFor<P> {
    /// One tree per argument.
    fn into_trees(self) -> Vec<Tree<Tensor>>;
}

/// The error for argument `i` (0-based) not fitting its parameter.
fn argument_error(i: usize, why: String) -> Error {
    Error::Argument(format!("argument {i}: {why}"))
}

macro_rules! arities {
    ($(($n:literal; $($P:ident $X:ident),*)),*) => {$(
        impl<Func, R, $($P: Param),*> TraceFn<($($P,)*)> for Func
        where
            Func: Fn($($P),*) -> R,
            R: Output,
        {
            type Out = R;
            const ARITY: usize = $n;
            #[allow(unused_mut, unused_variables)]
            fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<R> {
                if args.len() != $n {
                    return Err(Error::Argument(format!("the function takes {} argument(s), got {}", $n, args.len())));
                }
                let mut args = args.into_iter().enumerate();
                Ok(self($({
                    let (i, t) = args.next().expect("length checked");
                    $P::from_tree(t).map_err(|why| argument_error(i, why))?
                }),*))
            }
        }

        impl<$($P,)* $($X: Arg),*> ArgsFor<($($P,)*)> for ($($X,)*) {
            #[allow(non_snake_case)]
            fn into_trees(self) -> Vec<Tree<Tensor>> {
                let ($($X,)*) = self;
                vec![$($X.into_arg()),*]
            }
        }
    )*};
}

arities!(
    (0;),
    (1; P0 X0),
    (2; P0 X0, P1 X1),
    (3; P0 X0, P1 X1, P2 X2),
    (4; P0 X0, P1 X1, P2 X2, P3 X3),
    (5; P0 X0, P1 X1, P2 X2, P3 X3, P4 X4),
    (6; P0 X0, P1 X1, P2 X2, P3 X3, P4 X4, P5 X5)
);

/// One argument passed alone to a function of one parameter (`make_ir(f, &x)`).
impl<P0, X0: Arg> ArgsFor<(P0,)> for X0 {
    fn into_trees(self) -> Vec<Tree<Tensor>> {
        vec![self.into_arg()]
    }
}
