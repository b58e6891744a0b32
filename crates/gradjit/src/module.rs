//! Modules: objects that expose their variables by name (BrainPy's `BrainPyObject`).
//!
//! A module is a struct holding [`Var`]s, [`TrainVar`]s, collections of them and other modules.
//! `#[derive(Module)]` lets it list them, with BrainPy's naming rules:
//!
//! ```
//! use gradjit::{Array, Module, ModuleName, TrainVar, Var};
//!
//! #[derive(Module)]
//! struct Linear {
//!     name: ModuleName,
//!     w: TrainVar,
//!     b: TrainVar,
//! }
//!
//! #[derive(Module)]
//! struct Net {
//!     name: ModuleName,
//!     layers: Vec<Linear>,   // child modules
//!     steps: Var,            // a variable, not trained
//!     scale: Array,          // a constant: not a variable
//! }
//!
//! let linear = |n| Linear {
//!     name: ModuleName::new("Dense"),
//!     w: TrainVar::new(Array::ones([n])),
//!     b: TrainVar::new(0.0f32),
//! };
//! let net = Net {
//!     name: ModuleName::exact("net"),
//!     layers: vec![linear(2), linear(3)],
//!     steps: Var::new(0i32),
//!     scale: Array::from(2.0f32),
//! };
//!
//! let rel = net.vars_relative()?;
//! assert_eq!(rel.names().collect::<Vec<_>>(), ["steps", "layers-0.w", "layers-0.b", "layers-1.w", "layers-1.b"]);
//! let abs = net.train_vars()?; // named after each node's unique name: `Dense0.w`, `Dense1.w`, ...
//! assert_eq!(abs.len(), 4);
//! assert!(abs.names().all(|n| n.starts_with("Dense")));
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! **Names.** Every module instance has a unique name held in a [`ModuleName`] field (the
//! derive finds it by its type): [`ModuleName::new`]`("Dense")` numbers instances per type name
//! (`Dense0`, `Dense1`, ... like BrainPy's `get_unique_name`), [`ModuleName::of::<Self>`] takes
//! the type's own name, and [`ModuleName::exact`] uses a fixed name (BrainPy's `name=`).
//!
//! **Collection** ([`Module::vars`]) walks the module tree as BrainPy's `nodes()` does: the
//! module itself, then its direct children, then each child's subtree, and lists each node's
//! own variables in field order:
//! - absolute names (the default) are `{node name}.{field}`: `Net0.steps`, `Dense1.w`;
//! - relative names ([`Module::vars_relative`]) are paths from the root: `steps`, `layers-0.w`;
//! - an element of a `Vec` field is `{field}-{i}` and an entry of a `BTreeMap` field `{field}-{key}`;
//!   a child module in a `Vec` has path `{field}-{i}`, in a map `{field}.{key}` (BrainPy's
//!   `NodeList`/`NodeDict` rules);
//! - a variable met again under the same name is listed once; two different variables (or
//!   modules) under one name are an [`Error::NameConflict`], as in BrainPy.
//!
//! **What the derive collects.** Each field whose type implements [`Collect`]: [`Var`],
//! [`TrainVar`], every `Module`, and `Vec`, arrays, `BTreeMap<String, _>`, `Option`, `Rc` and
//! `Arc` of those, nested freely. Other fields (arrays, numbers, closures) are not variables
//! and are skipped, decided by type at compile time; `#[module(skip)]` skips a field that would
//! be collected. A field whose type is a generic parameter is collected when the struct's
//! bounds make it a `Module`.

use crate::error::{Error, Result};
use crate::tree::Tree;
use crate::var::{TrainVar, Var};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

// ---- Names ----

/// The unique name of a module instance; clones are the same instance.
#[derive(Clone)]
pub struct ModuleName(Arc<str>);

impl ModuleName {
    /// `{type_name}{n}`, numbering the instances of each type name from 0 in this process
    /// (`ModuleName::new("Dense")` gives `Dense0`, then `Dense1`, ...).
    pub fn new(type_name: &str) -> ModuleName {
        static COUNTERS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
        let mut counters = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counters.entry(type_name.to_string()).or_insert(0);
        let name = format!("{type_name}{n}");
        *n += 1;
        ModuleName(name.into())
    }

    /// A fresh name from the type's own name (without its path and generic arguments):
    /// `ModuleName::of::<Net>()` gives `Net0`, `Net1`, ...
    pub fn of<M: ?Sized>() -> ModuleName {
        ModuleName::new(short_type_name::<M>())
    }

    /// Exactly `name`. Unlike numbered names it may be used twice; collecting variables from two
    /// modules of one name is then an error.
    pub fn exact(name: impl Into<String>) -> ModuleName {
        ModuleName(name.into().into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if both are the name of the same instance (not merely equal text).
    pub fn same_instance(&self, other: &ModuleName) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    fn identity(&self) -> usize {
        Arc::as_ptr(&self.0) as *const u8 as usize
    }
}

/// `path::to::Net<T>` → `Net`.
fn short_type_name<M: ?Sized>() -> &'static str {
    let full = std::any::type_name::<M>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModuleName({:?})", &*self.0)
    }
}

impl AsRef<str> for ModuleName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// ---- The traits ----

/// An object with named variables and child modules. Implement it with `#[derive(Module)]`.
pub trait Module: AsModule {
    /// The instance's unique name.
    fn name(&self) -> &ModuleName;

    /// Shows `visitor` this module's own variables and its direct child modules, in field
    /// order (what the derive writes: [`Collect::collect`] on each field).
    fn visit_fields<'a>(&'a self, visitor: &mut dyn Visitor<'a>);

    /// The name of the implementing type, for messages.
    fn type_name(&self) -> &'static str {
        short_type_name::<Self>()
    }

    /// Every variable of this module and its descendants, by absolute name (`Example0.x`), in
    /// BrainPy's order. Variables without a name take the name they are collected under.
    fn vars(&self) -> Result<VarCollection> {
        self.vars_with(Naming::Absolute, None)
    }

    /// Every variable by path from this module (`x`, `child.w`, `layers-0.b`).
    fn vars_relative(&self) -> Result<VarCollection> {
        self.vars_with(Naming::Relative, None)
    }

    /// The trainable variables ([`TrainVar`]s) among [`Module::vars`].
    fn train_vars(&self) -> Result<VarCollection> {
        Ok(self.vars()?.trainable())
    }

    /// The variables of the modules at most `level` levels below this one (all with `None`; only
    /// this module's own with `Some(0)`), named by `naming`.
    fn vars_with(&self, naming: Naming, level: Option<usize>) -> Result<VarCollection> {
        let mut out = VarCollection::new();
        for (node_path, node) in self.nodes_with(naming, level)? {
            let mut own = OwnVars(Vec::new());
            node.visit_fields(&mut own);
            for (field, var) in own.0 {
                let name = if node_path.is_empty() { field } else { format!("{node_path}.{field}") };
                out.insert(name.clone(), var)?;
                if naming == Naming::Absolute && var.name().is_none() {
                    var.set_name(name);
                }
            }
        }
        Ok(out)
    }

    /// This module and its descendants, keyed by name (absolute) or path (relative, the root's
    /// path is empty), in BrainPy's order.
    fn nodes_with(&self, naming: Naming, level: Option<usize>) -> Result<Vec<(String, &dyn Module)>> {
        let mut edges = HashSet::new();
        Ok(find_nodes(self.as_module(), naming, level, 0, &mut edges)?.entries)
    }
}

