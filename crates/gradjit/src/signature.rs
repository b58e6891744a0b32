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
//!
//! A cached `jit` call does not build the trees at all: `ArgsFor::match_signature` compares
//! the borrowed arguments with a cached signature in place and gathers their host arrays, the
//! kernel's inputs, on the stack. An argument that cannot be matched without its tree (a Rust
//! scalar, whose array does not exist yet) says no, and the call takes the general path.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::tree::Tree;
use gradjit_ir::{HostArray, TensorType};
use smallvec::SmallVec;

/// The host arrays of a call's leaves, in flattening order, gathered by
/// `ArgsFor::match_signature`: on the stack for up to 8 leaves.
pub type HostLeaves<'a> = SmallVec<[&'a HostArray; 8]>;

/// `a == b`, element by element: shapes are a few dimensions, for which a call to `memcmp` (what
/// slice equality becomes) costs more than the comparison. The hot path of every cached call.
pub(crate) fn same_type(a: &TensorType, b: &TensorType) -> bool {
    let (x, y) = (a.dims(), b.dims());
    a.dtype == b.dtype && x.len() == y.len() && x.iter().zip(y).all(|(m, n)| m == n)
}

/// Pushes the host array of `leaf` if it is concrete data of type `sig`, a leaf.
fn match_leaf<'a>(sig: &Tree<TensorType>, leaf: Option<&'a Array>, out: &mut HostLeaves<'a>) -> bool {
    match (sig, leaf) {
        (Tree::Leaf(ty), Some(a)) if same_type(a.ty(), ty) => {
            out.push(a.as_host());
            true
        }
        _ => false,
    }
}

/// Pushes the host arrays of `t`'s leaves (`leaf` gives a leaf's data, if concrete) if `t` has
/// the structure and types of `sig`.
fn match_tree<'a, T>(
    sig: &Tree<TensorType>,
    t: &'a Tree<T>,
    leaf: fn(&'a T) -> Option<&'a Array>,
    out: &mut HostLeaves<'a>,
) -> bool {
    match (sig, t) {
        (Tree::Leaf(_), Tree::Leaf(x)) => match_leaf(sig, leaf(x), out),
        (Tree::Tuple(s), Tree::Tuple(a)) | (Tree::List(s), Tree::List(a)) => {
            s.len() == a.len() && s.iter().zip(a).all(|(s, a)| match_tree(s, a, leaf, out))
        }
        (Tree::Dict(s), Tree::Dict(a)) => {
            s.len() == a.len() && s.iter().zip(a).all(|((ks, s), (ka, a))| ks == ka && match_tree(s, a, leaf, out))
        }
        (Tree::None, Tree::None) => true,
        _ => false,
    }
}

/// Pushes the host arrays of `items` if `sig` is a list of leaves of their types (how a `Vec`
/// or slice argument becomes a tree).
fn match_list<'a, T>(
    sig: &Tree<TensorType>,
    items: &'a [T],
    leaf: fn(&'a T) -> Option<&'a Array>,
    out: &mut HostLeaves<'a>,
) -> bool {
    match sig {
        Tree::List(s) => s.len() == items.len() && s.iter().zip(items).all(|(s, x)| match_leaf(s, leaf(x), out)),
        _ => false,
    }
}

fn array_data(a: &Array) -> Option<&Array> {
    Some(a)
}

/// One argument of a transformed function: becomes a tree of tensors (usually one leaf).
pub trait Arg {
    /// The argument as a tree of tensors.
    fn into_arg(self) -> Tree<Tensor>;

    /// Pushes the host arrays of this argument's leaves onto `out` if it is concrete data with
    /// the structure and types of `sig` ([`Arg::into_arg`]'s tree would match it), checked
    /// without building that tree. False if it does not match, or cannot be told without the
    /// tree (the default): the caller then builds it.
    #[doc(hidden)]
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        let _ = (sig, out);
        false
    }
}

impl Arg for Tensor {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(self)
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_leaf(sig, self.concrete(), out)
    }
}
impl Arg for &Tensor {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(self.clone())
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_leaf(sig, self.concrete(), out)
    }
}
impl Arg for Array {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(Tensor::from(self))
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_leaf(sig, Some(self), out)
    }
}
impl Arg for &Array {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::Leaf(Tensor::from(self))
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_leaf(sig, Some(self), out)
    }
}
impl Arg for Tree<Tensor> {
    fn into_arg(self) -> Tree<Tensor> {
        self
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_tree(sig, self, Tensor::concrete, out)
    }
}
impl Arg for &Tree<Tensor> {
    fn into_arg(self) -> Tree<Tensor> {
        self.clone()
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_tree(sig, self, Tensor::concrete, out)
    }
}
impl Arg for Tree<Array> {
    fn into_arg(self) -> Tree<Tensor> {
        self.into_map(Tensor::from)
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_tree(sig, self, array_data, out)
    }
}
impl Arg for &Tree<Array> {
    fn into_arg(self) -> Tree<Tensor> {
        self.map(|a| Tensor::from(a.clone()))
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_tree(sig, self, array_data, out)
    }
}
impl Arg for Vec<Array> {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::List(self.into_iter().map(|a| Tree::Leaf(Tensor::from(a))).collect())
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_list(sig, self, array_data, out)
    }
}
impl Arg for &[Array] {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::List(self.iter().map(|a| Tree::Leaf(Tensor::from(a))).collect())
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_list(sig, self, array_data, out)
    }
}
impl Arg for Vec<Tensor> {
    fn into_arg(self) -> Tree<Tensor> {
        Tree::List(self.into_iter().map(Tree::Leaf).collect())
    }
    fn match_concrete<'a>(&'a self, sig: &Tree<TensorType>, out: &mut HostLeaves<'a>) -> bool {
        match_list(sig, self, Tensor::concrete, out)
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

