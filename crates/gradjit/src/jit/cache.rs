//! A jitted function's cache: one [`Entry`] per input signature, found without building the
//! signature (a cached call compares its arguments' types in place), and the explanation of a
//! miss.
//!
//! A function has few signatures (usually one), so entries sit in a list scanned in order,
//! behind a read-write lock that cached calls only read. An entry's native code is compiled on
//! the first call that runs it on data: a function that is only ever traced into another
//! transformation (`grad(jit(f))`) is never compiled.
//!
//! The cache is bounded: beyond its capacity, adding a signature drops the least recently used
//! one, and with it the native code (unless codegen's own cache still holds it). Each entry is
//! stamped with a clock that advances only when a call uses another entry than the last one, so
//! a loop over one signature only reads the clock.

use super::jittable::OutputForm;
use crate::grad::{describe_arg, leaf_paths, Signature};
use crate::signature::same_type;
use crate::tensor::{Repr, Tensor};
use crate::tree::Tree;
use crate::var::Var;
use gradjit_codegen::Executable;
use gradjit_ir::{Function, TensorType};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

/// The function traced for one signature, and its native code once compiled.
pub(super) struct Entry {
    pub sig: Signature,
    /// Parameters: the arguments' leaves, then the variables read. Outputs: the output's
    /// leaves, then the variables written.
    pub function: Function,
    pub var_inputs: Vec<Var>,
    pub var_outputs: Vec<Var>,
    /// The number of output leaves (before the written variables).
    pub num_outputs: usize,
    pub form: OutputForm,
    /// The IR stages recorded while tracing (with dumps on): `(name, text)`.
    pub stages: Vec<(String, String)>,
    pub exe: OnceLock<Executable>,
}

/// A cached entry and the epoch it was last used in.
struct Slot {
    entry: Arc<Entry>,
    used: AtomicU64,
}

impl Slot {
    /// The entry, stamped as the most recently used.
    fn touch(&self, clock: &AtomicU64) -> Arc<Entry> {
        if self.used.load(Ordering::Relaxed) != clock.load(Ordering::Relaxed) {
            self.used.store(clock.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        self.entry.clone()
    }
}

/// The entries of one jitted function, and what it has done.
pub(super) struct Cache {
    slots: RwLock<Vec<Slot>>,
    capacity: usize,
    /// The stamp of the most recently used entry.
    clock: AtomicU64,
    pub traces: AtomicUsize,
    pub compiles: AtomicUsize,
    /// Why the function last traced again.
    pub last_miss: Mutex<Option<String>>,
}

impl Cache {
    /// An empty cache keeping at most `capacity` signatures (at least one).
    pub fn new(capacity: usize) -> Cache {
        Cache {
            slots: RwLock::new(Vec::new()),
            capacity: capacity.max(1),
            clock: AtomicU64::new(0),
            traces: AtomicUsize::new(0),
            compiles: AtomicUsize::new(0),
            last_miss: Mutex::new(None),
        }
    }

    /// The entry whose signature `args` have, compared in place.
    pub fn find(&self, args: &[Tree<Tensor>]) -> Option<Arc<Entry>> {
        self.find_by(|sig| sig.len() == args.len() && sig.iter().zip(args).all(|(s, a)| matches(s, a)))
    }

    /// The first entry whose signature `fits`.
    pub fn find_by(&self, mut fits: impl FnMut(&Signature) -> bool) -> Option<Arc<Entry>> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        slots.iter().find(|slot| fits(&slot.entry.sig)).map(|slot| slot.touch(&self.clock))
    }

    /// The entry of signature `sig`.
    pub fn get(&self, sig: &Signature) -> Option<Arc<Entry>> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.iter().find(|slot| &slot.entry.sig == sig)?;
        Some(slot.touch(&self.clock))
    }

    /// Adds `entry` (dropping the least recently used entry when full), or returns the entry
    /// another thread added for its signature meanwhile.
    pub fn insert(&self, entry: Entry) -> Arc<Entry> {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.iter().find(|slot| slot.entry.sig == entry.sig) {
            return slot.touch(&self.clock);
        }
        if slots.len() >= self.capacity {
            let oldest = slots.iter().enumerate().min_by_key(|(_, slot)| slot.used.load(Ordering::Relaxed));
            if let Some((i, _)) = oldest {
                slots.remove(i);
            }
        }
        let entry = Arc::new(entry);
        let now = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        slots.push(Slot { entry: entry.clone(), used: AtomicU64::new(now) });
        entry
    }

