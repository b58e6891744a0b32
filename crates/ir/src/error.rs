//! Error types of the IR crate.

use crate::function::Loc;
use std::fmt;

/// A primitive applied to operands of the wrong shape or dtype, or with bad parameters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ShapeError {
    /// The primitive's mnemonic (`mul`, `dot_general`, ...).
    pub op: String,
    /// What is wrong, naming the shapes and dtypes involved.
    pub message: String,
    /// Where the user applied the primitive, once known.
    pub loc: Option<Loc>,
}

impl ShapeError {
    pub fn new(op: impl Into<String>, message: impl Into<String>) -> ShapeError {
        ShapeError { op: op.into(), message: message.into(), loc: None }
    }
    /// The same error, located at `loc` (keeps an existing location).
    pub fn at(mut self, loc: Option<crate::function::Loc>) -> ShapeError {
        if self.loc.is_none() {
            self.loc = loc;
        }
        self
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.message)?;
        if let Some(l) = &self.loc {
            write!(f, " (at {l})")?;
        }
        Ok(())
    }
}
