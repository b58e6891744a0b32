//! The forms `grad_vars` takes, all turned into a [`Tree<Var>`] whose structure the variable
//! gradients mirror.
//!
//! | given | `var_grads` |
//! |---|---|
//! | a `Var` / `TrainVar` (owned or borrowed) | a bare array |
//! | `vec![..]`, `[..; N]`, `&[..]` | a list |
//! | `(a,)`, `(a, b)`, ... | a tuple |
//! | `BTreeMap`/`HashMap` with string keys | a dict, keys sorted |
//! | a module's `vars()` / `train_vars()` ([`VarCollection`]) | a dict keyed by the collection's names |
//! | a `Tree<Var>` | the same tree |
//!
//! Containers nest (`BTreeMap<&str, Vec<&TrainVar>>` gives a dict of lists). Only variables can
//! be leaves: a plain array is a constant of the function, not something to differentiate, and
//! passing one does not compile:
//!
//! ```compile_fail
//! use gradjit::{grad, Array, Tensor};
//! let not_a_var = Array::zeros([1]);
//! let g = grad(|x: Tensor| x.sum()).grad_vars(&not_a_var);
//! ```
//!
//! An empty form (`Vec::<Var>::new()`, an empty map, `Tree::None`) means no variables, exactly
//! as if `grad_vars` were not given (BrainPy decides by the number of leaves too).

use crate::module::VarCollection;
use crate::tree::Tree;
use crate::var::{TrainVar, Var};
use std::collections::{BTreeMap, HashMap};

/// Something `grad_vars` (and `dyn_vars`) accepts: variables in a tree shape.
pub trait IntoVarTree {
    /// The variables, in the structure their gradients will have.
    fn into_var_tree(self) -> Tree<Var>;
}

impl IntoVarTree for Var {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::Leaf(self)
    }
}
impl IntoVarTree for &Var {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::Leaf(self.clone())
    }
}
impl IntoVarTree for TrainVar {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::Leaf(self.into())
    }
}
impl IntoVarTree for &TrainVar {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::Leaf(self.into())
    }
}
impl IntoVarTree for Tree<Var> {
    fn into_var_tree(self) -> Tree<Var> {
        self
    }
}
impl IntoVarTree for &Tree<Var> {
    fn into_var_tree(self) -> Tree<Var> {
        self.clone()
    }
}
impl IntoVarTree for VarCollection {
    fn into_var_tree(self) -> Tree<Var> {
        self.into()
    }
}
impl IntoVarTree for &VarCollection {
    fn into_var_tree(self) -> Tree<Var> {
        self.into()
    }
}

impl<T: IntoVarTree> IntoVarTree for Vec<T> {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::List(self.into_iter().map(IntoVarTree::into_var_tree).collect())
    }
}
impl<'a, T> IntoVarTree for &'a Vec<T>
where
    &'a T: IntoVarTree,
{
    fn into_var_tree(self) -> Tree<Var> {
        self.as_slice().into_var_tree()
    }
}
impl<'a, T> IntoVarTree for &'a [T]
where
    &'a T: IntoVarTree,
{
    fn into_var_tree(self) -> Tree<Var> {
        Tree::List(self.iter().map(IntoVarTree::into_var_tree).collect())
    }
}
impl<T: IntoVarTree, const N: usize> IntoVarTree for [T; N] {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::List(self.into_iter().map(IntoVarTree::into_var_tree).collect())
    }
}

impl<K: Into<String>, T: IntoVarTree> IntoVarTree for BTreeMap<K, T> {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::Dict(self.into_iter().map(|(k, v)| (k.into(), v.into_var_tree())).collect())
    }
}
impl<K: Into<String>, T: IntoVarTree, S> IntoVarTree for HashMap<K, T, S> {
    fn into_var_tree(self) -> Tree<Var> {
        Tree::Dict(self.into_iter().map(|(k, v)| (k.into(), v.into_var_tree())).collect())
    }
}

impl<T: IntoVarTree> IntoVarTree for Option<T> {
    /// The variables, or none.
    fn into_var_tree(self) -> Tree<Var> {
        self.map_or(Tree::None, IntoVarTree::into_var_tree)
    }
}

macro_rules! tuple_var_trees {
    ($(($($T:ident),+)),*) => {$(
        impl<$($T: IntoVarTree),+> IntoVarTree for ($($T,)+) {
            #[allow(non_snake_case)]
            fn into_var_tree(self) -> Tree<Var> {
                let ($($T,)+) = self;
                Tree::Tuple(vec![$($T.into_var_tree()),+])
            }
        }
    )*};
}
tuple_var_trees!((A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E), (A, B, C, D, E, G));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Array;

    #[test]
    fn each_form_gives_its_structure() {
        let (x, w) = (TrainVar::new(Array::zeros([1])), Var::new(Array::ones([2])));
        assert_eq!(x.clone().into_var_tree().structure().to_string(), "*");
        assert_eq!(vec![&*x, &w].into_var_tree().structure().to_string(), "[*, *]");
        assert_eq!([&x].into_var_tree().structure().to_string(), "[*]");
        assert_eq!((&x,).into_var_tree().structure().to_string(), "(*,)");
        let map = BTreeMap::from([("b", &w), ("a", &w)]);
        assert_eq!(map.into_var_tree().structure().to_string(), "{'a': *, 'b': *}");
        let nested = HashMap::from([("g", vec![x.clone()]), ("h", vec![])]);
        assert_eq!(nested.into_var_tree().structure().to_string(), "{'g': [*], 'h': []}");
        assert_eq!(Option::<Var>::None.into_var_tree().num_leaves(), 0);
        let slice: &[Var] = std::slice::from_ref(&w);
        assert!(slice.into_var_tree()[0].as_leaf() == Some(&w));
    }
}
