//! `test print [locs]`: the canonical text of the input, checked to read back to the same
//! function and text. With `locs`, source locations are printed too.

use super::Args;
use gradjit_ir::{parse_function, Function};

pub fn run(f: &Function, args: &Args) -> Result<String, String> {
    args.allow_only(&["locs"])?;
    let print = |f: &Function| if args.has("locs") { f.to_text_with_locs() } else { f.to_string() };
    let text = print(f);
    let again = parse_function(&text).map_err(|e| format!("the printed text does not parse:\n{e}\n{text}"))?;
    if again != *f || print(&again) != text {
        return Err(format!("printing is not a fixed point:\n{text}\nreads back as\n{}", print(&again)));
    }
    Ok(text)
}