    /// Pushes the host arrays of every argument's leaves onto `out` if the arguments are
    /// concrete data of signature `sig` (one type tree per argument), checked in place (see
    /// [`Arg::match_concrete`]); false otherwise, with `out` holding a prefix of them.
    #[doc(hidden)]
    fn match_signature<'a>(&'a self, sig: &[Tree<TensorType>], out: &mut HostLeaves<'a>) -> bool {
        let _ = (sig, out);
        false
    }
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
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn match_signature<'a>(&'a self, sig: &[Tree<TensorType>], out: &mut HostLeaves<'a>) -> bool {
                let ($($X,)*) = self;
                let mut sig = match sig.len() {
                    $n => sig.iter(),
                    _ => return false,
                };
                $($X.match_concrete(sig.next().expect("length checked"), out) &&)* true
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
    fn match_signature<'a>(&'a self, sig: &[Tree<TensorType>], out: &mut HostLeaves<'a>) -> bool {
        matches!(sig, [one] if self.match_concrete(one, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad::signature;
    use crate::trace::Tracing;
    use gradjit_ir::DType;

    /// The host arrays `args` gather when matched against the signature of their own trees, or
    /// `None` if they do not match it.
    fn gathered<P, A: ArgsFor<P> + Clone>(args: &A) -> Option<Vec<*const HostArray>> {
        let sig = signature(&args.clone().into_trees()).unwrap();
        let mut out = HostLeaves::new();
        args.match_signature(&sig, &mut out).then(|| out.iter().map(|h| *h as *const HostArray).collect())
    }

    fn ptr(a: &Array) -> *const HostArray {
        a.as_host()
    }

    #[test]
    fn borrowed_arguments_match_their_own_signature_in_place() {
        let (x, y, z) = (Array::ones([2]), Array::zeros([3, 1]), Array::from(1.5f64));
        let list = vec![y.clone(), z.clone()];
        let tree = Tree::dict([("w", Tree::leaf(y.clone())), ("b", Tree::tuple([Tree::leaf(z.clone()), Tree::None]))]);
        // The data itself is gathered (no copy), in flattening order: dict keys sorted.
        assert_eq!(gathered::<(Tensor,), _>(&&x), Some(vec![ptr(&x)]));
        assert_eq!(gathered::<(Tensor, Vec<Tensor>), _>(&(&x, &list[..])), Some(vec![ptr(&x), ptr(&y), ptr(&z)]));
        assert_eq!(gathered::<(Vec<Tensor>,), _>(&(list.clone(),)), Some(vec![ptr(&y), ptr(&z)]));
        assert_eq!(
            gathered::<(Tree<Tensor>, Tensor), _>(&(&tree, Tensor::from(&x))),
            Some(vec![ptr(&z), ptr(&y), ptr(&x)])
        );
        let tensors = vec![Tensor::from(&x), Tensor::from(&z)];
        assert_eq!(gathered::<(Vec<Tensor>,), _>(&(tensors,)), Some(vec![ptr(&x), ptr(&z)]));
        assert_eq!(gathered::<(), _>(&()), Some(vec![]));
        // A Rust scalar has no array to borrow yet: the caller builds its tree instead.
        assert_eq!(gathered::<(Tensor, Tensor), _>(&(&x, 2.0f32)), None);
    }

    #[test]
    fn a_different_type_structure_or_arity_does_not_match() {
        fn fits<P>(args: impl ArgsFor<P>, sig: &[Tree<TensorType>]) -> bool {
            args.match_signature(sig, &mut HostLeaves::new())
        }
        let (x, y) = (Array::ones([2]), Array::ones([3]));
        let pair = [x.clone(), y.clone()];
        let sig = signature(&ArgsFor::<(Tensor, Tensor)>::into_trees((&x, &pair[..]))).unwrap();
        assert!(fits::<(Tensor, Tensor)>((&x, &pair[..]), &sig));
        assert!(!fits::<(Tensor, Tensor)>((&x, &[y.clone(), x.clone()][..]), &sig));
        assert!(!fits::<(Tensor, Tensor)>((&x, &[x.astype(DType::F64), y.clone()][..]), &sig));
        let as_tuple = Tree::tuple([Tree::leaf(x.clone()), Tree::leaf(y.clone())]);
        assert!(!fits::<(Tensor, Tensor)>((&x, &as_tuple), &sig));
        assert!(!fits::<(Tensor,)>(&x, &sig));
        assert!(!fits::<(Tensor, Tensor, Tensor)>((&x, &pair[..], &x), &sig));
    }

    #[test]
    fn traced_tensors_do_not_match() {
        let loc = crate::trace::caller();
        let tracing = Tracing::begin();
        let t = tracing.param(TensorType::new(DType::F32, [2]), &loc);
        let sig = vec![Tree::Leaf(TensorType::new(DType::F32, [2]))];
        assert!(!ArgsFor::<(Tensor,)>::match_signature(&&t, &sig, &mut HostLeaves::new()));
        let concrete = Tensor::from(Array::ones([2]));
        assert!(ArgsFor::<(Tensor,)>::match_signature(&&concrete, &sig, &mut HostLeaves::new()));
        drop(t);
        tracing.finish(&[], &loc).unwrap();
    }
}
