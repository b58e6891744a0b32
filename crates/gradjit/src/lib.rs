//! gradjit: trace, differentiate and compile Rust functions over arrays.

pub mod array;
pub mod control;
pub mod error;
pub mod grad;
pub mod jit;
pub mod make_ir;
pub mod module;
pub mod npz;
pub mod ops;
pub mod optim;
pub mod random;
pub mod signature;
pub mod surrogate;
pub mod tensor;
pub mod trace;
pub mod tree;
pub mod var;
pub mod vmap;

pub use array::{assert_allclose, Array};
pub use control::{
    cond, custom_jvp, custom_vjp, for_loop, for_loop_with, fori_loop, ifelse, scan, scan_with, switch, while_loop,
    CustomJvp, CustomVjp, ScanOptions,
};
pub use error::{Error, Result};
pub use grad::{
    grad, hessian, jacfwd, jacrev, jvp, value_and_grad, vjp, Argnums, Call, Grad, GradError, GradOptions, GradResult,
    IntoVarTree, Jacobian, ModuleCall, OutputOf, Vjp,
};
pub use gradjit_derive::Module;
pub use jit::{jit, Compiled, Jit, JitOptions, Jittable};
pub use make_ir::{make_ir, TracedFunction};
pub use module::{Module, ModuleName, Naming, VarCollection};
pub use ops::{concatenate, select, stack, IntoOperand, Operand, SliceArg};
pub use signature::{Arg, ArgsFor, Output, Param, TraceFn};
pub use tensor::Tensor;
pub use trace::is_tracing;
pub use tree::{Tree, TreeDef};
pub use var::{TrainVar, Var, VarId};
pub use vmap::{pmax, pmean, pmin, psum, vmap, Vmap, VmapOptions};

pub use gradjit_ir::{DType, Element, Function, HostArray, Loc, Scalar, Shape, TensorType};
