//! The text format of the IR (`docs/ir-format.md`): a jaxpr-like printer and its parser.
//!
//! The printer's output is canonical and the parser reads it back, so for every function `f`
//! built in definition order, `parse_function(&f.to_string()) == Ok(f)` and printing the
//! result gives the same text. Tests and filetests are written in this format, and passes are
//! tested by parsing their input rather than tracing it.

mod error;
mod lexer;
mod params;
mod parser;
mod printer;

pub use error::ParseError;
pub use parser::parse_function;

pub use printer::{eqn_lines, print_eqn, print_function, value_name, PrintOptions, ValueNames};
