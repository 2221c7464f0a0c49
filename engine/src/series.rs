//! Bounded metric history with decimation for plotting, cheap to share between threads.
//!
//! A long run can produce millions of points per series; the UI needs a few thousand. Each
//! [`Series`] keeps at most `capacity` points: when full it merges neighbouring pairs (averaging
//! step and value) and from then on averages incoming points in buckets twice as large. Memory
//! stays bounded, the curve keeps its shape, and the exact latest value is kept apart.
//!
//! The runner hands the history to the GUI on every frame and the GUI snapshots it on every
//! frame, so a copy must not cost the history. Stored points therefore live in sealed chunks of
//! [`CHUNK`] points behind `Arc`s (in a list that is itself behind an `Arc`) plus one short open
//! tail, each series sits behind an `Arc` in its [`SeriesStore`], and so do the store's name
//! table and markers. Cloning a store copies a pointer per series; a writer that finds a part
//! shared copies only that part (`Arc::make_mut`): the store's list of series and, for each
//! series it appends to, that series' tail (at most `CHUNK` points) and, once per `CHUNK`
//! stored points, its list of chunk pointers. Sealed chunks are never written again; halving
//! builds new ones.

use std::collections::HashMap;
use std::sync::Arc;

/// Default number of points kept per series.
pub const DEFAULT_CAPACITY: usize = 2048;

/// Stored points per shared chunk: large enough that a long series is a short list of chunks,
/// small enough that copying the open tail on a shared write is cheap.
pub const CHUNK: usize = 256;

/// One metric's bounded history.
#[derive(Debug, Clone)]
pub struct Series {
    /// Full chunks of exactly [`CHUNK`] stored points, oldest first. The list is shared too, so
    /// that cloning a long series does not touch one counter per chunk.
    sealed: Arc<Vec<Arc<[[f64; 2]]>>>,
    /// Stored points after the sealed chunks (fewer than [`CHUNK`]).
    tail: Vec<[f64; 2]>,
    capacity: usize,
    /// How many raw points each stored point now averages.
    stride: usize,
    bucket_sum: [f64; 2],
    bucket_len: usize,
    last: Option<[f64; 2]>,
    count: u64,
}

impl Series {
    /// An empty series keeping at most `capacity` points (at least 4).
    pub fn new(capacity: usize) -> Self {
        Series {
            sealed: Arc::default(),
            tail: Vec::new(),
            capacity: capacity.max(4),
            stride: 1,
            bucket_sum: [0.0; 2],
            bucket_len: 0,
            last: None,
            count: 0,
        }
    }

    /// Appends one raw point.
    pub fn push(&mut self, step: f64, value: f64) {
        self.last = Some([step, value]);
        self.count += 1;
        self.bucket_sum[0] += step;
        self.bucket_sum[1] += value;
        self.bucket_len += 1;
        if self.bucket_len < self.stride {
            return;
        }
        let n = self.bucket_len as f64;
        self.store([self.bucket_sum[0] / n, self.bucket_sum[1] / n]);
        self.bucket_sum = [0.0; 2];
        self.bucket_len = 0;
        if self.stored_len() >= self.capacity {
            self.halve();
        }
    }

    /// Appends a stored point, sealing the tail when it is full.
    fn store(&mut self, point: [f64; 2]) {
        self.tail.push(point);
        if self.tail.len() >= CHUNK {
            let full = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK));
            Arc::make_mut(&mut self.sealed).push(full.into());
        }
    }

    /// The stored points, oldest first, without the partial bucket.
    fn stored(&self) -> impl Iterator<Item = &[f64; 2]> {
        self.sealed.iter().flat_map(|c| c.iter()).chain(&self.tail)
    }

    fn halve(&mut self) {
        let all: Vec<[f64; 2]> = self.stored().copied().collect();
        self.sealed = Arc::default();
        self.tail.clear();
        for c in all.chunks(2) {
            let n = c.len() as f64;
            self.store([
                c.iter().map(|p| p[0]).sum::<f64>() / n,
                c.iter().map(|p| p[1]).sum::<f64>() / n,
            ]);
        }
        self.stride *= 2;
    }

    /// The stored (possibly averaged) points, oldest first, plus the exact latest point if it
    /// is still waiting in a partial bucket.
    pub fn points(&self) -> Vec<[f64; 2]> {
        let mut out = Vec::with_capacity(self.stored_len() + 1);
        out.extend(self.stored());
        if self.bucket_len > 0
            && let Some(last) = self.last
        {
            out.push(last);
        }
        out
    }

    /// The exact latest raw point.
    pub fn last(&self) -> Option<[f64; 2]> {
        self.last
    }

    /// Number of raw points ever pushed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of points held in memory.
    pub fn stored_len(&self) -> usize {
        self.sealed.len() * CHUNK + self.tail.len()
    }
}

