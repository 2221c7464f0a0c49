//! The OTA-FL panel: a map of the square (APs coloured by the SNR they receive, clients by
//! whether they transmitted this round, the cellular BS at the centre), test accuracy against
//! round for every scheme, this round's per-entry aggregation errors per receiver, the
//! aggregation MSE per round, and the MSE-vs-client-power sweep as it fills in.

use egui::{Align2, Color32, FontId, Pos2, Sense, Stroke, Ui, Vec2, pos2, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::otafl::{ClientStatus, OtaflView};

use crate::widgets::{Curve, PlotSettings, histogram, metric_curves, palette};

/// SNR range of the AP colour scale, dB.
const SNR_LO: f64 = -10.0;
const SNR_HI: f64 = 30.0;
const SENT: Color32 = Color32::from_rgb(80, 200, 120);
const SILENT: Color32 = Color32::from_rgb(230, 80, 90);
const IDLE: Color32 = Color32::from_gray(110);

/// Colour of an AP receiving `db`: dark blue (weak) through teal to yellow (strong).
fn snr_color(db: f64) -> Color32 {
    let t = ((db - SNR_LO) / (SNR_HI - SNR_LO)).clamp(0.0, 1.0) as f32;
    let lerp = |a: f32, b: f32| (a + (b - a) * t) as u8;
    Color32::from_rgb(lerp(40.0, 250.0), lerp(60.0, 220.0), lerp(160.0, 40.0))
}

/// The colour of scheme `i` (error-free first), the same on every chart.
fn scheme_color(i: usize) -> Color32 {
    if i == 0 {
        Color32::from_gray(230)
    } else {
        palette(i - 1)
    }
}

/// Draws the whole panel.
pub fn show(ui: &mut Ui, view: &OtaflView, store: &SeriesStore, settings: &PlotSettings) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("round {} of {}", view.round, view.rounds));
        ui.separator();
        ui.label(format!("client power {:.1} dBm", view.client_power_dbm));
        ui.separator();
        ui.label(format!(
            "{} pilots for {} clients",
            view.pilots, view.clients_total
        ));
        ui.separator();
        ui.label(format!("{} clients taking part", view.participants));
        ui.separator();
        ui.label(format!(
            "{} · {} data · lr {:.3} · {} local step(s)",
            view.model, view.split, view.lr, view.local_steps
        ));
    });
    ui.add_space(4.0);
    let id = ui.make_persistent_id("otafl_map_receiver");
    let mut chosen: usize = ui.data(|d| d.get_temp(id)).unwrap_or(0);
    ui.horizontal_wrapped(|ui| {
        ui.strong("Clients on the map, as seen by:");
        for (i, (label, _)) in view.status.iter().enumerate() {
            ui.selectable_value(&mut chosen, i, label.as_str());
        }
    });
    ui.data_mut(|d| d.insert_temp(id, chosen));
    ui.horizontal(|ui| {
        let side = (ui.available_width() * 0.36).clamp(220.0, 380.0);
        map(ui, view, chosen, side);
        ui.vertical(|ui| {
            ui.set_width(ui.available_width().max(200.0));
            legend(ui, view, chosen);
            ui.add_space(4.0);
            ui.strong("Test accuracy against round (same data, fading and initial weights)");
            let stems: Vec<String> = view
                .schemes
                .iter()
                .map(|(s, _)| format!("acc_{s}"))
                .collect();
            let curves: Vec<Curve<'_>> = view
                .schemes
                .iter()
                .enumerate()
                .map(|(i, (_, l))| {
                    Curve::new(&stems[i], l)
                        .color(scheme_color(i))
                        .dashed(i == 0)
                })
                .collect();
            metric_curves(
                ui,
                "otafl_acc",
                store,
                &curves,
                settings,
                "test accuracy",
                side - 90.0,
            );
        });
    });
    ui.add_space(6.0);
    ui.columns(2, |cols| {
        cols[0].strong(
            "This round's per-entry aggregation error (estimate − true average; the end bins \
             hold the 1% beyond)",
        );
        error_histogram(&mut cols[0], view, settings);
        cols[1].strong("Aggregation MSE per round (log10, normalised update units)");
        mse_rounds(&mut cols[1], view, store, settings);
    });
    ui.add_space(6.0);
    ui.strong(
        "Aggregation MSE against client power on this drop (all clients, unit-variance \
         updates; fills in as the run goes)",
    );
    sweep_plot(ui, view, settings);
}

