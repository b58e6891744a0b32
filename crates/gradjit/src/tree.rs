//! `Tree`: pytrees, the nested containers transformations take and return.
//!
//! A [`Tree<T>`] is JAX's pytree over leaves of type `T`: tuples, lists and string-keyed dicts
//! nested to any depth, plus `None` (a tree with no leaves). `grad` takes its variables as a
//! `Tree<Var>` and returns their gradients as a `Tree<Array>` of the same structure, as BrainPy
//! returns a dict for a dict of variables and a list for a list.
//!
//! Flattening lists the leaves in a fixed order (tuples and lists in order, dicts in sorted key
//! order, as JAX does) and a [`TreeDef`] records the structure, so that leaves can be
//! processed as a flat list and put back:
//!
//! ```
//! use gradjit::Tree;
//! use std::collections::BTreeMap;
//! let t = Tree::<i32>::from((Tree::leaf(1), Tree::from(vec![2, 3])));
//! let (leaves, def) = t.clone().flatten();
//! assert_eq!(leaves, vec![1, 2, 3]);
//! assert_eq!(def.to_string(), "(*, [*, *])");
//! assert_eq!(def.unflatten(leaves).unwrap(), t);
//! let d = Tree::<f64>::from(BTreeMap::from([("b".to_string(), 1.5), ("a".to_string(), 2.5)]));
//! assert_eq!(d.leaves(), vec![&2.5, &1.5]);
//! assert_eq!(d.to_string(), "{'a': 2.5, 'b': 1.5}");
//! ```

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;

/// A pytree with leaves of type `T`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tree<T> {
    /// One value.
    Leaf(T),
    /// A fixed group (Python's `tuple`).
    Tuple(Vec<Tree<T>>),
    /// A sequence (Python's `list`).
    List(Vec<Tree<T>>),
    /// Named entries, kept in sorted key order.
    Dict(BTreeMap<String, Tree<T>>),
    /// No value, and no leaves.
    None,
}

/// The structure of a tree without its leaves (JAX's `PyTreeDef`); printed with `*` for leaves:
/// `(*, [*, *], {'a': *})`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TreeDef(Tree<()>);

impl<T> Tree<T> {
    /// A leaf.
    pub fn leaf(value: T) -> Tree<T> {
        Tree::Leaf(value)
    }

    /// A tuple of subtrees.
    pub fn tuple(items: impl IntoIterator<Item = Tree<T>>) -> Tree<T> {
        Tree::Tuple(items.into_iter().collect())
    }

    /// A list of subtrees.
    pub fn list(items: impl IntoIterator<Item = Tree<T>>) -> Tree<T> {
        Tree::List(items.into_iter().collect())
    }

    /// A dict of subtrees.
    pub fn dict<K: Into<String>>(entries: impl IntoIterator<Item = (K, Tree<T>)>) -> Tree<T> {
        Tree::Dict(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// True for a leaf.
    pub fn is_leaf(&self) -> bool {
        matches!(self, Tree::Leaf(_))
    }

    /// The value of a leaf.
    pub fn as_leaf(&self) -> Option<&T> {
        match self {
            Tree::Leaf(v) => Some(v),
            _ => None,
        }
    }

    /// The value of a leaf, by value.
    pub fn into_leaf(self) -> Option<T> {
        match self {
            Tree::Leaf(v) => Some(v),
            _ => None,
        }
    }

    /// Item `i` of a tuple or list.
    pub fn get(&self, i: usize) -> Option<&Tree<T>> {
        match self {
            Tree::Tuple(items) | Tree::List(items) => items.get(i),
            _ => None,
        }
    }

    /// Entry `key` of a dict.
    pub fn get_key(&self, key: &str) -> Option<&Tree<T>> {
        match self {
            Tree::Dict(entries) => entries.get(key),
            _ => None,
        }
    }

    /// The leaves, in flattening order.
    pub fn leaves(&self) -> Vec<&T> {
        let mut out = Vec::new();
        self.visit(&mut |leaf| out.push(leaf));
        out
    }

    /// The number of leaves.
    pub fn num_leaves(&self) -> usize {
        let mut n = 0;
        self.visit(&mut |_| n += 1);
        n
    }

    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a T)) {
        match self {
            Tree::Leaf(v) => f(v),
            Tree::Tuple(items) | Tree::List(items) => items.iter().for_each(|t| t.visit(f)),
            Tree::Dict(entries) => entries.values().for_each(|t| t.visit(f)),
            Tree::None => {}
        }
    }