/// Upcasting to `&dyn Module` (implemented for every sized module; lets the provided methods of
/// [`Module`] treat the receiver like its children).
pub trait AsModule {
    /// `self` as a trait object.
    fn as_module(&self) -> &dyn Module;
}

impl<M: Module> AsModule for M {
    fn as_module(&self) -> &dyn Module {
        self
    }
}

/// How collected variables are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Naming {
    /// `{node name}.{field}`: unique across every module alive (BrainPy's `'absolute'`).
    Absolute,
    /// The path of fields from the root: `field`, `child.field` (BrainPy's `'relative'`).
    Relative,
}

/// What a module shows when visited: variables and child modules, each at a field path.
pub trait Visitor<'a> {
    /// A variable of the module.
    fn var(&mut self, path: &FieldPath<'_>, var: &'a Var);
    /// A direct child module.
    fn module(&mut self, path: &FieldPath<'_>, module: &'a dyn Module);
}

/// A field type that holds variables or modules; `#[derive(Module)]` collects the fields whose
/// type implements it.
pub trait Collect {
    /// Shows `visitor` what the value holds, at `path`.
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>);
}

/// Where a value sits in a module: a field, then item indices and map keys.
#[derive(Clone, Copy, Debug)]
pub struct FieldPath<'p> {
    parent: Option<&'p FieldPath<'p>>,
    segment: Segment<'p>,
}

