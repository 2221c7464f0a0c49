//! GFLOP/s of `gemm::gemm` (f32) on the Forward-Forward step's shapes with
//! `Parallelism::None` and `Parallelism::Rayon(2)`, row-major operands, the transposed-lhs
//! weight-gradient products as strided views (what burn flex hands gemm).

use std::time::Instant;

use gemm::{Parallelism, gemm};

fn filled(len: usize, salt: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + salt * 104_729) % 2001) as f32 / 1000.0) - 1.0)
        .collect()
}

/// `dst[m,n] = lhs[m,k] · rhs[k,n]`, all row-major; with `lhs_t`, lhs is stored as `[k, m]`.
fn product(
    m: usize,
    k: usize,
    n: usize,
    lhs: &[f32],
    lhs_t: bool,
    rhs: &[f32],
    dst: &mut [f32],
    par: Parallelism,
) {
    assert_eq!(lhs.len(), m * k);
    assert_eq!(rhs.len(), k * n);
    assert_eq!(dst.len(), m * n);
    // (col stride, row stride) of lhs seen as [m, k]
    let (lhs_cs, lhs_rs) = if lhs_t {
        (m as isize, 1)
    } else {
        (1, k as isize)
    };
    // SAFETY: every pointer spans exactly the [rows, cols] extent given by its strides (checked
    // by the asserts above), dst does not alias the inputs, and read_dst is false.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    println!(
        "rayon global pool: {} threads; gemm AVX-512 kernels compiled in: {}",
        rayon::current_num_threads(),
        cfg!(feature = "x86-v4")
    );
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
        for &(label, m, k, n, lhs_t) in &shapes {
            let lhs = filled(m * k, 1);
            let rhs = filled(k * n, 2);
            let mut dst = vec![0f32; m * n];
            for (pname, par) in [
                ("none", Parallelism::None),
                ("rayon2", Parallelism::Rayon(2)),
            ] {
                product(m, k, n, &lhs, lhs_t, &rhs, &mut dst, par);
                let t0 = Instant::now();
                for _ in 0..reps {
                    product(m, k, n, &lhs, lhs_t, &rhs, &mut dst, par);
                }
                let secs = t0.elapsed().as_secs_f64();
                let gflops = 2.0 * (m * k * n * reps) as f64 / secs / 1e9;
                let check: f32 = dst.iter().sum();
                println!(
                    "round {round}: {label:<36} {pname:<6} {:>8.1} us  {gflops:>6.1} GFLOP/s  (sum {check:.3e})",
                    secs / reps as f64 * 1e6
                );
            }
        }
    }
}
