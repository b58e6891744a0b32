//! The `gradjit` command line.

fn main() {}
