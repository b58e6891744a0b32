//! The text format of the IR (`docs/ir-format.md`): a jaxpr-like printer and its parser.
//!
//! The printer's output is canonical and the parser reads it back: for every function `f`
//! whose values are created in definition order (parameters, then equation outputs), as tracing
//! and the parser create them, `parse_function(&f.to_string()) == Ok(f)`, and printing the
//! result gives the same text. Tests and filetests are written in this format, so passes are
//! tested on hand-written input rather than on traced Rust.
//!
//! ```
//! use gradjit_ir::parse_function;
//!
//! // Any names, spacing and comments; the printer renames values `a`, `b`, ... in order.
//! let f = parse_function("{ lambda ; x:f32[3]. let  # sin, then sum
//!     y:f32[3] = sin x
//!     s:f32[] = reduce_sum[axes=(0,)] y
//!   in (s,) }")?;
//! assert_eq!(f.to_string(), "\
//! { lambda ; a:f32[3]. let
//!     b:f32[3] = sin a
//!     c:f32[] = reduce_sum[axes=(0,)] b
//!   in (c,) }");
//!
//! // Types are re-derived, and errors point at the text.
//! let err = parse_function("{ lambda ; x:f32[3]. let y:f32[4] = sin x in (y,) }").unwrap_err();
//! assert_eq!((err.line, err.col), (1, 26));
//! assert_eq!(err.message, "`y` is written as f32[4] but `sin` gives f32[3]");
//! # Ok::<(), gradjit_ir::ParseError>(())
//! ```
//!
//! The modules: `lexer` (tokens), `parser` (tokens to a [`Function`](crate::Function)),
//! `printer` (the other way), `params` (the parameter keys of each primitive, in order) and
//! `error` ([`ParseError`]).

mod error;
mod lexer;
mod params;
mod parser;
mod printer;

pub use error::ParseError;
pub use parser::parse_function;
pub use printer::{body_lines, eqn_lines, print_eqn, print_function, value_name, PrintOptions, ValueNames};
