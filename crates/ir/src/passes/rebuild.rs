//! Copying a function through a value map: the one way every pass builds its result.
//!
//! A pass walks the source function's equations in order and, for each, either copies it
//! (with its inputs renamed), replaces it by other equations, or binds its outputs to values
//! that already exist. [`Builder`] keeps the map from source values to result values and
//! creates result values in definition order, so every pass returns a *canonical* function:
//! parameters first, then equation outputs, numbered densely. Two functions that differ only
//! in value numbering or in dead, unused values therefore compare equal after any pass, which
//! is what the pipeline's fixed-point test relies on.

use crate::dtype::TensorType;
use crate::function::{Eqn, Function, Loc, Value};
use crate::prim::{Literal, Prim};
use crate::shape_rules;
use crate::Scalar;
use smallvec::SmallVec;

/// A function under construction from a source function.
pub(crate) struct Builder<'a> {
    src: &'a Function,
    /// The function built so far.
    func: Function,
    /// Source value → result value.
    map: Vec<Option<Value>>,
    /// Result value → index of its defining equation in `func`.
    def: Vec<Option<usize>>,
}

impl<'a> Builder<'a> {
    /// A builder whose result has the parameters of `src`.
    pub fn new(src: &'a Function) -> Builder<'a> {
        Builder::with_params(src, &vec![true; src.params.len()])
    }

    /// A builder whose result has the parameters of `src` selected by `keep` (the others must
    /// be unused).
    pub fn with_params(src: &'a Function, keep: &[bool]) -> Builder<'a> {
        let mut b = Builder { src, func: Function::new(), map: vec![None; src.num_values()], def: Vec::new() };
        for (&p, _) in src.params.iter().zip(keep).filter(|(_, &k)| k) {
            let new = b.func.add_param(src.ty(p).clone());
            b.def.push(None);
            b.map[p.index()] = Some(new);
        }
        b
    }

    /// The result value standing for source value `old`.
    ///
    /// Passes expect valid (verified) input, where every value is defined before it is used.
    /// A value that is not (invalid input) is mapped to a fresh undefined value of the same
    /// type, so that the verifier, not a panic, reports the problem in the result.
    pub fn value(&mut self, old: Value) -> Value {
        if let Some(v) = self.map[old.index()] {
            return v;
        }
        let v = self.fresh(self.src.ty(old).clone());
        self.map[old.index()] = Some(v);
        v
    }

    /// The result values standing for `olds`.
    pub fn values(&mut self, olds: &[Value]) -> SmallVec<[Value; 3]> {
        olds.iter().map(|&v| self.value(v)).collect()
    }

    /// Makes source value `old` stand for result value `new` (of the same type).
    pub fn bind(&mut self, old: Value, new: Value) {
        debug_assert_eq!(self.src.ty(old), self.func.ty(new), "a pass bound a value to one of another type");
        self.map[old.index()] = Some(new);
    }

    /// Appends an equation to the result, with output types given by the caller.
    pub fn emit(
        &mut self,
        prim: Prim,
        inputs: &[Value],
        out_tys: impl IntoIterator<Item = TensorType>,
        loc: Option<Loc>,
    ) -> SmallVec<[Value; 1]> {
        let outs = self.func.push_typed(prim, inputs, out_tys, loc);
        let index = self.func.eqns.len() - 1;
        self.def.resize(self.func.num_values(), None);
        for &o in &outs {
            self.def[o.index()] = Some(index);
        }
        outs
    }

    /// Appends `prim inputs` with output type `ty`, if the shape rule agrees that `prim inputs`
    /// has exactly that type; `None` (and nothing appended) otherwise.
    pub fn emit_checked(&mut self, prim: Prim, inputs: &[Value], ty: &TensorType, loc: Option<Loc>) -> Option<Value> {
        self.type_checks(&prim, inputs, ty).then(|| self.emit(prim, inputs, [ty.clone()], loc)[0])
    }

    /// Appends `prim inputs` with the single output type its shape rule gives, if any.
    pub fn emit_inferred(&mut self, prim: Prim, inputs: &[Value], loc: Option<Loc>) -> Option<Value> {
        let ty = {
            let in_tys: SmallVec<[&TensorType; 3]> = inputs.iter().map(|&v| self.func.ty(v)).collect();
            match shape_rules::infer(&prim, &in_tys) {
                Ok(tys) if tys.len() == 1 => tys.into_iter().next()?,
                _ => return None,
            }
        };
        Some(self.emit(prim, inputs, [ty], loc)[0])
    }

    /// True if `prim` applied to result values `inputs` has the single output type `ty`.
    pub fn type_checks(&self, prim: &Prim, inputs: &[Value], ty: &TensorType) -> bool {
        let in_tys: SmallVec<[&TensorType; 3]> = inputs.iter().map(|&v| self.func.ty(v)).collect();
        shape_rules::infer(prim, &in_tys).is_ok_and(|tys| tys[..] == [ty.clone()])
    }

    /// Copies `eqn` with its primitive replaced by `prim` and its inputs by `inputs` (result
    /// values), and binds its outputs to the copies.
    pub fn copy_as(&mut self, eqn: &Eqn, prim: Prim, inputs: &[Value]) {
        let tys: SmallVec<[TensorType; 1]> = eqn.outputs.iter().map(|&o| self.src.ty(o).clone()).collect();
        let outs = self.emit(prim, inputs, tys, eqn.loc.clone());
        for (&old, new) in eqn.outputs.iter().zip(outs) {
            self.map[old.index()] = Some(new);
        }
    }

    /// The type of result value `v`.
    pub fn ty(&self, v: Value) -> &TensorType {
        self.func.ty(v)
    }

    /// The equation of the result defining `v`, if `v` is not a parameter.
    pub fn producer(&self, v: Value) -> Option<&Eqn> {
        self.def.get(v.index()).copied().flatten().map(|i| &self.func.eqns[i])
    }

    /// The literal of `v`, if a `constant` defines it.
    pub fn literal(&self, v: Value) -> Option<&Literal> {
        match self.producer(v).map(|e| &e.prim) {
            Some(Prim::Constant(lit)) => Some(lit),
            _ => None,
        }
    }

    /// The repeated element of `v`, if a constant with all elements equal defines it.
    pub fn splat(&self, v: Value) -> Option<Scalar> {
        self.literal(v).and_then(Literal::splat)
    }

    /// The finished function, with the outputs of `src`.
    pub fn finish(self) -> Function {
        let outputs = &self.src.outputs;
        self.finish_with(outputs)
    }

    /// The finished function, with the results standing for source values `outputs`.
    pub fn finish_with(mut self, outputs: &[Value]) -> Function {
        self.func.outputs = outputs.iter().map(|&o| self.value(o)).collect();
        self.func
    }

    /// A new value with no definition (for uses of undefined source values).
    fn fresh(&mut self, ty: TensorType) -> Value {
        let v = self.func.new_value(ty);
        self.def.resize(self.func.num_values(), None);
        v
    }
}

/// `prim` with `pass` applied to the sub-functions it carries, if any (the body of `call`, the
/// bodies of control flow, the rules of custom derivatives).
pub(crate) fn map_body(prim: &Prim, pass: fn(&Function) -> Function) -> Prim {
    prim.map_bodies(pass)
}
