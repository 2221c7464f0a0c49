//! GFLOP/s of burn flex's f32 matmul on the Forward-Forward step's shapes (784-500-500, batch
//! 100 positives + 100 negatives): the forward products, the weight-gradient products as
//! autodiff forms them (the activities transposed: a strided view, no copy in flex), and the
//! hard-negative label sweep's products. Compare with `scripts/gemm_bench` (the `gemm` crate
//! called directly, one thread and two).
//!
//! `cargo run --release -p trainscope-engine --example matmul_bench -- 300`

use std::time::Instant;

use burn::tensor::Tensor;
use trainscope_engine::Backend;
use trainscope_engine::nn::matrix;

/// `[rows, cols]` with values in [-1, 1) from a fixed sequence (no RNG needed).
fn filled(rows: usize, cols: usize, salt: usize, device: &trainscope_engine::Device) -> Tensor<2> {
    let data = (0..rows * cols)
        .map(|i| (((i * 7919 + salt * 104_729) % 2001) as f32 / 1000.0) - 1.0)
        .collect();
    matrix(data, rows, cols, device)
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let device = Backend::cpu().device;
    println!(
        "cores: {} (burn flex runs gemm on rayon's global pool, all its threads, from 192^3 \
         multiply-adds up)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // (label, m, k, n, lhs stored transposed)
    let shapes: [(&str, usize, usize, usize, bool); 7] = [
        ("fwd  L1 [200,784]x[784,500]", 200, 784, 500, false),
        ("fwd  L2 [200,500]x[500,500]", 200, 500, 500, false),
        ("grad L1 [784,200]x[200,500] (x^T)", 784, 200, 500, true),
        ("grad L2 [500,200]x[200,500] (h^T)", 500, 200, 500, true),
        ("grad L1 contiguous lhs", 784, 200, 500, false),
        ("sweep L1 [100,784]x[784,500]", 100, 784, 500, false),
        ("sweep L2 [1000,500]x[500,500]", 1000, 500, 500, false),
    ];
    for round in 1..=2 {
        for &(label, m, k, n, transposed) in &shapes {
            let lhs = if transposed {
                filled(k, m, 1, &device).transpose()
            } else {
                filled(m, k, 1, &device)
            };
            let rhs = filled(k, n, 2, &device);
            // Warm-up, and keep the last product so the work cannot be skipped.
            let mut last = lhs.clone().matmul(rhs.clone());
            let t0 = Instant::now();
            for _ in 0..reps {
                last = lhs.clone().matmul(rhs.clone());
            }
            let secs = t0.elapsed().as_secs_f64();
            let gflops = 2.0 * (m * k * n * reps) as f64 / secs / 1e9;
            let check: f32 = last.sum().into_scalar::<f32>();
            println!(
                "round {round}: {label:<36} {:>8.1} us  {gflops:>6.1} GFLOP/s  (sum {check:.3e})",
                secs / reps as f64 * 1e6
            );
        }
    }
}