    /// The leaves in flattening order, and the structure to put them back with.
    pub fn flatten(self) -> (Vec<T>, TreeDef) {
        let def = self.structure();
        (self.into_leaves(), def)
    }

    /// The leaves in flattening order, by value.
    pub fn into_leaves(self) -> Vec<T> {
        let mut out = Vec::new();
        self.into_map(|leaf| out.push(leaf));
        out
    }

    /// The structure, without the leaves.
    pub fn structure(&self) -> TreeDef {
        TreeDef(self.map(|_| ()))
    }

    /// The tree with `f` applied to every leaf, in flattening order.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Tree<U> {
        self.try_map(|leaf| Ok::<U, std::convert::Infallible>(f(leaf))).unwrap_or_else(|never| match never {})
    }

    /// The tree with `f` applied to every leaf, in flattening order; stops at the first error.
    pub fn try_map<U, E>(&self, mut f: impl FnMut(&T) -> std::result::Result<U, E>) -> std::result::Result<Tree<U>, E> {
        self.try_map_ref(&mut f)
    }

    fn try_map_ref<U, E>(
        &self,
        f: &mut impl FnMut(&T) -> std::result::Result<U, E>,
    ) -> std::result::Result<Tree<U>, E> {
        Ok(match self {
            Tree::Leaf(v) => Tree::Leaf(f(v)?),
            Tree::Tuple(items) => {
                Tree::Tuple(items.iter().map(|t| t.try_map_ref(f)).collect::<std::result::Result<_, E>>()?)
            }
            Tree::List(items) => {
                Tree::List(items.iter().map(|t| t.try_map_ref(f)).collect::<std::result::Result<_, E>>()?)
            }
            Tree::Dict(entries) => Tree::Dict(
                entries
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.try_map_ref(f)?)))
                    .collect::<std::result::Result<_, E>>()?,
            ),
            Tree::None => Tree::None,
        })
    }

    /// The tree with `f` applied to every leaf, taken by value, in flattening order.
    pub fn into_map<U>(self, mut f: impl FnMut(T) -> U) -> Tree<U> {
        self.into_map_ref(&mut f)
    }

    fn into_map_ref<U>(self, f: &mut impl FnMut(T) -> U) -> Tree<U> {
        match self {
            Tree::Leaf(v) => Tree::Leaf(f(v)),
            Tree::Tuple(items) => Tree::Tuple(items.into_iter().map(|t| t.into_map_ref(f)).collect()),
            Tree::List(items) => Tree::List(items.into_iter().map(|t| t.into_map_ref(f)).collect()),
            Tree::Dict(entries) => Tree::Dict(entries.into_iter().map(|(k, t)| (k, t.into_map_ref(f))).collect()),
            Tree::None => Tree::None,
        }
    }

    /// Pairs the leaves of two trees of the same structure with `f` (e.g. parameters with their
    /// gradients); an error if the structures differ.
    pub fn zip_with<U, V>(&self, other: &Tree<U>, mut f: impl FnMut(&T, &U) -> V) -> Result<Tree<V>> {
        let (def, other_def) = (self.structure(), other.structure());
        if def != other_def {
            return Err(Error::Structure(format!("cannot zip trees of structures {def} and {other_def}")));
        }
        let pairs = self.leaves().into_iter().zip(other.leaves()).map(|(a, b)| f(a, b));
        def.unflatten(pairs)
    }
}

