//! Nearest-neighbour indexes over unit-norm keys, one query API for both: the exact search
//! (one matrix product per block of queries, as the lab's database does) and an approximate
//! HNSW graph (the `instant-distance` crate). Both rank by inner product, which on normalised
//! keys is cosine similarity and orders like squared L2 distance (`|q - k|^2 = 2 - 2 q·k`).

use burn::tensor::{Device, Tensor, TensorData};
use instant_distance::{Builder, HnswMap, Point, Search};

use crate::error::LabError;

/// One neighbour: the row of the key in the indexed table and its inner product with the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Row of the key in the table the index was built from.
    pub id: usize,
    /// Inner product with the query (cosine on unit keys).
    pub score: f32,
}

/// Which index to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Every key scored by a matrix product.
    Exact,
    /// A hierarchical navigable small-world graph (approximate).
    Hnsw,
}

/// HNSW construction and search widths (`efConstruction`, `ef`) and the build seed. The graph's
/// degree is the crate's fixed M = 32 (64 links on the bottom layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Candidate-list width while inserting.
    pub ef_construction: usize,
    /// Candidate-list width while searching (at least k).
    pub ef_search: usize,
    /// Seed of the layer assignment. The crate inserts in parallel, so the graph (and the
    /// recall, slightly) can still differ between builds on a multi-core machine.
    pub seed: u64,
}

impl Default for HnswParams {
    /// The crate's defaults (100, 100) with seed 0.
    fn default() -> Self {
        HnswParams {
            ef_construction: 100,
            ef_search: 100,
            seed: 0,
        }
    }
}

/// A built index.
pub enum Index {
    /// Exact search: the row-major key table.
    Exact {
        /// Key width.
        dim: usize,
        /// Row-major keys, `len · dim`.
        keys: Vec<f32>,
    },
    /// Approximate search: the graph (holding its own copy of the keys) and its row ids.
    Hnsw {
        /// Key width.
        dim: usize,
        /// Number of keys.
        len: usize,
        /// The graph; each point's value is its row.
        map: Box<HnswMap<KeyPoint, usize>>,
    },
}

/// The point type stored in the HNSW graph (a key row); its distance is 1 − inner product.
#[derive(Clone)]
pub struct KeyPoint(Vec<f32>);

impl Point for KeyPoint {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - trainscope_kernels::dot(&self.0, &other.0)
    }
}

impl Index {
    /// Builds an index of `kind` over `keys` (`n · dim`, rows expected to be unit norm).
    pub fn build(kind: IndexKind, dim: usize, keys: Vec<f32>, params: HnswParams) -> Index {
        let dim = dim.max(1);
        match kind {
            IndexKind::Exact => Index::Exact { dim, keys },
            IndexKind::Hnsw => {
                let points: Vec<KeyPoint> =
                    keys.chunks(dim).map(|r| KeyPoint(r.to_vec())).collect();
                let len = points.len();
                let map = Builder::default()
                    .ef_construction(params.ef_construction)
                    .ef_search(params.ef_search)
                    .seed(params.seed)
                    .build(points, (0..len).collect());
                Index::Hnsw {
                    dim,
                    len,
                    map: Box::new(map),
                }
            }
        }
    }

