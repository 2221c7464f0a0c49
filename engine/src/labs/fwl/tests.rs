//! The FW block's correctness tests: step sizes at 0 give the slow logits exactly, the hand
//! gradients equal autodiff's, the fast pass equals an explicit SGD step on earlier tokens,
//! the step sizes get gradients, and everything is strictly causal.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

use super::block::{FwBlock, STEP_SIZES, causal_linear_attention, exclusive_cumsum};
use super::model::FwlModel;
use crate::backend::Backend;
use crate::lm::model::{LmShape, int_tensor, token_losses};
use crate::nn::to_vec;
use crate::rng::Rng;

const V: usize = 9;

fn setup(chunk: usize) -> (FwBlock, Tensor<3>, Vec<u32>, Device) {
    let device = Backend::cpu().device;
    let mut rng = Rng::new(3);
    let mut block = FwBlock::new(6, 4, V, chunk, &mut rng, &device);
    // Larger step sizes than the 0.01 start, so the fast terms are far above rounding.
    block.steps = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![0.7f32, 0.3, 0.5, 0.2, 0.4, 0.6], [STEP_SIZES]),
        &device,
    ));
    let h: Vec<f32> = (0..2 * 8 * 6).map(|_| rng.normal() as f32).collect();
    let h = Tensor::from_data(TensorData::new(h, [2, 8, 6]), &device);
    let y: Vec<u32> = (0..16).map(|_| rng.below(V) as u32).collect();
    (block, h, y, device)
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn step_sizes_at_zero_give_exactly_the_slow_logits() {
    let (mut block, h, y, device) = setup(4);
    block.steps = Param::from_tensor(Tensor::zeros([STEP_SIZES], &device));
    let t = int_tensor(&y, 2, 8, &device);
    let fast = to_vec(block.fast_logits(h.clone(), t)).expect("fast");
    let slow = to_vec(block.slow_logits(h)).expect("slow");
    assert_eq!(fast, slow);
}

#[test]
fn hand_gradients_equal_autodiff() {
    let (block, h, y, device) = setup(4);
    let t = int_tensor(&y, 2, 8, &device);
    // Mean over each sequence's tokens, summed over the batch: the hand gradients' scale.
    let loss = token_losses(block.slow_logits(h.clone()), t.clone())
        .sum()
        .div_scalar(8.0);
    let grads = loss.backward();
    let g = block.hand_grads(h.clone(), t);
    let flat = |x: Tensor<3>, d: usize| x.reshape([16, d]);
    let hand_w1 = flat(h.clone(), 6)
        .transpose()
        .matmul(flat(g.z1.clone(), 16));
    let auto_w1 = block.dense1.weight.val().grad(&grads).expect("w1 grad");
    close(
        &to_vec(hand_w1).expect("w1"),
        &to_vec(auto_w1).expect("w1"),
        1e-4,
        "dense1 kernel",
    );
    let hand_b1 = flat(g.z1.clone(), 16).sum_dim(0).reshape([16]);
    let auto_b1 = block
        .dense1
        .bias
        .as_ref()
        .expect("bias")
        .val()
        .grad(&grads)
        .expect("b1");
    close(
        &to_vec(hand_b1).expect("b1"),
        &to_vec(auto_b1).expect("b1"),
        1e-4,
        "dense1 bias",
    );
    let hand_b2 = flat(g.z2.clone(), 4).sum_dim(0).reshape([4]);
    let auto_b2 = block
        .dense2
        .bias
        .as_ref()
        .expect("bias")
        .val()
        .grad(&grads)
        .expect("b2");
    close(
        &to_vec(hand_b2).expect("b2"),
        &to_vec(auto_b2).expect("b2"),
        1e-4,
        "dense2 bias",
    );
    let hand_a = flat(g.alpha, 4).sum_dim(0).reshape([4]);
    let auto_a = block.alpha.val().grad(&grads).expect("alpha");
    close(
        &to_vec(hand_a).expect("a"),
        &to_vec(auto_a).expect("a"),
        1e-4,
        "norm scale",
    );
    let hand_be = flat(g.beta, 4).sum_dim(0).reshape([4]);
    let auto_be = block.beta.val().grad(&grads).expect("beta");
    close(
        &to_vec(hand_be).expect("b"),
        &to_vec(auto_be).expect("b"),
        1e-4,
        "norm shift",
    );
}

fn stepped(l: &Linear, grads: &burn::tensor::Gradients, ew: f32, eb: f32) -> Linear {
    let w = l.weight.val();
    let b = l.bias.as_ref().map(|b| b.val());
    let gw = w.grad(grads).expect("kernel grad");
    let new_w = w.clone().detach().inner() - gw.mul_scalar(ew);
    let bias = b.map(|b| {
        let gb = b.grad(grads).expect("bias grad");
        Param::from_tensor(b.clone().detach().inner() - gb.mul_scalar(eb))
    });
    Linear {
        weight: Param::from_tensor(new_w),
        bias,
    }
}

