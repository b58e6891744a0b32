//! Holder package for the workspace-level `tests/`, `benches/` and `examples/`.
