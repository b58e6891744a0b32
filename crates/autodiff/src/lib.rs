//! Reverse- and forward-mode differentiation as IR-to-IR transforms.
