//! The demo of `examples/train_snn.rs`, shortened: a few dozen training steps of a small
//! spiking network must lower its loss and classify well above chance (25%).

#[path = "../examples/snn/mod.rs"]
mod snn;

#[test]
fn surrogate_gradient_training_lowers_the_loss_and_learns_the_task() {
    let report = snn::train(32, 16, 60, 3, |_, _, _| {}).unwrap();
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    let (first, last) = (mean(&report.losses[..10]), mean(&report.losses[50..]));
    assert!(report.losses.iter().all(|l| l.is_finite()), "{:?}", report.losses);
    assert!(last < 0.5 * first, "the loss did not decrease enough: {first} -> {last}\n{:?}", report.losses);
    assert!(report.accuracy > 0.6, "accuracy {} after training", report.accuracy);
}