impl TreeDef {
    /// The number of leaves a tree of this structure has.
    pub fn num_leaves(&self) -> usize {
        self.0.num_leaves()
    }

    /// The structure of a single leaf.
    pub fn leaf() -> TreeDef {
        TreeDef(Tree::Leaf(()))
    }

    /// A tree of this structure holding `leaves` (in flattening order); an error unless there
    /// are exactly [`TreeDef::num_leaves`] of them.
    pub fn unflatten<U>(&self, leaves: impl IntoIterator<Item = U>) -> Result<Tree<U>> {
        let leaves: Vec<U> = leaves.into_iter().collect();
        if leaves.len() != self.num_leaves() {
            return Err(Error::Structure(format!(
                "the structure {self} has {} leaves, but {} were given",
                self.num_leaves(),
                leaves.len()
            )));
        }
        let mut leaves = leaves.into_iter();
        Ok(self.0.map(|()| leaves.next().expect("as many leaves as places")))
    }

    /// The structure as a tree with `()` leaves.
    pub fn as_tree(&self) -> &Tree<()> {
        &self.0
    }
}

impl<T> Index<usize> for Tree<T> {
    type Output = Tree<T>;
    /// Item `i` of a tuple or list; panics otherwise, like slice indexing.
    #[track_caller]
    fn index(&self, i: usize) -> &Tree<T> {
        self.get(i).unwrap_or_else(|| panic!("no item {i} in this tree (a {})", self.kind()))
    }
}

impl<T> Index<&str> for Tree<T> {
    type Output = Tree<T>;
    /// Entry `key` of a dict; panics otherwise, like map indexing.
    #[track_caller]
    fn index(&self, key: &str) -> &Tree<T> {
        self.get_key(key).unwrap_or_else(|| panic!("no entry '{key}' in this tree (a {})", self.kind()))
    }
}

impl<T> Tree<T> {
    fn kind(&self) -> String {
        match self {
            Tree::Leaf(_) => "leaf".into(),
            Tree::Tuple(items) => format!("tuple of {}", items.len()),
            Tree::List(items) => format!("list of {}", items.len()),
            Tree::Dict(entries) => format!("dict with keys {:?}", entries.keys().collect::<Vec<_>>()),
            Tree::None => "None".into(),
        }
    }

    /// Python's notation, writing each leaf with `leaf`.
    fn write(
        &self,
        f: &mut fmt::Formatter<'_>,
        leaf: &impl Fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
    ) -> fmt::Result {
        let seq = |f: &mut fmt::Formatter<'_>, items: &[Tree<T>]| -> fmt::Result {
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                t.write(f, leaf)?;
            }
            Ok(())
        };
        match self {
            Tree::Leaf(v) => leaf(v, f),
            Tree::Tuple(items) => {
                f.write_str("(")?;
                seq(f, items)?;
                f.write_str(if items.len() == 1 { ",)" } else { ")" })
            }
            Tree::List(items) => {
                f.write_str("[")?;
                seq(f, items)?;
                f.write_str("]")
            }
            Tree::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, t)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "'{k}': ")?;
                    t.write(f, leaf)?;
                }
                f.write_str("}")
            }
            Tree::None => f.write_str("None"),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Tree<T> {
    /// Python's notation: `(a, [b, c], {'k': d}, None)`; a one-tuple is `(a,)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, &|v, f| fmt::Display::fmt(v, f))
    }
}

impl fmt::Display for TreeDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f, &|(), f| f.write_str("*"))
    }
}

impl fmt::Debug for TreeDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TreeDef({self})")
    }
}

// ---- Conversions ----
//
// A leaf converts from `T`, containers from containers of `T` or of `Tree<T>`. (These impls do
// not overlap: each would need `T = Tree<T>` or `T = (T, T)` to meet another.) Mixed tuples
// such as `(T, Tree<T>)` are built with `Tree::leaf` on the plain members. Where the leaf type
// is not known from context, name it: `Tree::<i32>::from((1, 2))` (a tuple of two leaves), as
// `Tree::from((1, 2))` could also be one leaf `(1, 2)`.