#[derive(Clone, Copy, Debug)]
enum Segment<'p> {
    Field(&'p str),
    Index(usize),
    Key(&'p str),
}

impl<'p> FieldPath<'p> {
    /// The path of a field.
    pub fn field(name: &'p str) -> FieldPath<'p> {
        FieldPath { parent: None, segment: Segment::Field(name) }
    }

    /// The path of item `i` of the value at this path.
    pub fn index(&'p self, i: usize) -> FieldPath<'p> {
        FieldPath { parent: Some(self), segment: Segment::Index(i) }
    }

    /// The path of entry `key` of the value at this path.
    pub fn key(&'p self, key: &'p str) -> FieldPath<'p> {
        FieldPath { parent: Some(self), segment: Segment::Key(key) }
    }

    /// The name of a variable at this path: `field`, `field-0`, `field-key`.
    pub fn var_name(&self) -> String {
        self.render('-')
    }

    /// The path of a module at this path: `field`, `field-0`, `field.key`.
    pub fn node_path(&self) -> String {
        self.render('.')
    }

    fn render(&self, key_separator: char) -> String {
        let mut s = self.parent.map(|p| p.render(key_separator)).unwrap_or_default();
        match self.segment {
            Segment::Field(f) => s += f,
            Segment::Index(i) => s += &format!("-{i}"),
            Segment::Key(k) => {
                s.push(key_separator);
                s += k;
            }
        }
        s
    }
}

// ---- What collects ----

impl Collect for Var {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        visitor.var(path, self);
    }
}

impl Collect for TrainVar {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        visitor.var(path, self.var());
    }
}

impl<M: Module> Collect for M {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        visitor.module(path, self);
    }
}

impl<T: Collect> Collect for [T] {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        for (i, item) in self.iter().enumerate() {
            item.collect(&path.index(i), visitor);
        }
    }
}

impl<T: Collect> Collect for Vec<T> {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        self.as_slice().collect(path, visitor);
    }
}

impl<T: Collect, const N: usize> Collect for [T; N] {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        self.as_slice().collect(path, visitor);
    }
}

impl<T: Collect> Collect for BTreeMap<String, T> {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        for (key, item) in self {
            item.collect(&path.key(key), visitor);
        }
    }
}

impl<T: Collect> Collect for Option<T> {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        if let Some(item) = self {
            item.collect(path, visitor);
        }
    }
}

impl<T: Collect + ?Sized> Collect for Arc<T> {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        (**self).collect(path, visitor);
    }
}

impl<T: Collect + ?Sized> Collect for Rc<T> {
    fn collect<'a>(&'a self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'a>) {
        (**self).collect(path, visitor);
    }
}

/// The derive's field dispatch: collects a field if its type implements [`Collect`] and skips
/// it otherwise, decided at compile time by method resolution ("autoref specialization": the
/// call `(&Probe(&field)).__collect(..)` finds `ViaCollect` on `Probe<T>` first, if `T: Collect`,
/// and else `ViaNothing` on `&Probe<T>`).
#[doc(hidden)]
pub mod __private {
    use super::{Collect, FieldPath, Visitor};

    pub struct Probe<'f, T: ?Sized>(pub &'f T);

    pub trait ViaCollect<'f> {
        fn __collect(&self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'f>);
    }

    impl<'f, T: Collect + ?Sized> ViaCollect<'f> for Probe<'f, T> {
        fn __collect(&self, path: &FieldPath<'_>, visitor: &mut dyn Visitor<'f>) {
            self.0.collect(path, visitor);
        }
    }

    pub trait ViaNothing<'f> {
        fn __collect(&self, _path: &FieldPath<'_>, _visitor: &mut dyn Visitor<'f>) {}
    }

    impl<'f, T: ?Sized> ViaNothing<'f> for &Probe<'f, T> {}
}

