//! Collectives (`psum` and kin) name an axis that only `vmap` binds: compiling one that reaches
//! the backend, at the top level or inside a loop body, is an error naming the axis, never a
//! panic or a run-time surprise.

use gradjit_codegen::{compile, CompileOptions};
use gradjit_ir::parse_function;

#[test]
fn an_unbound_collective_is_a_compile_error_naming_its_axis() {
    let top = "{ lambda ; a:f32[4]. let b:f32[4] = psum[axis_name=batch] a  c:f32[4] = mul a b in (c,) }";
    let nested = "{ lambda ; a:f64[] b:f64[3]. let
        c:f64[] d:f64[3] = scan[length=3 reverse=false num_consts=0 num_carry=1 body={ lambda ; a:f64[] b:f64[]. let
                c:f64[] = pmax[axis_name=lanes] b
                d:f64[] = add a c
              in (d, c) }] a b
      in (c, d) }";
    for (text, want) in [(top, "psum over unbound axis name 'batch'"), (nested, "pmax over unbound axis name 'lanes'")]
    {
        let f = parse_function(text).unwrap();
        let e = compile(&f, &CompileOptions::default()).err().expect("an unbound axis does not compile").to_string();
        assert!(e.contains(want), "{e}");
    }
}
