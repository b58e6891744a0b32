//! Rewriting a function to double precision, for finite differences.
//!
//! Central differences in f32 are useless: with a step `h`, the rounding error of `f(x±h)` is
//! about `1e-7·|f|/h`, which for any useful `h` swamps the derivative's own accuracy. So
//! `gradjit check` evaluates the function in f64: every f32 value becomes f64 and every c64
//! becomes c128, constants and padding values are widened, and `convert_element_type` to f32
//! becomes a conversion to f64, in the function and in every function its primitives carry
//! (loop bodies, branches, custom derivative rules). Widening is exact, so the promoted function
//! computes the same mathematical function from the same constants, only rounded less.

use gradjit_ir::prim::Literal;
use gradjit_ir::{DType, Function, Prim, ShapeError, Value};
use std::sync::Arc;

/// The double-precision counterpart of `d`.
pub fn widen(d: DType) -> DType {
    match d {
        DType::F32 => DType::F64,
        DType::C64 => DType::C128,
        d => d,
    }
}

/// `f` with f32 widened to f64 and c64 to c128 throughout (including `call` bodies).
pub fn to_f64(f: &Function) -> Result<Function, ShapeError> {
    let mut g = Function::new();
    let mut map: Vec<Option<Value>> = vec![None; f.num_values()];
    for &p in &f.params {
        let ty = f.ty(p);
        map[p.index()] = Some(g.add_param(ty.with_dtype(widen(ty.dtype))));
    }
    let lookup = |map: &[Option<Value>], v: Value| {
        map[v.index()]
            .ok_or_else(|| ShapeError::new("promote", format!("value #{} is used before it is defined", v.index())))
    };
    for e in &f.eqns {
        let inputs = e.inputs.iter().map(|&v| lookup(&map, v)).collect::<Result<Vec<_>, _>>()?;
        let outputs = g.push(widen_prim(&e.prim)?, &inputs, e.loc.clone())?;
        for (&old, new) in e.outputs.iter().zip(outputs) {
            map[old.index()] = Some(new);
        }
    }
    g.outputs = f.outputs.iter().map(|&v| lookup(&map, v)).collect::<Result<_, _>>()?;
    Ok(g)
}

/// The primitive with the dtypes in its parameters widened.
fn widen_prim(p: &Prim) -> Result<Prim, ShapeError> {
    Ok(match p {
        Prim::Constant(Literal::Splat(s, shape)) => {
            Prim::Constant(Literal::Splat(s.cast(widen(s.dtype())), shape.clone()))
        }
        Prim::Constant(Literal::Dense(a)) => Prim::Constant(Literal::Dense(Arc::new(a.cast(widen(a.dtype()))))),
        Prim::Pad { low, high, interior, value } => Prim::Pad {
            low: low.clone(),
            high: high.clone(),
            interior: interior.clone(),
            value: value.cast(widen(value.dtype())),
        },
        Prim::ConvertElementType { dtype } => Prim::ConvertElementType { dtype: widen(*dtype) },
        Prim::Iota { dtype, shape, axis } => Prim::Iota { dtype: widen(*dtype), shape: shape.clone(), axis: *axis },
        // Sub-functions (call, scan, while, cond, custom derivatives) are widened the same way.
        p => p.try_map_bodies(to_f64)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradjit_ir::{interp, parse_function, verify, HostArray};

    #[test]
    fn widens_every_dtype_mention_and_keeps_the_math() {
        let f = parse_function(
            "{ lambda ; a:f32[3] b:i32[3] c:c64[]. let
                d:f32[3] = constant[value=[0.1 0.2 0.3]]
                e:f32[3] = mul a d
                f:f32[3] = convert_element_type[new_dtype=f32] b
                g:f32[3] = add e f
                h:f32[5] = pad[low=(1,) high=(1,) interior=(0,) value=0.5] g
                i:f32[5] = iota[dtype=f32 shape=(5,) axis=0]
                j:f32[5] = call[body={ lambda ; a:f32[5] b:f32[5]. let c:f32[5] = sub a b in (c,) }] h i
                k:f32[] = reduce_sum[axes=(0,)] j
                l:c64[] = mul c c
              in (k, l) }",
        )
        .unwrap();
        let g = to_f64(&f).unwrap();
        verify(&g).unwrap();
        let text = g.to_string();
        assert!(!text.contains("f32") && !text.contains("c64"), "{text}");
        assert!(text.contains("a:f64[3] b:i32[3] c:c128[]"));
        assert!(text.contains("value=[0.10000000149011612 0.20000000298023224 0.30000001192092896]"));

        let args = [
            HostArray::from_vec([3], vec![1.0f32, 2.0, 3.0]).unwrap(),
            HostArray::from_vec([3], vec![1i32, 2, 3]).unwrap(),
            HostArray::from_vec([], vec![num_complex::Complex32::new(1.0, 1.0)]).unwrap(),
        ];
        let wide: Vec<HostArray> = args.iter().map(|a| a.cast(widen(a.dtype()))).collect();
        let narrow_out = interp::run(&f, &args).unwrap();
        let wide_out = interp::run(&g, &wide).unwrap();
        assert_eq!(wide_out[0].dtype(), DType::F64);
        let (n, w) = (narrow_out[0].get(0).to_f64(), wide_out[0].get(0).to_f64());
        assert!((n - w).abs() < 1e-5, "{n} vs {w}");
        assert_eq!(wide_out[1].get(0).to_c128(), num_complex::Complex64::new(0.0, 2.0));
    }

    #[test]
    fn widens_the_functions_that_primitives_carry() {
        let f = parse_function(
            "{ lambda ; a:f32[3] b:f32[4,3]. let
                c:f32[3] d:f32[4,3] = scan[length=4 reverse=false num_consts=0 num_carry=1 body={ lambda ; a:f32[3] b:f32[3]. let
                    c:f32[3] = constant[value=0.5]
                    d:f32[3] = mul a c
                    e:f32[3] = add d b
                  in (e, e) }] a b
              in (c, d) }",
        )
        .unwrap();
        let g = to_f64(&f).unwrap();
        verify(&g).unwrap();
        assert!(!g.to_string().contains("f32"), "{g}");
    }
}
