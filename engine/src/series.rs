//! Bounded metric history with decimation for plotting.
//!
//! A long run can produce millions of points per series; the UI needs a few thousand. Each
//! [`Series`] keeps at most `capacity` points: when full it merges neighbouring pairs (averaging
//! step and value) and from then on averages incoming points in buckets twice as large. Memory
//! stays bounded, the curve keeps its shape, and the exact latest value is kept apart.

use std::collections::HashMap;

/// Default number of points kept per series.
pub const DEFAULT_CAPACITY: usize = 2048;

/// One metric's bounded history.
#[derive(Debug, Clone)]
pub struct Series {
    points: Vec<[f64; 2]>,
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
            points: Vec::new(),
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
        self.points
            .push([self.bucket_sum[0] / n, self.bucket_sum[1] / n]);
        self.bucket_sum = [0.0; 2];
        self.bucket_len = 0;
        if self.points.len() >= self.capacity {
            self.halve();
        }
    }

    fn halve(&mut self) {
        let merged: Vec<[f64; 2]> = self
            .points
            .chunks(2)
            .map(|c| {
                let n = c.len() as f64;
                [
                    c.iter().map(|p| p[0]).sum::<f64>() / n,
                    c.iter().map(|p| p[1]).sum::<f64>() / n,
                ]
            })
            .collect();
        self.points = merged;
        self.stride *= 2;
    }

    /// The stored (possibly averaged) points, oldest first, plus the exact latest point if it
    /// is still waiting in a partial bucket.
    pub fn points(&self) -> Vec<[f64; 2]> {
        let mut out = self.points.clone();
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
        self.points.len()
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

/// All series of one run, in first-seen order, plus knob-change markers.
#[derive(Debug, Clone, Default)]
pub struct SeriesStore {
    names: Vec<String>,
    index: HashMap<String, usize>,
    series: Vec<Series>,
    markers: Vec<Marker>,
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
        let idx = match self.index.get(name) {
            Some(&i) => i,
            None => {
                let cap = if self.capacity == 0 {
                    DEFAULT_CAPACITY
                } else {
                    self.capacity
                };
                self.names.push(name.to_string());
                self.series.push(Series::new(cap));
                self.index.insert(name.to_string(), self.series.len() - 1);
                self.series.len() - 1
            }
        };
        self.series[idx].push(step, value);
    }

    /// Records a knob-change marker (at most 1000 are kept; the oldest go first).
    pub fn mark(&mut self, step: u64, label: impl Into<String>) {
        if self.markers.len() >= 1000 {
            self.markers.remove(0);
        }
        self.markers.push(Marker {
            step,
            label: label.into(),
        });
    }

    /// Series names in first-seen order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The named series.
    pub fn get(&self, name: &str) -> Option<&Series> {
        self.index.get(name).map(|&i| &self.series[i])
    }

    /// Knob-change markers, oldest first.
    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }

    /// The latest value of every series, in first-seen order.
    pub fn last_values(&self) -> Vec<(String, f64)> {
        self.names
            .iter()
            .zip(&self.series)
            .filter_map(|(n, s)| s.last().map(|p| (n.clone(), p[1])))
            .collect()
    }

    /// Forgets everything (used on reset).
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