fn map(ui: &mut Ui, view: &OtaflView, chosen: usize, side: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_rgb(18, 20, 26));
    let margin = 12.0;
    let scale = (side - 2.0 * margin) / view.side_m.max(1.0) as f32;
    let to = |x: f64, y: f64| -> Pos2 {
        pos2(
            rect.left() + margin + x as f32 * scale,
            rect.bottom() - margin - y as f32 * scale,
        )
    };
    painter.rect_stroke(
        egui::Rect::from_two_pos(to(0.0, 0.0), to(view.side_m, view.side_m)),
        0.0,
        Stroke::new(1.0, Color32::from_gray(90)),
        egui::StrokeKind::Middle,
    );
    for (l, ap) in view.aps.iter().enumerate() {
        let snr = view.ap_snr_db.get(l).copied().unwrap_or(SNR_LO);
        let c = if view.ap_snr_db.is_empty() {
            Color32::from_gray(120)
        } else {
            snr_color(snr)
        };
        let p = to(ap.x, ap.y);
        painter.rect_filled(egui::Rect::from_center_size(p, vec2(10.0, 10.0)), 1.0, c);
    }
    let bs = to(view.bs.x, view.bs.y);
    let tri = vec![
        bs + vec2(0.0, -11.0),
        bs + vec2(-10.0, 7.0),
        bs + vec2(10.0, 7.0),
    ];
    painter.add(egui::Shape::convex_polygon(
        tri,
        Color32::from_rgb(120, 160, 255),
        Stroke::new(1.5, Color32::WHITE),
    ));
    painter.text(
        bs + vec2(12.0, 0.0),
        Align2::LEFT_CENTER,
        "BS",
        FontId::proportional(11.0),
        Color32::from_gray(220),
    );
    let status = view
        .status
        .get(chosen)
        .map(|s| s.1.as_slice())
        .unwrap_or(&[]);
    for (k, c) in view.clients.iter().enumerate() {
        let p = to(c.x, c.y);
        match status.get(k).copied().unwrap_or(ClientStatus::Idle) {
            ClientStatus::Sent => {
                painter.circle_filled(p, 4.5, SENT);
            }
            ClientStatus::Silent => {
                painter.circle_filled(p, 4.5, SILENT);
            }
            ClientStatus::Idle => {
                painter.circle_stroke(p, 4.0, Stroke::new(1.5, IDLE));
            }
        }
    }
    painter.text(
        rect.left_top() + vec2(6.0, 4.0),
        Align2::LEFT_TOP,
        format!(
            "{:.0} m × {:.0} m (wrap-around for the APs)",
            view.side_m, view.side_m
        ),
        FontId::proportional(11.0),
        Color32::from_gray(190),
    );
}

fn legend(ui: &mut Ui, view: &OtaflView, chosen: usize) {
    let count = |s: ClientStatus| {
        view.status
            .get(chosen)
            .map_or(0, |v| v.1.iter().filter(|&&x| x == s).count())
    };
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(SENT, format!("transmitted ({})", count(ClientStatus::Sent)));
        ui.colored_label(
            SILENT,
            format!("silent, deep fade ({})", count(ClientStatus::Silent)),
        );
        ui.colored_label(
            IDLE,
            format!("not taking part, hollow ({})", count(ClientStatus::Idle)),
        );
        ui.colored_label(
            Color32::from_rgb(120, 160, 255),
            "triangle: cellular BS (L·N antennas)",
        );
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("squares: access points, coloured by the SNR each receives this round (cell-free central design):");
        for db in [-10.0, 0.0, 10.0, 20.0, 30.0] {
            ui.colored_label(snr_color(db), format!("{db:.0} dB"));
        }
    });
}

fn error_histogram(ui: &mut Ui, view: &OtaflView, settings: &PlotSettings) {
    let mut all: Vec<f32> = view
        .errors
        .iter()
        .flat_map(|e| e.1.iter().map(|x| x.abs()))
        .collect();
    all.sort_by(f32::total_cmp);
    let hi = all
        .get((all.len() as f64 * 0.99) as usize)
        .copied()
        .unwrap_or(1.0)
        .max(1e-6) as f64;
    let bins = 41;
    let mut plot = Plot::new("otafl_errors")
        .height(200.0)
        .x_axis_label("error per entry (normalised units)")
        .y_axis_label("share of entries")
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |pui| {
        for (i, (label, e)) in view.errors.iter().enumerate() {
            if e.is_empty() {
                continue;
            }
            let h = histogram(e, -hi, hi, bins);
            let w = 2.0 * hi / bins as f64;
            let n = e.len() as f64;
            let pts: Vec<[f64; 2]> = h
                .iter()
                .enumerate()
                .flat_map(|(b, &c)| {
                    let x0 = -hi + b as f64 * w;
                    [[x0, c as f64 / n], [x0 + w, c as f64 / n]]
                })
                .collect();
            pui.line(Line::new(label.as_str(), PlotPoints::from(pts)).color(scheme_color(i + 1)));
        }
    });
    if view.errors.is_empty() {
        ui.weak("(no round yet)");
    }
}

fn mse_rounds(ui: &mut Ui, view: &OtaflView, store: &SeriesStore, settings: &PlotSettings) {
    let mut plot = Plot::new("otafl_mse_rounds")
        .height(200.0)
        .x_axis_label("round")
        .y_axis_label("log10 MSE")
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |pui| {
        for (i, (stem, label)) in view.schemes.iter().enumerate().skip(1) {
            let Some(s) = store.get(&format!("mse_{stem}")) else {
                continue;
            };
            let pts: Vec<[f64; 2]> = s
                .points()
                .into_iter()
                .filter(|p| p[1] > 0.0)
                .map(|[x, y]| [x, y.log10()])
                .collect();
            pui.line(Line::new(label.as_str(), PlotPoints::from(pts)).color(scheme_color(i)));
        }
    });
}

fn sweep_plot(ui: &mut Ui, view: &OtaflView, settings: &PlotSettings) {
    let mut plot = Plot::new("otafl_sweep")
        .height(220.0)
        .x_axis_label("client power (dBm)")
        .y_axis_label("log10 MSE")
        .include_x(-10.0)
        .include_x(20.0)
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |pui| {
        for (i, (label, vals)) in view.sweep.iter().enumerate() {
            let pts: Vec<[f64; 2]> = view
                .sweep_dbm
                .iter()
                .zip(vals)
                .filter_map(|(p, v)| v.filter(|v| *v > 0.0).map(|v| [*p, v.log10()]))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let c = scheme_color(i + 1);
            pui.line(Line::new(label.as_str(), PlotPoints::from(pts.clone())).color(c));
            pui.points(Points::new("", PlotPoints::from(pts)).color(c).radius(3.0));
        }
    });
    let done = view
        .sweep
        .first()
        .map_or(0, |s| s.1.iter().filter(|v| v.is_some()).count());
    ui.weak(format!(
        "{done} of {} powers computed; the knob's power is marked on the accuracy chart.",
        view.sweep_dbm.len()
    ));
}
