//! Holder package for the workspace-level `tests/`, `benches/` and `examples/`.
//!
//! The README is included here so that its example is compiled and run as a doctest: it cannot
//! drift from the API.
#![doc = include_str!("../README.md")]
