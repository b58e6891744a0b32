//! Variables: named, shared, mutable arrays that traced functions read and write.
//!
//! A [`Var`] is a handle: clones are the same variable (like BrainPy's `Variable`). Its array
//! sits behind an `Arc<RwLock<..>>`, so a `Var` is `Send + Sync` and can live in modules,
//! optimisers and caches on any thread.
//!
//! Outside a transformation, [`Var::value`] is the current value as a concrete tensor and
//! [`Var::set`] replaces it. Inside one, the variable is state of the traced function, made
//! explicit: the first read makes it an implicit input, a write makes it an implicit output,
//! a read after a write sees the written tensor, and whoever runs the traced function writes
//! the outputs back. Writes must keep the variable's shape and dtype (BrainPy checks the same).
//!
//! [`TrainVar`] marks the variables an optimiser trains; it dereferences to [`Var`].

use crate::array::Array;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{caller, innermost};
use gradjit_ir::{DType, Loc, TensorType};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// The identity of a variable (unique in the process).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(u64);

impl VarId {
    fn fresh() -> VarId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        VarId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn index(self) -> u64 {
        self.0
    }
}

impl fmt::Display for VarId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "var#{}", self.0)
    }
}

struct VarCell {
    id: VarId,
    trainable: bool,
    name: RwLock<Option<Arc<str>>>,
    value: RwLock<Array>,
}

/// A shared mutable array; clones are the same variable.
#[derive(Clone)]
pub struct Var(Arc<VarCell>);

impl Var {
    /// A new variable holding `value`.
    pub fn new(value: impl Into<Array>) -> Var {
        Var::make(value.into(), false)
    }

    fn make(value: Array, trainable: bool) -> Var {
        Var(Arc::new(VarCell { id: VarId::fresh(), trainable, name: RwLock::new(None), value: RwLock::new(value) }))
    }

    /// The same variable, named `name` (the name appears in errors and in gradient maps).
    pub fn with_name(self, name: impl Into<String>) -> Var {
        self.set_name(name);
        self
    }

    /// Names the variable.
    pub fn set_name(&self, name: impl Into<String>) {
        *self.0.name.write().unwrap_or_else(PoisonError::into_inner) = Some(name.into().into());
    }

    /// The variable's name, if it has one.
    pub fn name(&self) -> Option<String> {
        self.0.name.read().unwrap_or_else(PoisonError::into_inner).as_deref().map(str::to_string)
    }

    /// The identity of the variable.
    pub fn id(&self) -> VarId {
        self.0.id
    }

    /// True for a [`TrainVar`].
    pub fn is_trainable(&self) -> bool {
        self.0.trainable
    }

    /// The current array (outside any trace, or the value at the start of the trace inside one:
    /// use [`Var::value`] to compute with it).
    pub fn get(&self) -> Array {
        self.0.value.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The type of the variable (fixed for its lifetime).
    pub fn ty(&self) -> TensorType {
        self.0.value.read().unwrap_or_else(PoisonError::into_inner).as_host().ty().clone()
    }

    /// The dimensions of the variable.
    pub fn shape(&self) -> Vec<usize> {
        self.ty().dims().to_vec()
    }

    /// The element type of the variable.
    pub fn dtype(&self) -> DType {
        self.ty().dtype
    }

    /// The value to compute with: the current array as a concrete tensor outside any trace;
    /// inside one, the traced value (an implicit input of the traced function, or the tensor
    /// written earlier in the same trace).
    #[track_caller]
    pub fn value(&self) -> Tensor {
        self.value_at(&caller())
    }

    pub(crate) fn value_at(&self, loc: &Loc) -> Tensor {
        match innermost() {
            Some(ctx) => ctx.read_var(self, loc),
            None => Tensor::from(self.get()),
        }
    }

    /// Writes `value`, which must have the variable's shape and dtype. Outside any trace the
    /// array is replaced now; inside one the write is recorded as an implicit output, written
    /// back by whoever runs the traced function (a wrong type is then also recorded as the
    /// trace's error, so ignoring this result is safe inside a traced function).
    #[track_caller]
    pub fn set(&self, value: &Tensor) -> Result<()> {
        self.set_at(value, &caller())
    }

    /// [`Var::set`] from anything that converts to a tensor (an [`Array`], a scalar, ...).
    #[track_caller]
    pub fn assign(&self, value: impl Into<Tensor>) -> Result<()> {
        self.set_at(&value.into(), &caller())
    }

    pub(crate) fn set_at(&self, value: &Tensor, loc: &Loc) -> Result<()> {
        if let Some(ctx) = innermost() {
            return ctx.write_var(self, value, loc);
        }
        let array = value.to_array_at(loc)?;
        self.check_write(array.as_host().ty(), loc)?;
        *self.0.value.write().unwrap_or_else(PoisonError::into_inner) = array;
        Ok(())
    }

    /// Checks that a value of type `ty` may be written to the variable.
    pub(crate) fn check_write(&self, ty: &TensorType, loc: &Loc) -> Result<()> {
        let own = self.ty();
        let message = if own.shape != ty.shape {
            format!("The shape of the original data is {}, while we got {}.", own.shape, ty.shape)
        } else if own.dtype != ty.dtype {
            format!("The dtype of the original data is {}, while we got {}.", own.dtype, ty.dtype)
        } else {
            return Ok(());
        };
        Err(Error::VarWrite { var: self.describe(), message, loc: loc.clone() })
    }

    /// `` `name` (f32[3]) `` or `var#4 (f32[3])`, for messages.
    pub(crate) fn describe(&self) -> String {
        match self.name() {
            Some(n) => format!("`{n}` ({})", self.ty()),
            None => format!("{} ({})", self.id(), self.ty()),
        }
    }
}

impl PartialEq for Var {
    fn eq(&self, other: &Var) -> bool {
        self.id() == other.id()
    }
}
impl Eq for Var {}

impl Hash for Var {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id().hash(h)
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_trainable() { "TrainVar" } else { "Var" };
        write!(f, "{kind}({}: {:?})", self.name().unwrap_or_else(|| self.id().to_string()), self.get().as_host())
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.get().as_host(), f)
    }
}

/// A variable trained by optimisers (BrainPy's `TrainVar`); it dereferences to its [`Var`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TrainVar(Var);

impl TrainVar {
    /// A new trainable variable holding `value`.
    pub fn new(value: impl Into<Array>) -> TrainVar {
        TrainVar(Var::make(value.into(), true))
    }

    /// The same variable, named `name`.
    pub fn with_name(self, name: impl Into<String>) -> TrainVar {
        self.0.set_name(name);
        self
    }

    /// The underlying variable.
    pub fn var(&self) -> &Var {
        &self.0
    }
}

impl Deref for TrainVar {
    type Target = Var;
    fn deref(&self) -> &Var {
        &self.0
    }
}

impl From<TrainVar> for Var {
    fn from(t: TrainVar) -> Var {
        t.0
    }
}

impl From<&TrainVar> for Var {
    fn from(t: &TrainVar) -> Var {
        t.0.clone()
    }
}

impl From<&Var> for Var {
    fn from(v: &Var) -> Var {
        v.clone()
    }
}

impl fmt::Debug for TrainVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for TrainVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
