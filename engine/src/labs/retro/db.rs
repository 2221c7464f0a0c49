//! The chunk database: every training document cut into chunks of m tokens at multiples of m,
//! each stored with its continuation (the next m tokens; a document's last chunk, which has
//! none, is a query only), keyed by the frozen retriever's embedding of the chunk. Exact
//! k-nearest-neighbour search is a matrix product; same-document filtering and database
//! subsets are filters on the candidates.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::text::fnv1a;
use crate::error::LabError;

/// Where a chunk comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// Index of the tokenised document in the lab's list of documents.
    pub doc: usize,
    /// Token offset in that document (a multiple of m).
    pub start: usize,
}

/// One database entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The chunk's origin (for an injected duplicate: the held-out chunk it copies).
    pub at: ChunkRef,
    /// Document id used by the same-document filter.
    pub doc_id: usize,
    /// Index of its key in the key table.
    pub key: usize,
    /// In the database subset of fraction f when `share < f` (a hash of the chunk, fixed).
    pub share: f64,
    /// An injected duplicate of held-out text.
    pub duplicate: bool,
}

/// A neighbour found by a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index into [`Database::entries`].
    pub entry: usize,
    /// Squared L2 distance between the keys.
    pub dist: f32,
}

/// Keys (one row of `dim` per chunk, queries and database alike) and the database entries.
#[derive(Debug, Clone)]
pub struct Database {
    /// Key width.
    pub dim: usize,
    /// Row-major keys.
    pub keys: Vec<f32>,
    /// Squared norms of the keys.
    pub norms: Vec<f32>,
    /// The entries searched.
    pub entries: Vec<Entry>,
}

/// The share hash of a chunk: uniform in [0, 1), fixed by its document and offset.
pub fn chunk_share(doc_id: usize, start: usize) -> f64 {
    let h = fnv1a(format!("retro-db|{doc_id}|{start}").as_bytes());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl Database {
    /// A database over `keys` (`n · dim`) with `entries`.
    pub fn new(dim: usize, keys: Vec<f32>, entries: Vec<Entry>) -> Database {
        let norms = keys
            .chunks(dim.max(1))
            .map(|r| r.iter().map(|x| x * x).sum())
            .collect();
        Database {
            dim,
            keys,
            norms,
            entries,
        }
    }

    /// The key row `i`.
    pub fn key(&self, i: usize) -> &[f32] {
        &self.keys[i * self.dim..(i + 1) * self.dim]
    }

    /// For each query key row, the `k` nearest entries allowed by `allow(query index, entry)`,
    /// nearest first (ties broken by entry index, so results are deterministic). Distances are
    /// one matrix product per block of queries on `device`.
    pub fn search(
        &self,
        queries: &[usize],
        k: usize,
        device: &Device,
        allow: impl Fn(usize, &Entry) -> bool,
    ) -> Result<Vec<Vec<Hit>>, LabError> {
        let n = self.entries.len();
        let dim = self.dim;
        let mut out = Vec::with_capacity(queries.len());
        if n == 0 {
            return Ok(vec![Vec::new(); queries.len()]);
        }
        let mut db = Vec::with_capacity(n * dim);
        for e in &self.entries {
            db.extend_from_slice(self.key(e.key));
        }
        let dbt = Tensor::<2>::from_data(TensorData::new(db, [n, dim]), device).transpose();
        for (block_start, block) in queries.chunks(256).enumerate().map(|(i, b)| (i * 256, b)) {
            let mut q = Vec::with_capacity(block.len() * dim);
            for &qi in block {
                q.extend_from_slice(self.key(qi));
            }
            let qt = Tensor::<2>::from_data(TensorData::new(q, [block.len(), dim]), device);
            let dots = crate::nn::to_vec(qt.matmul(dbt.clone()))?;
            for (r, &qi) in block.iter().enumerate() {
                let mut hits: Vec<Hit> = (0..n)
                    .filter(|&j| allow(block_start + r, &self.entries[j]))
                    .map(|j| Hit {
                        entry: j,
                        dist: (self.norms[qi] - 2.0 * dots[r * n + j]
                            + self.norms[self.entries[j].key])
                            .max(0.0),
                    })
                    .collect();
                top_k(&mut hits, k);
                // The ranking's |q|² − 2q·x + |x|² cancels badly in f32 when keys are long and
                // close (it can clamp at 0); the reported distances of the k kept are exact.
                let q = self.key(qi);
                for h in &mut hits {
                    h.dist = squared_distance(q, self.key(self.entries[h.entry].key));
                }
                out.push(hits);
            }
        }
        Ok(out)
    }

    /// The same search by brute force in f64 over every pair (for tests and small checks).
    pub fn search_brute(&self, query: usize, k: usize, allow: impl Fn(&Entry) -> bool) -> Vec<Hit> {
        let q = self.key(query);
        let mut hits: Vec<Hit> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| allow(e))
            .map(|(j, e)| Hit {
                entry: j,
                dist: squared_distance(q, self.key(e.key)),
            })
            .collect();
        top_k(&mut hits, k);
        hits
    }
}