// ---- The walk ----

/// A module's own variables, with their field names.
struct OwnVars<'a>(Vec<(String, &'a Var)>);

impl<'a> Visitor<'a> for OwnVars<'a> {
    fn var(&mut self, path: &FieldPath<'_>, var: &'a Var) {
        self.0.push((path.var_name(), var));
    }
    fn module(&mut self, _: &FieldPath<'_>, _: &'a dyn Module) {}
}

/// A module's direct children, with their paths.
struct Children<'a>(Vec<(String, &'a dyn Module)>);

impl<'a> Visitor<'a> for Children<'a> {
    fn var(&mut self, _: &FieldPath<'_>, _: &'a Var) {}
    fn module(&mut self, path: &FieldPath<'_>, module: &'a dyn Module) {
        self.0.push((path.node_path(), module));
    }
}

/// Nodes by key, in insertion order; a key may only be reused for the same instance.
struct Nodes<'a> {
    entries: Vec<(String, &'a dyn Module)>,
    index: HashMap<String, usize>,
}

impl<'a> Nodes<'a> {
    fn insert(&mut self, key: String, node: &'a dyn Module) -> Result<()> {
        match self.index.get(&key) {
            Some(&i) if self.entries[i].1.name().same_instance(node.name()) => Ok(()),
            Some(&i) => Err(Error::NameConflict {
                name: key,
                new: describe_module(node),
                old: describe_module(self.entries[i].1),
            }),
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, node));
                Ok(())
            }
        }
    }
}

fn describe_module(m: &dyn Module) -> String {
    format!("{} module `{}`", m.type_name(), m.name())
}

/// BrainPy's `_find_nodes`: the node, its direct children, then each child's subtree; an edge
/// (parent, child) is followed once, so a module shared by several parents is walked once.
fn find_nodes<'a>(
    node: &'a dyn Module,
    naming: Naming,
    level: Option<usize>,
    depth: usize,
    edges: &mut HashSet<(usize, usize)>,
) -> Result<Nodes<'a>> {
    let mut gather = Nodes { entries: Vec::new(), index: HashMap::new() };
    let key = |n: &dyn Module, path: String| match naming {
        Naming::Absolute => n.name().to_string(),
        Naming::Relative => path,
    };
    gather.insert(key(node, String::new()), node)?;
    if level.is_some_and(|l| depth >= l) {
        return Ok(gather);
    }
    let mut children = Children(Vec::new());
    node.visit_fields(&mut children);
    let mut fresh = Vec::new();
    for (path, child) in children.0 {
        if edges.insert((node.name().identity(), child.name().identity())) {
            gather.insert(key(child, path.clone()), child)?;
            fresh.push((path, child));
        }
    }
    for (path, child) in fresh {
        for (sub_key, sub) in find_nodes(child, naming, level, depth + 1, edges)?.entries {
            match naming {
                Naming::Absolute => gather.insert(sub_key, sub)?,
                Naming::Relative if sub_key.is_empty() => {}
                Naming::Relative => gather.insert(format!("{path}.{sub_key}"), sub)?,
            }
        }
    }
    Ok(gather)
}

// ---- The collection ----

/// Variables by name, in insertion order (BrainPy's `ArrayCollector`). A name holds one
/// variable; one variable may have several names.
#[derive(Clone, Default)]
pub struct VarCollection {
    entries: Vec<(String, Var)>,
    index: HashMap<String, usize>,
}

impl VarCollection {
    /// An empty collection.
    pub fn new() -> VarCollection {
        VarCollection::default()
    }

    /// Adds `var` as `name`. Adding the same variable under the same name again does nothing;
    /// another variable under a taken name is an [`Error::NameConflict`].
    pub fn insert(&mut self, name: impl Into<String>, var: impl Into<Var>) -> Result<()> {
        let (name, var) = (name.into(), var.into());
        match self.index.get(&name) {
            Some(&i) if self.entries[i].1 == var => Ok(()),
            Some(&i) => Err(Error::NameConflict { name, new: var.describe(), old: self.entries[i].1.describe() }),
            None => {
                self.index.insert(name.clone(), self.entries.len());
                self.entries.push((name, var));
                Ok(())
            }
        }
    }

