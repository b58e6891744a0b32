//! Parse errors, located at a line and column and shown with the offending line.

use std::fmt;

/// A syntax or type error in IR text.
///
/// Displays as `line:col: message`, then the line and a caret under the column:
///
/// ```text
/// 3:17: unknown primitive `mull`
///     c:f32[10] = mull a b
///                 ^
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    pub message: String,
    /// The text of line `line`, without its newline.
    pub line_text: String,
}

impl ParseError {
    /// An error at `pos` in `src`.
    pub(crate) fn new(src: &str, pos: Pos, message: impl Into<String>) -> ParseError {
        let line_text = src.lines().nth(pos.line - 1).unwrap_or("").to_string();
        ParseError { line: pos.line, col: pos.col, message: message.into(), line_text }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tabs stay tabs under the caret so that it lines up in a terminal.
        let mut chars = self.line_text.chars();
        let pad: String = (1..self.col).map(|_| if chars.next() == Some('\t') { '\t' } else { ' ' }).collect();
        write!(f, "{}:{}: {}\n{}\n{pad}^", self.line, self.col, self.message, self.line_text)
    }
}

/// A position in the source: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
}
