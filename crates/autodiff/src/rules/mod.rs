//! The derivative rules of every primitive: one JVP rule ([`jvp`]) and, for the primitives
//! that tangent equations are built from, one transpose rule ([`transpose`]).
//!
//! Both tables are exhaustive `match`es over [`Prim`](gradjit_ir::Prim): a new primitive does
//! not compile until it has a rule in each.

pub(crate) mod jvp;
pub(crate) mod transpose;