impl<T> From<T> for Tree<T> {
    fn from(v: T) -> Tree<T> {
        Tree::Leaf(v)
    }
}

impl<T> From<Vec<T>> for Tree<T> {
    /// A list of leaves.
    fn from(v: Vec<T>) -> Tree<T> {
        Tree::List(v.into_iter().map(Tree::Leaf).collect())
    }
}

impl<T> From<Vec<Tree<T>>> for Tree<T> {
    /// A list of subtrees.
    fn from(v: Vec<Tree<T>>) -> Tree<T> {
        Tree::List(v)
    }
}

impl<T> From<BTreeMap<String, T>> for Tree<T> {
    /// A dict of leaves.
    fn from(m: BTreeMap<String, T>) -> Tree<T> {
        Tree::Dict(m.into_iter().map(|(k, v)| (k, Tree::Leaf(v))).collect())
    }
}

impl<T> From<BTreeMap<String, Tree<T>>> for Tree<T> {
    /// A dict of subtrees.
    fn from(m: BTreeMap<String, Tree<T>>) -> Tree<T> {
        Tree::Dict(m)
    }
}

impl<T> From<Option<T>> for Tree<T> {
    /// A leaf, or `None`.
    fn from(v: Option<T>) -> Tree<T> {
        v.map_or(Tree::None, Tree::Leaf)
    }
}

macro_rules! from_tuples {
    ($(($($name:ident),+)),*) => {$(
        impl<T> From<($(from_tuples!(@leaf $name),)+)> for Tree<T> {
            /// A tuple of leaves.
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($(from_tuples!(@leaf $name),)+)) -> Tree<T> {
                Tree::Tuple(vec![$(Tree::Leaf($name)),+])
            }
        }
        impl<T> From<($(from_tuples!(@tree $name),)+)> for Tree<T> {
            /// A tuple of subtrees.
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($(from_tuples!(@tree $name),)+)) -> Tree<T> {
                Tree::Tuple(vec![$($name),+])
            }
        }
    )*};
    (@leaf $name:ident) => { T };
    (@tree $name:ident) => { Tree<T> };
}
from_tuples!((A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E), (A, B, C, D, E, F));

#[cfg(test)]
mod tests {
    use super::*;

    type T = Tree<i32>;

    fn nested() -> Tree<i32> {
        Tree::tuple([
            Tree::leaf(1),
            T::from(vec![2, 3]),
            Tree::dict([("z", Tree::leaf(4)), ("a", T::from((5, 6)))]),
            Tree::None,
            Tree::list([]),
        ])
    }

    #[test]
    fn flatten_orders_leaves_like_jax() {
        // Dict entries come in sorted key order: 'a' (5, 6) before 'z' (4).
        let (leaves, def) = nested().flatten();
        assert_eq!(leaves, vec![1, 2, 3, 5, 6, 4]);
        assert_eq!(def.num_leaves(), 6);
        assert_eq!(def.to_string(), "(*, [*, *], {'a': (*, *), 'z': *}, None, [])");
        assert_eq!(format!("{def:?}"), "TreeDef((*, [*, *], {'a': (*, *), 'z': *}, None, []))");
    }

    #[test]
    fn unflatten_round_trips() {
        for tree in [nested(), Tree::leaf(7), Tree::None, T::from((1, 2)), T::from(vec![T::from(vec![1])])] {
            let (leaves, def) = tree.clone().flatten();
            assert_eq!(def.unflatten(leaves).unwrap(), tree);
            assert_eq!(tree.structure(), def);
        }
        // New leaves of another type in the same places.
        let def = nested().structure();
        let strings = def.unflatten((0..6).map(|i| format!("s{i}"))).unwrap();
        assert_eq!(strings.to_string(), "(s0, [s1, s2], {'a': (s3, s4), 'z': s5}, None, [])");
    }