    /// The number of signatures cached.
    pub fn len(&self) -> usize {
        self.slots.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Why `sig` missed the cache: what differs from the closest cached signature (the latest of
    /// the closest; `None` when the cache is empty).
    pub fn explain_miss(&self, sig: &Signature) -> Option<String> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let closest = slots.iter().rev().map(|slot| &slot.entry.sig).min_by_key(|old| distance(old, sig))?;
        Some(differences(closest, sig).join("; "))
    }
}

/// Whether argument `arg` has the structure and types of `sig`.
fn matches(sig: &Tree<TensorType>, arg: &Tree<Tensor>) -> bool {
    match (sig, arg) {
        (Tree::Leaf(ty), Tree::Leaf(t)) => match &t.repr {
            Repr::Concrete(a) => same_type(a.as_host().ty(), ty),
            Repr::Traced(tr) => same_type(&tr.ty, ty),
            Repr::Poisoned(_) => false,
        },
        (Tree::Tuple(s), Tree::Tuple(a)) | (Tree::List(s), Tree::List(a)) => {
            s.len() == a.len() && s.iter().zip(a).all(|(s, a)| matches(s, a))
        }
        (Tree::Dict(s), Tree::Dict(a)) => {
            s.len() == a.len() && s.iter().zip(a).all(|((ks, s), (ka, a))| ks == ka && matches(s, a))
        }
        (Tree::None, Tree::None) => true,
        _ => false,
    }
}

/// How far apart two signatures are: a point per differing dtype or shape of a leaf, many for a
/// differing structure.
fn distance(a: &Signature, b: &Signature) -> usize {
    const STRUCTURE: usize = 1 << 16;
    if a.len() != b.len() {
        return STRUCTURE * a.len().max(b.len());
    }
    let leaf = |x: &TensorType, y: &TensorType| usize::from(x.dtype != y.dtype) + usize::from(x.shape != y.shape);
    a.iter()
        .zip(b)
        .map(|(x, y)| match x.structure() == y.structure() {
            true => x.leaves().into_iter().zip(y.leaves()).map(|(x, y)| leaf(x, y)).sum(),
            false => STRUCTURE,
        })
        .sum()
}

/// What differs between the signatures `old` and `new`, argument by argument, leaf by leaf:
/// `argument 0: f32[4] instead of f32[3]`, `argument 1: structure [*, *] instead of (*, *)`.
pub(super) fn differences(old: &Signature, new: &Signature) -> Vec<String> {
    if old.len() != new.len() {
        return vec![format!("{} arguments instead of {}", new.len(), old.len())];
    }
    let mut out = Vec::new();
    for (i, (o, n)) in old.iter().zip(new).enumerate() {
        let (os, ns) = (o.structure(), n.structure());
        if os != ns {
            out.push(format!("{}: structure {ns} instead of {os}", describe_arg(i, "")));
            continue;
        }
        for ((path, o), n) in leaf_paths(o).iter().zip(o.leaves()).zip(n.leaves()) {
            if o != n {
                out.push(format!("{}: {n} instead of {o}", describe_arg(i, path)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradjit_ir::DType;

    fn ty(dims: &[usize]) -> Tree<TensorType> {
        Tree::Leaf(TensorType::new(DType::F32, dims))
    }

    #[test]
    fn differences_name_the_argument_and_the_leaf() {
        let old = vec![ty(&[3]), Tree::dict([("w", ty(&[2])), ("b", ty(&[]))])];
        let new = vec![ty(&[4]), Tree::dict([("w", ty(&[2, 2])), ("b", ty(&[]))])];
        assert_eq!(
            differences(&old, &new),
            ["argument 0: f32[4] instead of f32[3]", "argument 1 at ['w']: f32[2,2] instead of f32[2]"]
        );
        let new = vec![ty(&[3]), Tree::list([ty(&[2])])];
        assert_eq!(differences(&old, &new), ["argument 1: structure [*] instead of {'b': *, 'w': *}"]);
        assert_eq!(differences(&old, &new[..1].to_vec()), ["1 arguments instead of 2"]);
    }

    #[test]
    fn arguments_match_their_signature_in_place() {
        let sig = Tree::tuple([ty(&[2]), ty(&[])]);
        let arg = Tree::tuple([Tree::leaf(Tensor::zeros(DType::F32, &[2])), Tree::leaf(Tensor::from(1.0f32))]);
        assert!(matches(&sig, &arg));
        let arg = Tree::tuple([Tree::leaf(Tensor::zeros(DType::F64, &[2])), Tree::leaf(Tensor::from(1.0f32))]);
        assert!(!matches(&sig, &arg));
        assert!(!matches(&sig, &Tree::list([Tree::leaf(Tensor::from(1.0f32))])));
    }
}
