//! The subtests of the filetest runner (`tests/filetests.rs`), one per `test <name>` header.
//!
//! A subtest takes the file's parsed input function and the arguments written after its name
//! (`test grad argnums=0,1`) and returns the text to compare with the file's `; ` lines. An
//! `Err` is compared the same way, so negative tests (a verifier error, a rejected gradient)
//! are files too.
//!
//! To add a subtest `foo`: write `tests/subtests/foo.rs` with
//! `pub fn run(f: &Function, args: &Args) -> Result<String, String>`, add `mod foo;` and the
//! line `("foo", foo::run),` to [`SUBTESTS`] below, and put its files in `tests/filetests/foo/`.
//! `GRADJIT_BLESS=1 cargo test --test filetests` writes their expectations.

use gradjit_ir::Function;

mod grad;
mod print;
mod simplify;
mod vmap;

/// A subtest: the input function and the header's arguments to the output text.
pub type SubTest = fn(&Function, &Args) -> Result<String, String>;

/// Every subtest, by the name used in `test <name>`.
pub const SUBTESTS: &[(&str, SubTest)] = &[
    ("print", print::run),
    ("grad", grad::run),
    ("jvp", grad::run_jvp),
    ("simplify", simplify::simplify),
    ("fold", simplify::fold),
    ("algebraic", simplify::algebraic),
    ("cse", simplify::cse),
    ("dce", simplify::dce),
    ("licm", simplify::licm),
    ("vmap", vmap::run),
];

/// The subtest called `name`.
pub fn find(name: &str) -> Option<SubTest> {
    SUBTESTS.iter().find(|(n, _)| *n == name).map(|&(_, run)| run)
}

/// The words after `test <name>`: `key=value` pairs and bare flags.
#[derive(Clone, Debug, Default)]
pub struct Args {
    words: Vec<String>,
}

impl Args {
    pub fn new(words: impl IntoIterator<Item = impl Into<String>>) -> Args {
        Args { words: words.into_iter().map(Into::into).collect() }
    }

    /// The value of `key=value`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.words.iter().find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }

    /// Whether the bare word `flag` is present.
    pub fn has(&self, flag: &str) -> bool {
        self.words.iter().any(|w| w == flag)
    }

    /// An error naming any argument whose key (or flag) is not in `known`, so typos fail loudly.
    pub fn allow_only(&self, known: &[&str]) -> Result<(), String> {
        match self.words.iter().find(|w| !known.contains(&w.split('=').next().unwrap_or(w))) {
            Some(w) => Err(format!("unknown argument `{w}` (expected one of: {})", known.join(", "))),
            None => Ok(()),
        }
    }
}