/// Exponential moving average of `points` with smoothing weight `alpha` in [0, 1): 0 returns the
/// input, values near 1 smooth heavily. Debiased at the start so the line does not begin at 0.
pub fn smoothed(points: &[[f64; 2]], alpha: f64) -> Vec<[f64; 2]> {
    let alpha = alpha.clamp(0.0, 0.999);
    let mut avg = 0.0;
    let mut weight = 0.0;
    points
        .iter()
        .map(|&[x, y]| {
            avg = alpha * avg + (1.0 - alpha) * y;
            weight = alpha * weight + (1.0 - alpha);
            [x, avg / weight]
        })
        .collect()
}

/// A live change of a knob, shown as a marker on the charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Step at which the change took effect.
    pub step: u64,
    /// Human-readable text, e.g. `lr = 0.01`.
    pub label: String,
}

/// Series names in first-seen order and where each one sits; shared until a series is added.
#[derive(Debug, Clone, Default)]
struct Names {
    order: Vec<String>,
    index: HashMap<String, usize>,
}

/// All series of one run, in first-seen order, plus knob-change markers. Clones share the
/// history (see the module docs), so a clone per frame is cheap.
#[derive(Debug, Clone, Default)]
pub struct SeriesStore {
    names: Arc<Names>,
    series: Vec<Arc<Series>>,
    markers: Arc<Vec<Marker>>,
    capacity: usize,
}

impl SeriesStore {
    /// An empty store with the default per-series capacity.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty store keeping at most `capacity` points per series.
    pub fn with_capacity(capacity: usize) -> Self {
        SeriesStore {
            capacity,
            ..Default::default()
        }
    }

    /// Appends a point to the named series, creating it if needed.
    pub fn push(&mut self, name: &str, step: f64, value: f64) {
        let idx = match self.names.index.get(name) {
            Some(&i) => i,
            None => {
                let cap = self.capacity();
                let idx = self.series.len();
                let names = Arc::make_mut(&mut self.names);
                names.order.push(name.to_string());
                names.index.insert(name.to_string(), idx);
                self.series.push(Arc::new(Series::new(cap)));
                idx
            }
        };
        Arc::make_mut(&mut self.series[idx]).push(step, value);
    }

    /// Records a knob-change marker (at most 1000 are kept; the oldest go first).
    pub fn mark(&mut self, step: u64, label: impl Into<String>) {
        let markers = Arc::make_mut(&mut self.markers);
        if markers.len() >= 1000 {
            markers.remove(0);
        }
        markers.push(Marker {
            step,
            label: label.into(),
        });
    }

    /// The most points kept per series.
    pub fn capacity(&self) -> usize {
        if self.capacity == 0 {
            DEFAULT_CAPACITY
        } else {
            self.capacity
        }
    }

    /// Series names in first-seen order.
    pub fn names(&self) -> &[String] {
        &self.names.order
    }

    /// The named series.
    pub fn get(&self, name: &str) -> Option<&Series> {
        self.names.index.get(name).map(|&i| &*self.series[i])
    }

