//! SSA functions: typed parameters, a list of equations `outs = prim[params] ins`, typed outputs.
//!
//! Values are `u32` ids into the function's type table (as Cranelift's `ir::Value`), so the
//! graph is plain data: cheap to clone, hash and compare, with no `Rc<RefCell<..>>`.

use crate::dtype::TensorType;
use crate::error::ShapeError;
use crate::prim::Prim;
use crate::shape_rules;
use smallvec::SmallVec;
use std::fmt;
use std::sync::Arc;

/// An SSA value: a function parameter or an equation output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(u32);

impl Value {
    pub fn index(self) -> usize {
        self.0 as usize
    }
    pub fn from_index(i: usize) -> Value {
        Value(u32::try_from(i).expect("more than 2^32 values"))
    }
}

/// Where in the user's source an equation was traced (`#[track_caller]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: impl Into<Arc<str>>, line: u32, col: u32) -> Loc {
        Loc { file: file.into(), line, col }
    }
    /// The location of the caller of a `#[track_caller]` function.
    pub fn from_std(l: &std::panic::Location<'_>) -> Loc {
        Loc::new(l.file(), l.line(), l.column())
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One equation: `outputs = prim inputs`.
#[derive(Clone, Debug)]
pub struct Eqn {
    pub prim: Prim,
    pub inputs: SmallVec<[Value; 3]>,
    pub outputs: SmallVec<[Value; 1]>,
    /// The user's source location, when traced from Rust.
    pub loc: Option<Loc>,
}

// Equations compare and hash without their source location: where a value came from does
// not change what it is.
impl PartialEq for Eqn {
    fn eq(&self, o: &Eqn) -> bool {
        self.prim == o.prim && self.inputs == o.inputs && self.outputs == o.outputs
    }
}
impl Eq for Eqn {}
impl std::hash::Hash for Eqn {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.prim.hash(h);
        self.inputs.hash(h);
        self.outputs.hash(h);
    }
}

/// An SSA function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Function {
    /// The type of every value, indexed by `Value`.
    types: Vec<TensorType>,
    pub params: Vec<Value>,
    pub eqns: Vec<Eqn>,
    pub outputs: Vec<Value>,
}

impl Function {
    pub fn new() -> Function {
        Function::default()
    }

    /// A new value of type `ty`, not yet defined by anything.
    pub fn new_value(&mut self, ty: TensorType) -> Value {
        self.types.push(ty);
        Value::from_index(self.types.len() - 1)
    }

    /// Appends a parameter of type `ty`.
    pub fn add_param(&mut self, ty: TensorType) -> Value {
        let v = self.new_value(ty);
        self.params.push(v);
        v
    }

    /// The type of `v`.
    pub fn ty(&self, v: Value) -> &TensorType {
        &self.types[v.index()]
    }

    /// Number of values ever created (parameters, outputs of equations, and any unused ones).
    pub fn num_values(&self) -> usize {
        self.types.len()
    }

    /// Types of the parameters.
    pub fn param_types(&self) -> Vec<TensorType> {
        self.params.iter().map(|&v| self.ty(v).clone()).collect()
    }

    /// Types of the outputs.
    pub fn output_types(&self) -> Vec<TensorType> {
        self.outputs.iter().map(|&v| self.ty(v).clone()).collect()
    }

    /// Appends `prim inputs`, inferring the output types with the primitive's shape rule.
    pub fn push(&mut self, prim: Prim, inputs: &[Value], loc: Option<Loc>) -> Result<SmallVec<[Value; 1]>, ShapeError> {
        let out_tys = {
            let in_tys: SmallVec<[&TensorType; 3]> = inputs.iter().map(|&v| self.ty(v)).collect();
            shape_rules::infer(&prim, &in_tys).map_err(|e| e.at(loc.clone()))?
        };
        Ok(self.push_typed(prim, inputs, out_tys, loc))
    }

    /// Appends `prim inputs` with a single output (see [`Function::push`]).
    pub fn push1(&mut self, prim: Prim, inputs: &[Value], loc: Option<Loc>) -> Result<Value, ShapeError> {
        let outs = self.push(prim, inputs, loc)?;
        Ok(outs[0])
    }

    /// Appends an equation with output types given by the caller (parsers and passes that
    /// have already checked them; the verifier re-derives them).
    pub fn push_typed(
        &mut self,
        prim: Prim,
        inputs: &[Value],
        out_tys: impl IntoIterator<Item = TensorType>,
        loc: Option<Loc>,
    ) -> SmallVec<[Value; 1]> {
        let outputs: SmallVec<[Value; 1]> = out_tys.into_iter().map(|t| self.new_value(t)).collect();
        self.eqns.push(Eqn { prim, inputs: inputs.iter().copied().collect(), outputs: outputs.clone(), loc });
        outputs
    }

    /// The index of the equation defining each value (`None` for parameters and unused values).
    pub fn definitions(&self) -> Vec<Option<usize>> {
        let mut def = vec![None; self.num_values()];
        for (i, e) in self.eqns.iter().enumerate() {
            for &o in &e.outputs {
                def[o.index()] = Some(i);
            }
        }
        def
    }

    /// How many times each value is used (by equations and as an output).
    pub fn use_counts(&self) -> Vec<usize> {
        let mut n = vec![0; self.num_values()];
        for e in &self.eqns {
            for &i in &e.inputs {
                n[i.index()] += 1;
            }
        }
        for &o in &self.outputs {
            n[o.index()] += 1;
        }
        n
    }
}
