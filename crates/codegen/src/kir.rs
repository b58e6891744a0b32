//! Kernel IR: the loop programs that fusion planning produces and lowering turns into Cranelift.
//!
//! A [`LoopNest`] is a perfectly nested loop over an iteration space (`dims`, already coalesced) and a
//! straight-line SSA program ([`KOp`]s) evaluated at every point. Memory is touched only through
//! [`Access`]es: a kernel-argument slot, an element offset and one stride per loop dimension. A stride of 0
//! is a broadcast (or, for a reduction, a reduced dimension), so broadcasts are index maps, never copies.
//!
//! Every loop nest of a kernel addresses memory through one table of pointers, the kernel's *arguments*
//! (`*const *mut u8`); lowering loads each base pointer once.

use gradjit_ir::{BinaryOp, CompareOp, DType, ReduceOp, Scalar, UnaryOp};
use std::fmt;

/// A strided view of one kernel argument: element `i` of the loop space is at
/// `args[arg] + (offset + Σ i_d · strides[d]) · size_of(dtype)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    pub arg: usize,
    pub offset: i64,
    pub strides: Vec<i64>,
}

/// One operation of a loop program. Operands are indices of earlier operations.
#[derive(Clone, Debug, PartialEq)]
pub enum KOp {
    Load(Access),
    Const(Scalar),
    /// `Σ i_d · coeffs[d]` (the value of an `iota`), converted to the op's dtype.
    Index(Vec<i64>),
    Unary(UnaryOp, usize),
    Binary(BinaryOp, usize, usize),
    Compare(CompareOp, usize, usize),
    /// `pred ? on_true : on_false`.
    Select(usize, usize, usize),
    Convert(usize),
    IntegerPow(i32, usize),
}

impl KOp {
    pub fn operands(&self) -> Vec<usize> {
        match *self {
            KOp::Load(_) | KOp::Const(_) | KOp::Index(_) => vec![],
            KOp::Unary(_, a) | KOp::Convert(a) | KOp::IntegerPow(_, a) => vec![a],
            KOp::Binary(_, a, b) | KOp::Compare(_, a, b) => vec![a, b],
            KOp::Select(p, a, b) => vec![p, a, b],
        }
    }
}

/// An elementwise result written to memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Store {
    pub value: usize,
    pub to: Access,
}

/// A reduction: `to[..] = to[..] op value` at every point; `to` has stride 0 on the reduced dimensions.
/// The memory holds the identity before the nest runs (see [`Reduction::init_in_kernel`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Reduction {
    pub op: ReduceOp,
    pub value: usize,
    pub to: Access,
    /// When true the nest itself stores the identity first (only for single-element outputs of nests
    /// that are never split, such as prologue reductions); otherwise the runtime fills it.
    pub init_in_kernel: bool,
}

/// A loop nest with its program.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LoopNest {
    /// Iteration space, outermost first. Empty: the program runs once.
    pub dims: Vec<usize>,
    /// The program, with the dtype of each result.
    pub ops: Vec<(KOp, DType)>,
    pub stores: Vec<Store>,
    pub reductions: Vec<Reduction>,
}

impl LoopNest {
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// All accesses: loads, stores and reductions.
    pub fn accesses(&self) -> impl Iterator<Item = &Access> {
        let loads = self.ops.iter().filter_map(|(op, _)| match op {
            KOp::Load(a) => Some(a),
            _ => None,
        });
        loads.chain(self.stores.iter().map(|s| &s.to)).chain(self.reductions.iter().map(|r| &r.to))
    }

    /// Removes size-1 dimensions and merges adjacent dimensions that every access (and index) walks
    /// contiguously, so the innermost loop is as long as possible.
    pub fn coalesce(&mut self) {
        let keep: Vec<usize> = (0..self.dims.len()).filter(|&d| self.dims[d] != 1).collect();
        if keep.len() != self.dims.len() && self.numel() != 0 {
            self.remap(|strides| keep.iter().map(|&d| strides[d]).collect());
            self.dims = keep.iter().map(|&d| self.dims[d]).collect();
        }
        let mut d = self.dims.len();
        while d >= 2 {
            d -= 1;
            // Dimension d-1 and d merge when every stride vector satisfies s[d-1] == s[d] * dims[d].
            let n = self.dims[d] as i64;
            let mergeable = self.stride_vectors().all(|s| s[d - 1] == s[d] * n);
            if mergeable {
                let nd = self.dims[d - 1] * self.dims[d];
                self.remap(|s| {
                    let mut t = s.to_vec();
                    t.remove(d - 1);
                    t
                });
                self.dims.remove(d - 1);
                self.dims[d - 1] = nd;
            }
        }
    }

    fn stride_vectors(&self) -> impl Iterator<Item = &[i64]> {
        let idx = self.ops.iter().filter_map(|(op, _)| match op {
            KOp::Index(c) => Some(c.as_slice()),
            _ => None,
        });
        self.accesses().map(|a| a.strides.as_slice()).chain(idx)
    }

    fn remap(&mut self, f: impl Fn(&[i64]) -> Vec<i64>) {
        for (op, _) in &mut self.ops {
            match op {
                KOp::Load(a) => a.strides = f(&a.strides),
                KOp::Index(c) => *c = f(c),
                _ => {}
            }
        }
        for s in &mut self.stores {
            s.to.strides = f(&s.to.strides);
        }
        for r in &mut self.reductions {
            r.to.strides = f(&r.to.strides);
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arg{}[{}", self.arg, self.offset)?;
        for s in &self.strides {
            write!(f, ",{s}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for LoopNest {
    /// `for [10,3]:` then one line per op, store and reduction: the text of the fusion dump.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "    for {:?}:", self.dims)?;
        for (i, (op, dt)) in self.ops.iter().enumerate() {
            let rhs = match op {
                KOp::Load(a) => format!("load {a}"),
                KOp::Const(s) => format!("const {s}"),
                KOp::Index(c) => format!("index {c:?}"),
                KOp::Unary(o, a) => format!("{} %{a}", o.name()),
                KOp::Binary(o, a, b) => format!("{} %{a} %{b}", o.name()),
                KOp::Compare(o, a, b) => format!("{} %{a} %{b}", o.name()),
                KOp::Select(p, a, b) => format!("select %{p} %{a} %{b}"),
                KOp::Convert(a) => format!("convert %{a}"),
                KOp::IntegerPow(y, a) => format!("integer_pow[{y}] %{a}"),
            };
            writeln!(f, "      %{i}:{dt} = {rhs}")?;
        }
        for s in &self.stores {
            writeln!(f, "      store {} <- %{}", s.to, s.value)?;
        }
        for r in &self.reductions {
            writeln!(f, "      {} {} <- %{}", r.op.name(), r.to, r.value)?;
        }
        Ok(())
    }
}
