//! The errors of the command line, and the exit code of each kind.
//!
//! | exit code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | `gradjit check` found an error beyond tolerance |
//! | 2 | bad usage: malformed IR file (`file:line:col`, the line and a caret), bad or missing `--input`, unreadable file |
//! | 3 | the function is well formed but cannot be done as asked: not differentiable, not compilable, or an evaluation failed |
//! | 70 | internal error (a bug in gradjit: the panic hook reports it) |

use gradjit_ir::ParseError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code of a `check` that found errors beyond tolerance.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code of usage and input errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a function that cannot be differentiated, compiled or evaluated.
pub const EXIT_COMPUTE: u8 = 3;
/// Exit code of a panic, which is always a bug.
pub const EXIT_INTERNAL: u8 = 70;

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments or input values.
    Usage(String),
    /// A file that cannot be read or written.
    Io { path: PathBuf, error: std::io::Error },
    /// Malformed IR text in `path` (`-` for standard input).
    Parse { path: String, error: ParseError },
    /// The function is valid but cannot be differentiated, compiled or evaluated as asked.
    Compute(String),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }
    pub fn compute(message: impl fmt::Display) -> CliError {
        CliError::Compute(message.to_string())
    }
    pub fn io(path: impl AsRef<Path>, error: std::io::Error) -> CliError {
        CliError::Io { path: path.as_ref().to_path_buf(), error }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) | CliError::Io { .. } | CliError::Parse { .. } => EXIT_USAGE,
            CliError::Compute(_) => EXIT_COMPUTE,
        })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Compute(m) => f.write_str(m),
            CliError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            // ParseError displays as `line:col: message`, the line, and a caret under the column.
            CliError::Parse { path, error } => write!(f, "{path}:{error}"),
        }
    }
}

impl std::error::Error for CliError {}
