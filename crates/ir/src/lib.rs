//! gradjit's intermediate representation.
//!
//! A [`Function`] is a typed SSA listing of primitive applications, printed like a jaxpr:
//!
//! ```text
//! { lambda ; a:f32[10] b:f32[10]. let
//!     c:f32[10] = mul a b
//!     d:f32[] = reduce_sum[axes=(0,)] c
//!   in (d,) }
//! ```
//!
//! This crate holds the dtypes and shapes, the primitives and their shape rules, the text
//! printer and parser, the verifier, the reference interpreter (the oracle every other stage is
//! tested against) and the simplification passes.

pub mod array;
mod array_display;
pub mod dtype;
pub mod error;
pub mod function;
pub mod interp;
pub mod passes;
pub mod prim;
pub mod prim_docs;
pub mod shape_rules;
pub mod text;
pub mod verify;

pub use array::{Element, HostArray, Scalar};
pub use dtype::{DType, Shape, TensorType};
pub use error::ShapeError;
pub use function::{Eqn, Function, Loc, Value};
pub use interp::InterpError;
pub use prim::{ArgOp, Axes, BinaryOp, CollectiveOp, CompareOp, DotDims, Literal, Prim, PrimKind, ReduceOp, UnaryOp};
pub use text::{parse_function, print_eqn, ParseError, PrintOptions};
pub use verify::{verify, VerifyError};