    /// Adds every entry of `other`, in order, with the same rules as [`VarCollection::insert`].
    pub fn extend(&mut self, other: &VarCollection) -> Result<()> {
        other.iter().try_for_each(|(name, var)| self.insert(name, var))
    }

    /// The variable named `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.index.get(name).map(|&i| &self.entries[i].1)
    }

    /// True if a variable is named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Var)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The names in insertion order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// The variables in insertion order.
    pub fn vars(&self) -> impl ExactSizeIterator<Item = &Var> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The entries whose variable satisfies `keep`, in order (BrainPy's `subset`).
    pub fn filter(&self, mut keep: impl FnMut(&str, &Var) -> bool) -> VarCollection {
        let mut out = VarCollection::new();
        for (name, var) in self.iter().filter(|(n, v)| keep(n, v)) {
            out.index.insert(name.to_string(), out.entries.len());
            out.entries.push((name.to_string(), var.clone()));
        }
        out
    }

    /// The trainable variables ([`TrainVar`]s).
    pub fn trainable(&self) -> VarCollection {
        self.filter(|_, v| v.is_trainable())
    }

    /// Each variable once, under its first name (BrainPy's `unique`).
    pub fn unique(&self) -> VarCollection {
        let mut seen = HashSet::new();
        self.filter(|_, v| seen.insert(v.id()))
    }

    /// The variables as a dict tree (keys sorted), e.g. to pass as `grad`'s variables; the
    /// gradients come back as a dict with the same keys.
    pub fn to_tree(&self) -> Tree<Var> {
        Tree::dict(self.iter().map(|(n, v)| (n, Tree::leaf(v.clone()))))
    }
}

impl From<VarCollection> for Tree<Var> {
    fn from(c: VarCollection) -> Tree<Var> {
        Tree::Dict(c.entries.into_iter().map(|(n, v)| (n, Tree::Leaf(v))).collect())
    }
}

impl From<&VarCollection> for Tree<Var> {
    fn from(c: &VarCollection) -> Tree<Var> {
        c.to_tree()
    }
}

impl PartialEq for VarCollection {
    /// The same names for the same variables, in the same order.
    fn eq(&self, other: &VarCollection) -> bool {
        self.entries == other.entries
    }
}

impl std::ops::Index<&str> for VarCollection {
    type Output = Var;
    /// The variable named `name`; panics if there is none, like map indexing.
    #[track_caller]
    fn index(&self, name: &str) -> &Var {
        self.get(name).unwrap_or_else(|| panic!("no variable named {name:?}"))
    }
}

