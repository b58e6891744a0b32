//! Algebraic laws the interpreter's shape, indexing, reduction and contraction kernels obey,
//! on random shapes (ranks 0 to 3, dimensions 0 to 4, so empty arrays are frequent). Integer
//! data keeps every law exact.

use gradjit_ir::interp::apply;
use gradjit_ir::{Axes, DType, DotDims, HostArray, Prim, ReduceOp, Shape};
use proptest::prelude::*;

fn apply1(prim: Prim, inputs: &[&HostArray]) -> HostArray {
    apply(&prim, inputs).unwrap_or_else(|e| panic!("{prim:?}: {e}")).remove(0)
}

fn axes(a: impl IntoIterator<Item = usize>) -> Axes {
    a.into_iter().collect()
}

/// An i64 array of a random shape with small values.
fn array() -> impl Strategy<Value = HostArray> {
    prop::collection::vec(0usize..=4, 0..=3).prop_flat_map(|dims| {
        let n: usize = dims.iter().product();
        prop::collection::vec(-50i64..50, n).prop_map(move |data| HostArray::from_vec(dims.clone(), data).unwrap())
    })
}

/// An array with at least one dimension.
fn array_with_axis() -> impl Strategy<Value = (HostArray, usize)> {
    array().prop_filter("rank >= 1", |a| a.rank() > 0).prop_flat_map(|a| {
        let rank = a.rank();
        (Just(a), 0..rank)
    })
}