    /// Number of keys indexed.
    pub fn len(&self) -> usize {
        match self {
            Index::Exact { dim, keys } => keys.len() / dim,
            Index::Hnsw { len, .. } => *len,
        }
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held: the keys, plus for HNSW an estimate of the graph: 64 u32 links per point on
    /// the bottom layer; 32 per node on the upper layers, which hold a share ml = 1/ln 32 of the
    /// layer below (ml / (1 − ml) ≈ 0.41 nodes per point in all); and the row id per point.
    pub fn bytes(&self) -> usize {
        match self {
            Index::Exact { keys, .. } => keys.len() * 4,
            Index::Hnsw { dim, len, .. } => {
                let ml = 1.0 / 32f64.ln();
                let upper = *len as f64 * ml / (1.0 - ml);
                len * dim * 4 + len * 64 * 4 + (upper * 32.0 * 4.0) as usize + len * 8
            }
        }
    }

    /// For each query row of `queries` (`nq · dim`), the `k` keys of largest inner product,
    /// best first (the exact search breaks ties by row). The exact search runs its matrix
    /// products on `device`; HNSW runs on the host.
    pub fn search(
        &self,
        queries: &[f32],
        k: usize,
        device: &Device,
    ) -> Result<Vec<Vec<Neighbour>>, LabError> {
        match self {
            Index::Exact { dim, keys } => exact(*dim, keys, queries, k, device),
            Index::Hnsw { dim, map, .. } => {
                let mut search = Search::default();
                Ok(queries
                    .chunks(*dim)
                    .map(|q| {
                        map.search(&KeyPoint(q.to_vec()), &mut search)
                            .take(k)
                            .map(|it| Neighbour {
                                id: *it.value,
                                score: 1.0 - it.distance,
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }
}

fn exact(
    dim: usize,
    keys: &[f32],
    queries: &[f32],
    k: usize,
    device: &Device,
) -> Result<Vec<Vec<Neighbour>>, LabError> {
    let n = keys.len() / dim;
    let nq = queries.len() / dim;
    if n == 0 || k == 0 {
        return Ok(vec![Vec::new(); nq]);
    }
    let kt = Tensor::<2>::from_data(TensorData::new(keys[..n * dim].to_vec(), [n, dim]), device)
        .transpose();
    let mut out = Vec::with_capacity(nq);
    for block in queries[..nq * dim].chunks(256 * dim) {
        let rows = block.len() / dim;
        let qt = Tensor::<2>::from_data(TensorData::new(block.to_vec(), [rows, dim]), device);
        let dots = crate::nn::to_vec(qt.matmul(kt.clone()))?;
        for r in 0..rows {
            let mut hits: Vec<Neighbour> = dots[r * n..(r + 1) * n]
                .iter()
                .enumerate()
                .map(|(id, &score)| Neighbour { id, score })
                .collect();
            let cmp =
                |a: &Neighbour, b: &Neighbour| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id));
            if hits.len() > k {
                hits.select_nth_unstable_by(k - 1, cmp);
                hits.truncate(k);
            }
            hits.sort_by(cmp);
            out.push(hits);
        }
    }
    Ok(out)
}

/// Mean over queries of |approximate top k ∩ exact top k| / k.
pub fn recall(approx: &[Vec<Neighbour>], exact: &[Vec<Neighbour>], k: usize) -> f64 {
    if exact.is_empty() || k == 0 {
        return 0.0;
    }
    let hit: usize = approx
        .iter()
        .zip(exact)
        .map(|(a, e)| {
            let truth: std::collections::HashSet<usize> = e.iter().take(k).map(|n| n.id).collect();
            a.iter().take(k).filter(|n| truth.contains(&n.id)).count()
        })
        .sum();
    hit as f64 / (exact.len() * k) as f64
}

/// `n` random unit vectors of width `dim` (Gaussian entries, normalised), row-major.
pub fn random_unit(n: usize, dim: usize, rng: &mut crate::rng::Rng) -> Vec<f32> {
    let mut v = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let row: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.extend(row.iter().map(|x| x / norm));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn exact_index_matches_brute_force() {
        let dim = 16;
        let mut rng = Rng::new(3);
        let keys = random_unit(300, dim, &mut rng);
        let queries = random_unit(7, dim, &mut rng);
        let index = Index::build(IndexKind::Exact, dim, keys.clone(), HnswParams::default());
        let got = index
            .search(&queries, 5, &Device::default())
            .expect("search");
        for (q, hits) in queries.chunks(dim).zip(&got) {
            let mut all: Vec<(usize, f64)> = keys
                .chunks(dim)
                .enumerate()
                .map(|(i, r)| (i, r.iter().zip(q).map(|(a, b)| (*a * *b) as f64).sum()))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1));
            let want: Vec<usize> = all.iter().take(5).map(|x| x.0).collect();
            let ids: Vec<usize> = hits.iter().map(|h| h.id).collect();
            assert_eq!(ids, want);
        }
    }

    /// HNSW with the crate's default widths finds at least 90% of the exact 10 nearest
    /// neighbours of held-out random unit queries among 5000 random unit keys of MiniLM's
    /// width (384), and reports the same inner products for what it finds.
    #[test]
    fn hnsw_recall_at_10_against_exact_on_5k_random_unit_vectors() {
        let dim = 384;
        let mut rng = Rng::new(11);
        let keys = random_unit(5000, dim, &mut rng);
        let queries = random_unit(100, dim, &mut rng);
        let device = Device::default();
        let exact = Index::build(IndexKind::Exact, dim, keys.clone(), HnswParams::default());
        let hnsw = Index::build(IndexKind::Hnsw, dim, keys, HnswParams::default());
        assert_eq!(hnsw.len(), 5000);
        let e = exact.search(&queries, 10, &device).expect("exact");
        let a = hnsw.search(&queries, 10, &device).expect("hnsw");
        assert!(a.iter().all(|r| r.len() == 10));
        let r = recall(&a, &e, 10);
        assert!(r >= 0.9, "HNSW recall@10 {r:.3} < 0.9");
        // Scores agree with the exact ones for the shared neighbours.
        for (ar, er) in a.iter().zip(&e) {
            for n in ar {
                if let Some(m) = er.iter().find(|m| m.id == n.id) {
                    assert!((n.score - m.score).abs() < 1e-4);
                }
            }
        }
        // A random ranking would recall 10/5000 of them: the bound is far above chance.
        assert!(hnsw.bytes() > exact.bytes());
    }
}