impl<'c> IntoIterator for &'c VarCollection {
    type Item = (&'c str, &'c Var);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'c str, &'c Var)> + 'c>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl IntoIterator for VarCollection {
    type Item = (String, Var);
    type IntoIter = std::vec::IntoIter<(String, Var)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl fmt::Debug for VarCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    //! The derive is tested from outside the crate (`tests/module.rs`); these tests implement
    //! `Module` by hand, as the derive would.
    use super::*;
    use crate::array::Array;

    struct Leafy {
        name: ModuleName,
        x: Var,
        w: TrainVar,
    }

    impl Module for Leafy {
        fn name(&self) -> &ModuleName {
            &self.name
        }
        fn visit_fields<'a>(&'a self, v: &mut dyn Visitor<'a>) {
            self.x.collect(&FieldPath::field("x"), v);
            self.w.collect(&FieldPath::field("w"), v);
        }
    }

    struct Pair {
        name: ModuleName,
        left: Leafy,
        right: Arc<Leafy>,
        again: Arc<Leafy>,
    }

    impl Module for Pair {
        fn name(&self) -> &ModuleName {
            &self.name
        }
        fn visit_fields<'a>(&'a self, v: &mut dyn Visitor<'a>) {
            self.left.collect(&FieldPath::field("left"), v);
            self.right.collect(&FieldPath::field("right"), v);
            self.again.collect(&FieldPath::field("again"), v);
        }
    }

    fn leafy(name: ModuleName) -> Leafy {
        Leafy { name, x: Var::new(0.0f32), w: TrainVar::new(Array::ones([2])) }
    }

    #[test]
    fn names_count_per_type_name() {
        let a = ModuleName::new("NamesCountPerTypeName");
        let b = ModuleName::new("NamesCountPerTypeName");
        assert_eq!((a.as_str(), b.as_str()), ("NamesCountPerTypeName0", "NamesCountPerTypeName1"));
        assert!(a.same_instance(&a.clone()) && !a.same_instance(&ModuleName::exact("NamesCountPerTypeName0")));
        struct Gen<T>(T);
        assert_eq!(ModuleName::of::<Gen<u8>>().as_str(), "Gen0");
        assert_eq!(format!("{:?}", ModuleName::exact("n")), "ModuleName(\"n\")");
    }

    #[test]
    fn field_paths_name_vars_and_nodes() {
        let field = FieldPath::field("ws");
        let item = field.index(3);
        let entry = item.key("k");
        assert_eq!((item.var_name(), item.node_path()), ("ws-3".to_string(), "ws-3".to_string()));
        assert_eq!((entry.var_name(), entry.node_path()), ("ws-3-k".to_string(), "ws-3.k".to_string()));
    }

    #[test]
    fn a_shared_child_is_walked_once() {
        let shared = Arc::new(leafy(ModuleName::exact("shared")));
        let pair = Pair {
            name: ModuleName::exact("pair"),
            left: leafy(ModuleName::exact("left")),
            right: shared.clone(),
            again: shared,
        };
        let nodes: Vec<String> = pair.nodes_with(Naming::Relative, None).unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(nodes, ["", "left", "right"]);
        let names: Vec<String> = pair.vars().unwrap().names().map(str::to_string).collect();
        assert_eq!(names, ["left.x", "left.w", "shared.x", "shared.w"]);
    }

    #[test]
    fn level_limits_the_depth() {
        let pair = Pair {
            name: ModuleName::exact("top"),
            left: leafy(ModuleName::exact("l")),
            right: Arc::new(leafy(ModuleName::exact("r"))),
            again: Arc::new(leafy(ModuleName::exact("a"))),
        };
        assert!(pair.vars_with(Naming::Absolute, Some(0)).unwrap().is_empty(), "Pair has no own variables");
        assert_eq!(pair.vars_with(Naming::Relative, Some(1)).unwrap().len(), 6);
    }

    #[test]
    fn absolute_collection_names_unnamed_vars() {
        let m = leafy(ModuleName::exact("AbsNames"));
        let named = Var::new(1.0f32).with_name("mine");
        let m = Leafy { x: named.clone(), ..m };
        let vars = m.vars().unwrap();
        assert_eq!(vars["AbsNames.w"].name().as_deref(), Some("AbsNames.w"));
        assert_eq!(named.name().as_deref(), Some("mine"), "an existing name is kept");
        let relative = leafy(ModuleName::exact("Rel"));
        relative.vars_relative().unwrap();
        assert_eq!(relative.x.name(), None, "relative names are not given to variables");
    }

    #[test]
    fn collection_rules() {
        let (x, y) = (Var::new(1.0f32), TrainVar::new(2.0f32));
        let mut c = VarCollection::new();
        c.insert("a.x", &x).unwrap();
        c.insert("a.y", y.clone()).unwrap();
        c.insert("a.x", &x).unwrap();
        c.insert("b.x", &x).unwrap();
        assert_eq!(c.names().collect::<Vec<_>>(), ["a.x", "a.y", "b.x"]);
        assert_eq!(c.unique().names().collect::<Vec<_>>(), ["a.x", "a.y"]);
        assert_eq!(c.trainable().names().collect::<Vec<_>>(), ["a.y"]);
        assert!(c.get("a.y") == Some(y.var()) && c.contains("b.x") && !c.contains("c"));
        let e = c.insert("a.x", Var::new(3.0f32).with_name("other")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Name \"a.x\" conflicts: same name for `other` (f32[]) and {}.", x.describe())
        );
        let tree = c.to_tree();
        assert_eq!(tree.structure().to_string(), "{'a.x': *, 'a.y': *, 'b.x': *}");
        assert!(tree["a.y"].as_leaf() == Some(y.var()));
    }
}