/// Squared L2 distance of two keys, summed in f64.
fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum::<f64>() as f32
}

/// Keeps the `k` smallest distances, sorted (ties by entry index).
fn top_k(hits: &mut Vec<Hit>, k: usize) {
    let cmp = |a: &Hit, b: &Hit| a.dist.total_cmp(&b.dist).then(a.entry.cmp(&b.entry));
    if hits.len() > k && k > 0 {
        hits.select_nth_unstable_by(k - 1, cmp);
        hits.truncate(k);
    }
    hits.truncate(k);
    hits.sort_by(cmp);
}

/// Length of the longest common contiguous run of tokens of `a` and `b` (dynamic programming,
/// O(|a|·|b|)).
pub fn longest_common_substring(a: &[u32], b: &[u32]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut best = 0;
    for &x in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            if x == y {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best
}

/// RETRO's overlap ratio r(C): the longest common token substring of `chunk` with any of
/// `neighbours`, divided by the chunk length.
pub fn overlap_ratio(chunk: &[u32], neighbours: &[&[u32]]) -> f64 {
    if chunk.is_empty() {
        return 0.0;
    }
    let s = neighbours
        .iter()
        .map(|n| longest_common_substring(chunk, n))
        .max()
        .unwrap_or(0);
    s as f64 / chunk.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::rng::Rng;

    #[test]
    fn exact_search_equals_brute_force_and_filters_apply() {
        let device = Backend::cpu().device.without_autodiff();
        let mut rng = Rng::new(4);
        let (n, dim) = (300, 7);
        let keys: Vec<f32> = (0..n * dim).map(|_| rng.normal() as f32).collect();
        let entries: Vec<Entry> = (0..250)
            .map(|i| Entry {
                at: ChunkRef {
                    doc: i / 10,
                    start: 0,
                },
                doc_id: i / 10,
                key: i,
                share: chunk_share(i / 10, i),
                duplicate: false,
            })
            .collect();
        let db = Database::new(dim, keys, entries);
        let queries: Vec<usize> = (240..300).collect();
        let fast = db
            .search(&queries, 5, &device, |q, e| e.doc_id != queries[q] / 10)
            .expect("search");
        for (q, hits) in queries.iter().zip(&fast) {
            let want = db.search_brute(*q, 5, |e| e.doc_id != q / 10);
            let got: Vec<usize> = hits.iter().map(|h| h.entry).collect();
            let exp: Vec<usize> = want.iter().map(|h| h.entry).collect();
            assert_eq!(got, exp, "query {q}");
            for (h, w) in hits.iter().zip(&want) {
                assert!((h.dist - w.dist).abs() < 1e-3 * (1.0 + w.dist));
            }
            assert!(hits.iter().all(|h| db.entries[h.entry].doc_id != q / 10));
        }
    }

    #[test]
    fn overlap_ratio_on_a_hand_made_case() {
        let c = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(longest_common_substring(&c, &[9, 3, 4, 5, 9]), 3);
        assert_eq!(longest_common_substring(&c, &[8, 7, 6]), 1);
        assert_eq!(longest_common_substring(&c, &[]), 0);
        let n1: &[u32] = &[0, 2, 3, 0];
        let n2: &[u32] = &[4, 5, 6, 7, 0];
        assert_eq!(overlap_ratio(&c, &[n1, n2]), 0.5);
        assert_eq!(overlap_ratio(&c, &[&c]), 1.0);
        assert_eq!(overlap_ratio(&c, &[&[42]]), 0.0);
    }
}
