//! Fusion planning, memory planning and Cranelift lowering of gradjit IR.

pub mod isa;
pub mod math;
