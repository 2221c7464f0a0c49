//! File dialogs: open and save presets, export the series as CSV and the panel as PNG.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use trainscope_engine::Preset;

use super::{PendingShot, TrainscopeApp};

impl TrainscopeApp {
    pub(super) fn open_preset_dialog(&mut self) {
        let Some(path) = rfd::FileDialog::new()
            .add_filter("preset", &["toml"])
            .pick_file()
        else {
            return;
        };
        match Preset::load(&path) {
            Ok(p) => self.open(p),
            Err(e) => self.notice = Some((e.to_string(), true)),
        }
    }

    pub(super) fn save_preset_dialog(&mut self) {
        let Some(p) = self.current_preset() else {
            return;
        };
        let Some(path) = rfd::FileDialog::new()
            .add_filter("preset", &["toml"])
            .set_file_name(format!("{}.toml", p.name))
            .save_file()
        else {
            return;
        };
        let result = p.to_toml().map_err(|e| anyhow!("{e}")).and_then(|t| {
            std::fs::write(&path, t).map_err(|e| anyhow!("writing {}: {e}", path.display()))
        });
        self.notice = Some(match result {
            Ok(()) => (format!("saved {}", path.display()), false),
            Err(e) => (e.to_string(), true),
        });
    }

    pub(super) fn export_csv_dialog(&mut self) {
        let Some(run) = &self.run else { return };
        let Some(path) = rfd::FileDialog::new()
            .add_filter("CSV", &["csv"])
            .set_file_name(format!("{}-metrics.csv", run.preset.name))
            .save_file()
        else {
            return;
        };
        let store = run.runner.read(|s| s.series.clone());
        self.notice = Some(match crate::export::write_csv(&store, &path) {
            Ok(()) => (format!("wrote {}", path.display()), false),
            Err(e) => (format!("{e:#}"), true),
        });
    }

    /// Asks egui for a screenshot; [`TrainscopeApp::poll_screenshot`] writes it once it comes.
    pub(super) fn export_png_dialog(&mut self) {
        let name = self
            .run
            .as_ref()
            .map_or("panel".to_string(), |r| r.preset.name.clone());
        let Some(path) = rfd::FileDialog::new()
            .add_filter("PNG", &["png"])
            .set_file_name(format!("{name}.png"))
            .save_file()
        else {
            return;
        };
        let slot: PendingShot = Arc::new(Mutex::new(None));
        let s2 = slot.clone();
        let ctx = self.ctx.clone();
        self.ctx.request_screenshot(move |img| {
            if let Ok(mut g) = s2.lock() {
                *g = Some(img);
            }
            ctx.request_repaint();
        });
        self.shot = Some((path, slot));
    }

    /// Writes the panel's part of a requested screenshot, once it has arrived.
    pub(super) fn poll_screenshot(&mut self, pixels_per_point: f32) {
        let Some((path, slot)) = &self.shot else {
            return;
        };
        let img = slot.lock().ok().and_then(|mut g| g.take());
        let Some(img) = img else { return };
        let r = self.panel_rect;
        let phys = egui::Rect::from_min_max(
            (r.min.to_vec2() * pixels_per_point).to_pos2(),
            (r.max.to_vec2() * pixels_per_point).to_pos2(),
        );
        self.notice = Some(match crate::export::write_png(&img, phys, path) {
            Ok(()) => (format!("wrote {}", path.display()), false),
            Err(e) => (format!("{e:#}"), true),
        });
        self.shot = None;
    }
}
