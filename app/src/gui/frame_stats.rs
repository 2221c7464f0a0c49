//! The window's own frame budget: how long each frame of the UI thread takes, shown in a debug
//! overlay (F12, or always with `--frame-stats`) and written as JSON by `--frame-stats FILE`.
//!
//! Two times per frame: eframe's CPU time of the whole previous frame (our UI code, egui's
//! layout and tessellation, and painting), and our own `draw` alone. The first frames (fonts,
//! first layout) are left out as warm-up.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Frames ignored at start-up.
const WARM_UP: usize = 30;
/// How often the JSON file is rewritten (the process may be ended at any time).
const WRITE_EVERY: Duration = Duration::from_secs(1);
/// Frames the overlay summarises (the most recent).
const OVERLAY_FRAMES: usize = 300;

/// Recorded frame times and where to write them.
#[derive(Default)]
pub struct FrameStats {
    seen: usize,
    frame_ms: Vec<f32>,
    draw_ms: Vec<f32>,
    path: Option<PathBuf>,
    last_write: Option<Instant>,
    /// Whether the overlay is shown.
    pub overlay: bool,
}

/// Percentiles of a set of frame times in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: f32,
    /// 99th percentile.
    pub p99_ms: f32,
    /// Slowest.
    pub max_ms: f32,
}

/// The `p`-quantile (0..=1) of `xs` by the nearest-rank rule; `None` when empty.
fn quantile(sorted: &[f32], p: f64) -> Option<f32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// p50, p99 and max of `xs`.
pub fn percentiles(xs: &[f32]) -> Option<Percentiles> {
    let mut s = xs.to_vec();
    s.sort_by(f32::total_cmp);
    Some(Percentiles {
        p50_ms: quantile(&s, 0.5)?,
        p99_ms: quantile(&s, 0.99)?,
        max_ms: *s.last()?,
    })
}

impl FrameStats {
    /// Stats written to `path` (if any); the overlay starts shown when there is a path.
    pub fn new(path: Option<PathBuf>) -> FrameStats {
        FrameStats {
            overlay: path.is_some(),
            path,
            ..FrameStats::default()
        }
    }

    /// Records one frame: eframe's CPU time of the previous frame (seconds, when it has one)
    /// and the time our `draw` took.
    pub fn record(&mut self, previous_frame_s: Option<f32>, draw: Duration) {
        self.seen += 1;
        if self.seen <= WARM_UP {
            return;
        }
        if let Some(s) = previous_frame_s {
            self.frame_ms.push(s * 1e3);
        }
        self.draw_ms.push(draw.as_secs_f32() * 1e3);
        let due = self.last_write.is_none_or(|t| t.elapsed() >= WRITE_EVERY);
        if due && self.path.is_some() {
            self.last_write = Some(Instant::now());
            if let Err(e) = self.write() {
                eprintln!("frame stats: {e:#}");
                self.path = None;
            }
        }
    }

    /// The JSON written to the file: `p50_ms`, `p99_ms`, `max_ms` of whole frames, the same
    /// for `draw` alone, and the number of frames.
    pub fn json(&self) -> serde_json::Value {
        let frame = percentiles(&self.frame_ms);
        let draw = percentiles(&self.draw_ms);
        serde_json::json!({
            "frames": self.frame_ms.len(),
            "p50_ms": frame.map(|p| p.p50_ms),
            "p99_ms": frame.map(|p| p.p99_ms),
            "max_ms": frame.map(|p| p.max_ms),
            "draw": draw,
            "what": "CPU time per frame of the UI thread (eframe's frame time: our UI, egui \
                     layout, tessellation and painting); `draw` is our UI code alone",
        })
    }

    fn write(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.path {
            std::fs::write(path, serde_json::to_string_pretty(&self.json())? + "\n")?;
        }
        Ok(())
    }

    /// Toggles the overlay on F12 and draws it when shown.
    pub fn show(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.key_pressed(egui::Key::F12)) {
            self.overlay = !self.overlay;
        }
        if !self.overlay {
            return;
        }
        let recent = |v: &[f32]| percentiles(&v[v.len().saturating_sub(OVERLAY_FRAMES)..]);
        let text = match (recent(&self.frame_ms), recent(&self.draw_ms)) {
            (Some(f), Some(d)) => format!(
                "frame p50 {:.1} ms · p99 {:.1} ms   (UI code p50 {:.1} · p99 {:.1})   last {} frames, F12 hides",
                f.p50_ms,
                f.p99_ms,
                d.p50_ms,
                d.p99_ms,
                self.frame_ms.len().min(OVERLAY_FRAMES)
            ),
            _ => "frame times: warming up (F12 hides)".into(),
        };
        egui::Area::new(egui::Id::unique("trainscope-frame-stats"))
            .anchor(egui::Align2::RIGHT_BOTTOM, [-8.0, -8.0])
            .interactable(false)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.label(egui::RichText::new(text).monospace().small());
                });
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let xs: Vec<f32> = (1..=100).map(|i| i as f32).collect();
        let p = percentiles(&xs).expect("some");
        assert_eq!((p.p50_ms, p.p99_ms, p.max_ms), (50.0, 99.0, 100.0));
        assert_eq!(percentiles(&[]), None);
    }

    #[test]
    fn warm_up_frames_are_skipped_and_json_has_the_keys() {
        let mut s = FrameStats::new(None);
        for i in 0..(WARM_UP + 10) {
            s.record(Some(0.004 + i as f32 * 1e-4), Duration::from_millis(2));
        }
        let j = s.json();
        assert_eq!(j["frames"], 10);
        assert!(j["p50_ms"].as_f64().is_some_and(|v| v > 4.0), "{j}");
        assert!(j["p99_ms"].as_f64() >= j["p50_ms"].as_f64());
    }
}
