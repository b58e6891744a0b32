//! gradjit: trace, differentiate and compile Rust functions over arrays.