#[test]
fn fast_pass_equals_an_explicit_sgd_step_on_earlier_tokens() {
    let (block, h, y, device) = setup(4);
    let inner = device.clone().without_autodiff();
    let t = int_tensor(&y, 2, 8, &device);
    let fast = to_vec(block.fast_logits(h.clone(), t.clone())).expect("fast");
    let etas = [0.7f32, 0.3, 0.5, 0.2, 0.4, 0.6];
    for pos in [1usize, 3, 6, 7] {
        // Loss of tokens s < pos of each sequence, divided by the sequence length.
        let mut mask = vec![0f32; 16];
        for b in 0..2 {
            for s in 0..pos {
                mask[b * 8 + s] = 1.0;
            }
        }
        let m = Tensor::from_data(TensorData::new(mask, [2, 8]), &device);
        // One sequence at a time: each sequence's fast weights see only its own tokens.
        for b in 0..2 {
            let hb = h.clone().narrow(0, b, 1);
            let tb = t.clone().narrow(0, b, 1);
            let loss = (token_losses(block.slow_logits(hb.clone()), tb)
                * m.clone().narrow(0, b, 1))
            .sum()
            .div_scalar(8.0);
            let grads = loss.backward();
            let alpha = block.alpha.val();
            let beta = block.beta.val();
            let new = FwBlock {
                dense1: stepped(&block.dense1, &grads, etas[0], etas[1]),
                dense2: stepped(&block.dense2, &grads, etas[2], etas[3]),
                alpha: Param::from_tensor(
                    alpha.clone().detach().inner()
                        - alpha.grad(&grads).expect("a").mul_scalar(etas[4]),
                ),
                beta: Param::from_tensor(
                    beta.clone().detach().inner()
                        - beta.grad(&grads).expect("b").mul_scalar(etas[5]),
                ),
                unembed: Linear {
                    weight: Param::from_tensor(block.unembed.weight.val().detach().inner()),
                    bias: block
                        .unembed
                        .bias
                        .as_ref()
                        .map(|b| Param::from_tensor(b.val().detach().inner())),
                },
                steps: Param::from_tensor(Tensor::zeros([STEP_SIZES], &inner)),
                chunk: 4,
            };
            let explicit = to_vec(new.slow_logits(hb.detach().inner())).expect("explicit");
            let at = |v: &[f32], row: usize| v[row * V..(row + 1) * V].to_vec();
            close(
                &at(&fast, b * 8 + pos),
                &at(&explicit, pos),
                2e-4,
                &format!("seq {b} position {pos}"),
            );
        }
    }
}

#[test]
fn step_sizes_receive_gradients_through_the_hand_backward() {
    let (block, h, y, device) = setup(4);
    let t = int_tensor(&y, 2, 8, &device);
    let loss = token_losses(block.fast_logits(h, t.clone()), t).mean();
    let grads = loss.backward();
    let g = to_vec(block.steps.val().grad(&grads).expect("step grads")).expect("read");
    assert!(g.iter().all(|v| v.abs() > 1e-9), "{g:?}");
    // And the slow weights get gradients through the fast path too.
    assert!(block.dense1.weight.val().grad(&grads).is_some());
}

#[test]
fn mixed_chunks_equal_one_chunk() {
    let device = Backend::cpu().device.without_autodiff();
    let mut rng = Rng::new(8);
    let mut r = |n: usize, d: usize| {
        let v: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32).collect();
        Tensor::<3>::from_data(TensorData::new(v, [1, n, d]), &device)
    };
    let (q, k, v) = (r(12, 3), r(12, 3), r(12, 2));
    let one = to_vec(causal_linear_attention(q.clone(), k.clone(), v.clone(), 12)).expect("one");
    for c in [1, 3, 4, 6] {
        let mixed =
            to_vec(causal_linear_attention(q.clone(), k.clone(), v.clone(), c)).expect("mixed");
        close(&mixed, &one, 1e-5, &format!("chunk {c}"));
    }
    // The exclusive cumulative sum: row 0 is zero, row t the sum of rows < t.
    let cs = to_vec(exclusive_cumsum(v.clone(), 4)).expect("cumsum");
    let vv = to_vec(v).expect("v");
    assert_eq!(&cs[..2], &[0.0, 0.0]);
    assert!((cs[2 * 5] - (0..5).map(|i| vv[2 * i]).sum::<f32>()).abs() < 1e-5);
}

#[test]
fn fwl_model_is_causal_in_its_inputs_and_targets() {
    let device = Backend::cpu().device.without_autodiff();
    let shape = LmShape {
        vocab: V,
        d_model: 8,
        layers: 1,
        heads: 2,
        context: 4,
        tied: true,
    };
    let mut model = FwlModel::new(shape, 4, 4, &mut Rng::new(2), &device);
    model.block.steps = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![0.5f32; STEP_SIZES], [STEP_SIZES]),
        &device,
    ));
    let seq: Vec<u32> = (0..17).map(|i| (i * 5 % V) as u32).collect();
    let logits = |s: &[u32]| {
        let x = int_tensor(&s[..16], 1, 16, &device);
        let y = int_tensor(&s[1..], 1, 16, &device);
        to_vec(model.logits(x, y, true)).expect("logits")
    };
    let base = logits(&seq);
    for t in [0usize, 3, 4, 9, 14] {
        // Token t+1 is the target at t and the input at t+1.
        let mut s = seq.clone();
        s[t + 1] = (s[t + 1] + 1) % V as u32;
        let l = logits(&s);
        assert_eq!(
            base[..(t + 1) * V],
            l[..(t + 1) * V],
            "logits at ≤ {t} changed"
        );
        assert_ne!(
            base[(t + 1) * V..],
            l[(t + 1) * V..],
            "later logits must change"
        );
    }
}