fn sum(x: &HostArray, ax: impl IntoIterator<Item = usize>) -> HostArray {
    apply1(Prim::Reduce { op: ReduceOp::Sum, axes: axes(ax) }, &[x])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn transposing_back_is_the_identity((x, seed) in (array(), any::<u64>())) {
        // A permutation from the seed: rotate, then maybe swap the first two.
        let r = x.rank();
        let mut perm: Vec<usize> = (0..r).map(|i| (i + seed as usize) % r.max(1)).collect();
        if r >= 2 && seed % 2 == 1 {
            perm.swap(0, 1);
        }
        let mut inverse = vec![0; r];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        let y = apply1(Prim::Transpose { perm: axes(perm.clone()) }, &[&x]);
        let z = apply1(Prim::Transpose { perm: axes(inverse) }, &[&y]);
        prop_assert_eq!(z, x);
    }

    #[test]
    fn reversing_twice_is_the_identity((x, axis) in array_with_axis()) {
        let prim = Prim::Rev { axes: axes([axis]) };
        let y = apply1(prim.clone(), &[&x]);
        prop_assert_eq!(apply1(prim, &[&y]), x);
    }

    #[test]
    fn slicing_a_split_and_concatenating_gives_back_the_array((x, axis) in array_with_axis(), cut in 0usize..=4) {
        let n = x.dims()[axis];
        let cut = cut.min(n);
        let part = |lo: usize, hi: usize| {
            let start = axes((0..x.rank()).map(|i| if i == axis { lo } else { 0 }));
            let limit = axes((0..x.rank()).map(|i| if i == axis { hi } else { x.dims()[i] }));
            apply1(Prim::Slice { start, limit, stride: axes(vec![1; x.rank()]) }, &[&x])
        };
        let (a, b) = (part(0, cut), part(cut, n));
        prop_assert_eq!(apply1(Prim::Concatenate { axis }, &[&a, &b]), x);
    }

    #[test]
    fn padding_then_slicing_gives_back_the_array((x, axis) in array_with_axis(), low in 0usize..3, high in 0usize..3) {
        let r = x.rank();
        let on_axis = |v: usize| axes((0..r).map(|i| if i == axis { v } else { 0 }));
        let pad = Prim::Pad { low: on_axis(low), high: on_axis(high), interior: axes(vec![0; r]), value: gradjit_ir::Scalar::I64(-99) };
        let y = apply1(pad, &[&x]);
        let start = on_axis(low);
        let limit = axes((0..r).map(|i| if i == axis { low + x.dims()[i] } else { x.dims()[i] }));
        let back = apply1(Prim::Slice { start, limit, stride: axes(vec![1; r]) }, &[&y]);
        prop_assert_eq!(&back, &x);
        // And each padded element holds -99.
        let others: usize = (0..r).filter(|&i| i != axis).map(|i| x.dims()[i]).product();
        let total = |a: &HostArray| sum(a, 0..a.rank()).to_vec::<i64>().unwrap()[0];
        prop_assert_eq!(total(&y), total(&x) - 99 * ((low + high) * others) as i64);
    }

    #[test]
    fn dynamic_slice_is_a_slice_at_the_clamped_start((x, axis) in array_with_axis(), start in -3i64..6, size in 0usize..=4) {
        let r = x.rank();
        let n = x.dims()[axis];
        let size = size.min(n);
        let sizes = axes((0..r).map(|i| if i == axis { size } else { x.dims()[i] }));
        let zero = HostArray::from_vec(Shape::scalar(), vec![0i32]).unwrap();
        let s = HostArray::from_vec(Shape::scalar(), vec![start]).unwrap();
        let starts: Vec<&HostArray> = (0..r).map(|i| if i == axis { &s } else { &zero }).collect();
        let mut ins = vec![&x];
        ins.extend(starts);
        let got = apply1(Prim::DynamicSlice { sizes }, &ins);
        let lo = start.clamp(0, (n - size) as i64) as usize;
        let slice = Prim::Slice {
            start: axes((0..r).map(|i| if i == axis { lo } else { 0 })),
            limit: axes((0..r).map(|i| if i == axis { lo + size } else { x.dims()[i] })),
            stride: axes(vec![1; r]),
        };
        prop_assert_eq!(got, apply1(slice, &[&x]));
    }

    #[test]
    fn gathering_every_index_gives_back_the_array((x, axis) in array_with_axis()) {
        let idx = apply1(Prim::Iota { dtype: DType::I32, shape: [x.dims()[axis]].into(), axis: 0 }, &[]);
        prop_assert_eq!(apply1(Prim::Gather { axis }, &[&x, &idx]), x);
    }

    #[test]
    fn scatter_add_of_a_gather_doubles_the_array((x, axis) in array_with_axis()) {
        let idx = apply1(Prim::Iota { dtype: DType::I64, shape: [x.dims()[axis]].into(), axis: 0 }, &[]);
        let g = apply1(Prim::Gather { axis }, &[&x, &idx]);
        let doubled = apply1(Prim::ScatterAdd { axis }, &[&x, &idx, &g]);
        prop_assert_eq!(doubled, apply1(Prim::Binary(gradjit_ir::BinaryOp::Add), &[&x, &x]));
    }

    #[test]
    fn reducing_all_axes_at_once_or_one_by_one_agrees(x in array()) {
        let all = sum(&x, 0..x.rank());
        let mut y = x.clone();
        while y.rank() > 0 {
            y = sum(&y, [y.rank() - 1]);
        }
        prop_assert_eq!(all, y);
    }

    #[test]
    fn a_full_contraction_is_the_sum_of_the_product(x in array(), shift in -3i64..3) {
        let y = HostArray::from_vec(x.shape().clone(), x.to_vec::<i64>().unwrap().iter().map(|v| v + shift).collect()).unwrap();
        let all = axes(0..x.rank());
        let dims = DotDims { lhs_contract: all.clone(), rhs_contract: all, lhs_batch: axes([]), rhs_batch: axes([]) };
        let dot = apply1(Prim::DotGeneral(dims), &[&x, &y]);
        let product = apply1(Prim::Binary(gradjit_ir::BinaryOp::Mul), &[&x, &y]);
        prop_assert_eq!(dot, sum(&product, 0..x.rank()));
    }

    #[test]
    fn argmax_points_at_the_maximum((x, axis) in array_with_axis()) {
        prop_assume!(x.dims()[axis] > 0);
        let arg = apply1(Prim::Arg { op: gradjit_ir::ArgOp::ArgMax, axis, index_dtype: DType::I64 }, &[&x]);
        let max = apply1(Prim::Reduce { op: ReduceOp::Max, axes: axes([axis]) }, &[&x]);
        // Pick x[..., arg, ...] by a one-hot mask: (iota == arg) * x summed over the axis.
        let iota = apply1(Prim::Iota { dtype: DType::I64, shape: x.shape().clone(), axis }, &[]);
        let others = axes((0..x.rank()).filter(|&i| i != axis));
        let arg_b = apply1(Prim::BroadcastInDim { shape: x.shape().clone(), dims: others }, &[&arg]);
        let hit = apply1(Prim::Compare(gradjit_ir::CompareOp::Eq), &[&iota, &arg_b]);
        let zeros = HostArray::zeros(DType::I64, x.shape().clone());
        let picked = sum(&apply1(Prim::Select, &[&hit, &x, &zeros]), [axis]);
        prop_assert_eq!(picked, max);
    }
}