    /// Knob-change markers, oldest first.
    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }

    /// The latest value of every series, in first-seen order.
    pub fn last_values(&self) -> Vec<(String, f64)> {
        self.names
            .order
            .iter()
            .zip(&self.series)
            .filter_map(|(n, s)| s.last().map(|p| (n.clone(), p[1])))
            .collect()
    }

    /// Forgets everything (used on reset); clones taken before keep what they had.
    pub fn clear(&mut self) {
        let capacity = self.capacity;
        *self = SeriesStore::with_capacity(capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_stays_bounded_and_keeps_shape() {
        let mut s = Series::new(64);
        for i in 0..100_000 {
            s.push(i as f64, i as f64 * 2.0);
        }
        assert!(s.stored_len() < 64);
        assert_eq!(s.count(), 100_000);
        assert_eq!(s.last(), Some([99_999.0, 199_998.0]));
        // Averaged points still lie on the line y = 2x.
        for [x, y] in s.points() {
            assert!((y - 2.0 * x).abs() < 1e-6);
        }
        let pts = s.points();
        assert!(pts.first().is_some_and(|p| p[0] < 2000.0));
        assert!(pts.last().is_some_and(|p| p[0] > 98_000.0));
    }

    /// The flat (unchunked) decimation the chunked series must reproduce exactly.
    fn reference(capacity: usize, n: usize) -> Vec<[f64; 2]> {
        let (mut pts, mut stride, mut sum, mut len) = (Vec::new(), 1, [0.0; 2], 0);
        let mut last = None;
        for i in 0..n {
            let p = [i as f64, (i as f64 * 0.37).sin()];
            last = Some(p);
            sum = [sum[0] + p[0], sum[1] + p[1]];
            len += 1;
            if len < stride {
                continue;
            }
            pts.push([sum[0] / len as f64, sum[1] / len as f64]);
            (sum, len) = ([0.0; 2], 0);
            if pts.len() >= capacity {
                pts = pts
                    .chunks(2)
                    .map(|c: &[[f64; 2]]| {
                        let k = c.len() as f64;
                        [
                            c.iter().map(|p| p[0]).sum::<f64>() / k,
                            c.iter().map(|p| p[1]).sum::<f64>() / k,
                        ]
                    })
                    .collect();
                stride *= 2;
            }
        }
        if len > 0
            && let Some(l) = last
        {
            pts.push(l);
        }
        pts
    }

    #[test]
    fn chunked_series_matches_flat_decimation() {
        for capacity in [4, 64, CHUNK, CHUNK + 3, 3 * CHUNK, DEFAULT_CAPACITY] {
            let mut s = Series::new(capacity);
            let mut pushed = 0;
            for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 40 * CHUNK + 7] {
                while pushed < n {
                    s.push(pushed as f64, (pushed as f64 * 0.37).sin());
                    pushed += 1;
                }
                assert_eq!(
                    s.points(),
                    reference(capacity, n),
                    "capacity {capacity}, n {n}"
                );
            }
        }
    }

    #[test]
    fn clones_share_history_and_keep_their_own_view() {
        let mut a = SeriesStore::new();
        for i in 0..3 * CHUNK {
            a.push("loss", i as f64, 1.0);
        }
        a.mark(1, "lr = 0.1");
        let b = a.clone();
        // Sealed chunks are shared, not copied.
        assert!(Arc::ptr_eq(&a.series[0].sealed[0], &b.series[0].sealed[0]));
        a.push("loss", 1e6, 2.0);
        a.push("acc", 0.0, 0.5);
        a.mark(2, "lr = 0.2");
        assert_eq!(b.get("loss").map(Series::count), Some(3 * CHUNK as u64));
        assert_eq!(b.get("loss").and_then(Series::last), Some([767.0, 1.0]));
        assert!(b.get("acc").is_none() && b.names().len() == 1 && b.markers().len() == 1);
        assert_eq!(a.get("loss").and_then(Series::last), Some([1e6, 2.0]));
        assert_eq!(a.names().len(), 2);
        a.clear();
        assert!(a.names().is_empty() && b.get("loss").is_some());
    }

    #[test]
    fn smoothing_is_debiased_and_flat_on_constants() {
        let pts: Vec<[f64; 2]> = (0..10).map(|i| [i as f64, 3.0]).collect();
        for [_, y] in smoothed(&pts, 0.9) {
            assert!((y - 3.0).abs() < 1e-9);
        }
        assert_eq!(smoothed(&pts, 0.0), pts);
    }

    #[test]
    fn store_keeps_order_and_last_values() {
        let mut st = SeriesStore::new();
        st.push("b", 0.0, 1.0);
        st.push("a", 0.0, 2.0);
        st.push("b", 1.0, 3.0);
        assert_eq!(st.names(), &["b".to_string(), "a".to_string()]);
        assert_eq!(
            st.last_values(),
            vec![("b".to_string(), 3.0), ("a".to_string(), 2.0)]
        );
        st.mark(1, "lr = 0.1");
        assert_eq!(st.markers().len(), 1);
    }
}
