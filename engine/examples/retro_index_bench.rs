//! Hand-run benchmark of the RETRO lab's kNN indexes (not a test: timings depend on the machine).
//! For databases of random unit keys of MiniLM's width (384, seeded), it reports build time,
//! query time per query (exact: one matrix product per block of 256 queries on burn's CPU
//! backend; HNSW: one graph search per query on one thread), HNSW's recall@10 against exact,
//! and bytes held (keys; keys + graph estimate), then fits query-time growth
//! (t ∝ n^b, least squares in log-log) and memory per key and projects both to 10^9 keys.
//!
//! `cargo run --release -p trainscope-engine --example retro_index_bench -- 10000 30000 100000`

use std::time::Instant;

use trainscope_engine::Device;
use trainscope_engine::labs::retro::index::{HnswParams, Index, IndexKind, random_unit, recall};
use trainscope_engine::rng::Rng;

const DIM: usize = 384;
const QUERIES: usize = 200;
const K: usize = 10;

struct Row {
    n: usize,
    exact_query_s: f64,
    hnsw_build_s: f64,
    hnsw_query_s: f64,
    recall: f64,
    exact_bytes: usize,
    hnsw_bytes: usize,
}

/// Least-squares slope and intercept of ln y on ln x.
fn loglog(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let lx: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let ly: Vec<f64> = ys.iter().map(|y| y.ln()).collect();
    let n = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxy: f64 = lx.iter().zip(&ly).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = lx.iter().map(|x| (x - mx).powi(2)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 1.0 };
    (b, my - b * mx)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        sizes = vec![10_000, 30_000, 100_000];
    }
    let device = Device::default();
    let mut rows = Vec::new();
    for &n in &sizes {
        let mut rng = Rng::new(2026 ^ n as u64);
        let keys = random_unit(n, DIM, &mut rng);
        let queries = random_unit(QUERIES, DIM, &mut rng);
        let exact = Index::build(IndexKind::Exact, DIM, keys.clone(), HnswParams::default());
        // One warm-up query, then the timed batch.
        exact.search(&queries[..DIM], K, &device)?;
        let t = Instant::now();
        let e = exact.search(&queries, K, &device)?;
        let exact_query_s = t.elapsed().as_secs_f64() / QUERIES as f64;
        let t = Instant::now();
        let hnsw = Index::build(IndexKind::Hnsw, DIM, keys, HnswParams::default());
        let hnsw_build_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let a = hnsw.search(&queries, K, &device)?;
        let hnsw_query_s = t.elapsed().as_secs_f64() / QUERIES as f64;
        let row = Row {
            n,
            exact_query_s,
            hnsw_build_s,
            hnsw_query_s,
            recall: recall(&a, &e, K),
            exact_bytes: exact.bytes(),
            hnsw_bytes: hnsw.bytes(),
        };
        eprintln!("done n = {n}");
        rows.push(row);
    }
    println!(
        "| keys | exact query (ms) | HNSW build (s) | HNSW query (ms) | HNSW recall@10 | exact bytes (MB) | HNSW bytes (MB) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.3} | {:.1} | {:.3} | {:.3} | {:.1} | {:.1} |",
            r.n,
            r.exact_query_s * 1e3,
            r.hnsw_build_s,
            r.hnsw_query_s * 1e3,
            r.recall,
            r.exact_bytes as f64 / 1e6,
            r.hnsw_bytes as f64 / 1e6
        );
    }
    let ns: Vec<f64> = rows.iter().map(|r| r.n as f64).collect();
    let big = 1e9f64;
    for (name, ts, bytes) in [
        (
            "exact",
            rows.iter().map(|r| r.exact_query_s).collect::<Vec<_>>(),
            rows.iter()
                .map(|r| r.exact_bytes as f64)
                .collect::<Vec<_>>(),
        ),
        (
            "HNSW",
            rows.iter().map(|r| r.hnsw_query_s).collect(),
            rows.iter().map(|r| r.hnsw_bytes as f64).collect(),
        ),
    ] {
        let (b, c) = loglog(&ns, &ts);
        let per_key = bytes.last().copied().unwrap_or(0.0) / ns.last().copied().unwrap_or(1.0);
        println!(
            "{name}: query time ∝ n^{b:.2}; at 1e9 keys ≈ {:.3} s per query, {:.2} TB ({per_key:.0} B per key)",
            (c + b * big.ln()).exp(),
            per_key * big / 1e12
        );
    }
    let (bb, cb) = loglog(
        &ns,
        &rows.iter().map(|r| r.hnsw_build_s).collect::<Vec<_>>(),
    );
    println!(
        "HNSW build ∝ n^{bb:.2}; at 1e9 keys ≈ {:.0} h on this machine",
        (cb + bb * big.ln()).exp() / 3600.0
    );
    Ok(())
}
