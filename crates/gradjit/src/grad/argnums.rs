//! `argnums`: which positional arguments a transformation differentiates.
//!
//! As in JAX and BrainPy, an *int* and a *sequence* are different requests: `argnums(1)` gives
//! the gradient of argument 1 alone (a bare array for an array argument), `argnums([1])` a
//! one-tuple, `argnums([1, 0])` a pair in that order. [`Argnums`] keeps the difference, and the
//! messages quote it as given (`argnums=[0, 3]`).
//!
//! Integer literals of any width convert (`argnums(1)`, `argnums([0, 1])`, `argnums(vec![2])`);
//! negative entries are accepted by the types and rejected when the function is called, with
//! the message of BrainPy 2.8. An empty sequence (`Argnums::Seq(vec![])`) differentiates no
//! argument: allowed with `grad_vars` (the result is `(var_grads, ())`, as in BrainPy), an
//! error without them.

use super::error::GradError;
use std::fmt;

/// The arguments to differentiate: one index, or a sequence of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Argnums {
    /// One argument: its gradient is returned bare.
    Int(i64),
    /// Several (or no) arguments: their gradients are returned as a tuple, in this order.
    Seq(Vec<i64>),
}

impl fmt::Display for Argnums {
    /// `1`, `[0, 3]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Argnums::Int(a) => write!(f, "{a}"),
            Argnums::Seq(s) => write!(f, "{s:?}"),
        }
    }
}

macro_rules! argnums_from_ints {
    ($($t:ty),*) => {$(
        impl From<$t> for Argnums {
            fn from(a: $t) -> Argnums {
                Argnums::Int(a as i64)
            }
        }
        impl<const N: usize> From<[$t; N]> for Argnums {
            fn from(s: [$t; N]) -> Argnums {
                Argnums::Seq(s.iter().map(|&a| a as i64).collect())
            }
        }
        impl From<&[$t]> for Argnums {
            fn from(s: &[$t]) -> Argnums {
                Argnums::Seq(s.iter().map(|&a| a as i64).collect())
            }
        }
        impl From<Vec<$t>> for Argnums {
            fn from(s: Vec<$t>) -> Argnums {
                Argnums::Seq(s.into_iter().map(|a| a as i64).collect())
            }
        }
    )*};
}
argnums_from_ints!(i32, i64, usize, u32);

/// Argnums checked against the arguments of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The argument indices, in the user's order.
    pub positions: Vec<usize>,
    /// True for a sequence (gradients come back as a tuple), false for an int (bare).
    pub is_seq: bool,
}

impl Argnums {
    /// Checks the indices against `num_args` positional arguments: none negative, none twice,
    /// all in range (in that order of checks).
    pub(crate) fn resolve(&self, num_args: usize) -> Result<Resolved, GradError> {
        let (entries, is_seq) = match self {
            Argnums::Int(a) => (std::slice::from_ref(a), false),
            Argnums::Seq(s) => (s.as_slice(), true),
        };
        let mut positions = Vec::with_capacity(entries.len());
        for &a in entries {
            let p = usize::try_from(a).map_err(|_| GradError::NegativeArgnum { argnum: a })?;
            if positions.contains(&p) {
                return Err(GradError::DuplicateArgnum { argnums: self.clone(), argnum: a });
            }
            positions.push(p);
        }
        if let Some(&max) = positions.iter().max() {
            if max >= num_args {
                return Err(GradError::ArgnumOutOfRange { argnums: self.clone(), needed: max + 1, given: num_args });
            }
        }
        Ok(Resolved { positions, is_seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_sequences_of_any_integer_type_convert() {
        assert_eq!(Argnums::from(1), Argnums::Int(1));
        assert_eq!(Argnums::from(2usize), Argnums::Int(2));
        assert_eq!(Argnums::from([1, 0]), Argnums::Seq(vec![1, 0]));
        assert_eq!(Argnums::from(vec![3u32]), Argnums::Seq(vec![3]));
        assert_eq!(Argnums::from(&[0i64, 2][..]), Argnums::Seq(vec![0, 2]));
        assert_eq!(Argnums::Int(-1).to_string(), "-1");
        assert_eq!(Argnums::Seq(vec![0, 3]).to_string(), "[0, 3]");
    }

    #[test]
    fn resolution_keeps_the_order_and_the_form() {
        assert_eq!(Argnums::Int(1).resolve(2), Ok(Resolved { positions: vec![1], is_seq: false }));
        assert_eq!(Argnums::from([1, 0]).resolve(2), Ok(Resolved { positions: vec![1, 0], is_seq: true }));
        assert_eq!(Argnums::Seq(vec![]).resolve(0), Ok(Resolved { positions: vec![], is_seq: true }));
    }

    #[test]
    fn bad_argnums_name_the_users_numbers() {
        let e = Argnums::Int(5).resolve(1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "differentiating with respect to argnums=5 requires at least 6 positional arguments to be passed by the \
             caller, but got only 1 positional argument"
        );
        let e = Argnums::from([0, 3]).resolve(2).unwrap_err();
        assert!(e.to_string().contains("argnums=[0, 3] requires at least 4 positional arguments"), "{e}");
        assert_eq!(Argnums::from([0, -1]).resolve(2), Err(GradError::NegativeArgnum { argnum: -1 }));
        assert_eq!(
            Argnums::from([0, 0]).resolve(2),
            Err(GradError::DuplicateArgnum { argnums: Argnums::Seq(vec![0, 0]), argnum: 0 })
        );
    }
}
