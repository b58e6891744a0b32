//! Fusion planning, memory planning and Cranelift lowering of gradjit IR.