    #[test]
    fn unflatten_counts_the_leaves() {
        let def = T::from((1, 2)).structure();
        let few = def.unflatten([1]).unwrap_err();
        assert_eq!(few.to_string(), "the structure (*, *) has 2 leaves, but 1 were given");
        let many = def.unflatten([1, 2, 3]).unwrap_err();
        assert_eq!(many.to_string(), "the structure (*, *) has 2 leaves, but 3 were given");
    }

    #[test]
    fn map_and_try_map_keep_the_structure() {
        let doubled = nested().map(|x| 2 * x);
        assert_eq!(doubled.leaves(), vec![&2, &4, &6, &10, &12, &8]);
        assert_eq!(doubled.structure(), nested().structure());
        let ok: std::result::Result<Tree<u8>, String> =
            nested().try_map(|&x| u8::try_from(x).map_err(|e| e.to_string()));
        assert_eq!(ok.unwrap().leaves(), vec![&1, &2, &3, &5, &6, &4]);
        let mut seen = Vec::new();
        let err = nested().try_map(|&x| {
            seen.push(x);
            if x == 3 {
                Err("three")
            } else {
                Ok(x)
            }
        });
        assert_eq!((err, seen), (Err("three"), vec![1, 2, 3]), "stops at the first error, in leaf order");
        assert_eq!(nested().into_map(|x| x as f64 / 2.0).leaves()[0], &0.5);
    }

    #[test]
    fn zip_with_pairs_leaves_of_equal_structures() {
        let params = Tree::<f64>::from(vec![1.0, 2.0]);
        let grads = Tree::<f64>::from(vec![0.5, 0.25]);
        assert_eq!(params.zip_with(&grads, |p, g| p - g).unwrap(), Tree::<f64>::from(vec![0.5, 1.75]));
        let e = params.zip_with(&Tree::<f64>::from((0.5, 0.25)), |p, g| p - g).unwrap_err();
        assert_eq!(e.to_string(), "cannot zip trees of structures [*, *] and (*, *)");
    }

    #[test]
    fn accessors() {
        let t = nested();
        assert_eq!(t[0].as_leaf(), Some(&1));
        assert_eq!(t[1][1], Tree::leaf(3));
        assert_eq!(t[2]["a"][1].as_leaf(), Some(&6));
        assert_eq!(t.get(9), None);
        assert_eq!(t.get_key("a"), None, "a tuple has no keys");
        assert_eq!(t[2].get_key("q"), None);
        assert!(t[3] == Tree::None && t[0].is_leaf() && !t.is_leaf());
        assert_eq!(Tree::leaf(5).into_leaf(), Some(5));
        assert_eq!(t.num_leaves(), 6);
        let panic = std::panic::catch_unwind(|| nested()[2]["q"].clone()).unwrap_err();
        assert_eq!(
            panic.downcast_ref::<String>().unwrap(),
            "no entry 'q' in this tree (a dict with keys [\"a\", \"z\"])"
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(Tree::<f64>::from(1.5), Tree::Leaf(1.5));
        assert_eq!(T::from(vec![1, 2]), Tree::List(vec![Tree::Leaf(1), Tree::Leaf(2)]));
        assert_eq!(T::from((1,)).to_string(), "(1,)");
        assert_eq!(T::from((1, 2, 3)).num_leaves(), 3);
        assert_eq!(T::from((Tree::leaf(1), T::from(vec![2, 3]))).to_string(), "(1, [2, 3])");
        assert_eq!(T::from(None::<i32>), Tree::None);
        assert_eq!(T::from(Some(3)), Tree::Leaf(3));
        let m = BTreeMap::from([("w".to_string(), T::from(vec![1])), ("b".to_string(), Tree::leaf(2))]);
        assert_eq!(T::from(m).to_string(), "{'b': 2, 'w': [1]}");
        assert_eq!(Tree::<i32>::None.to_string(), "None");
        assert_eq!(Tree::<i32>::tuple([]).to_string(), "()");
    }
}
