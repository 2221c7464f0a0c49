//! The HetNet power-control panel: a cell map (APs shaded by power, users, links coloured by
//! SINR), PQL and IDQN sum rates normalised by WMMSE with the reference methods as flat lines,
//! policy-change rates, and per-agent action histograms.

use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2, pos2, vec2};
use egui_plot::{Bar, BarChart, HLine, Legend, Line, Plot, PlotPoints};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::hetnet::{HetnetView, MethodSlot};
use trainscope_engine::series::smoothed;
use trainscope_engine::wireless::Tier;

use crate::widgets::{PlotSettings, palette};

/// SINR range of the link colour scale, dB.
const SINR_LO: f64 = -10.0;
const SINR_HI: f64 = 40.0;

/// Colour of a link with this SINR: red (poor) through yellow to green (good).
fn sinr_color(db: f64) -> Color32 {
    let t = ((db - SINR_LO) / (SINR_HI - SINR_LO)).clamp(0.0, 1.0) as f32;
    let (r, g) = if t < 0.5 {
        (1.0, 2.0 * t)
    } else {
        (2.0 * (1.0 - t), 1.0)
    };
    Color32::from_rgb((40.0 + 215.0 * r) as u8, (40.0 + 200.0 * g) as u8, 50)
}

/// Fill of an AP disk at power-level share `t` in [0, 1] (0 = off): dark blue-grey to amber.
fn power_color(t: f32) -> Color32 {
    let lerp = |a: f32, b: f32| (a + (b - a) * t) as u8;
    Color32::from_rgb(lerp(45.0, 255.0), lerp(50.0, 200.0), lerp(70.0, 40.0))
}

/// The level index closest (in dB) to power `p` among `levels` (index 0 is off).
fn level_of(p: f64, levels: &[f64]) -> usize {
    if p <= 0.0 || levels.len() < 2 {
        return 0;
    }
    let db = |x: f64| 10.0 * x.log10();
    let mut best = 1;
    for (i, &l) in levels.iter().enumerate().skip(1) {
        if (db(l) - db(p)).abs() < (db(levels[best]) - db(p)).abs() {
            best = i;
        }
    }
    // Continuous powers far below the lowest level count as off.
    if db(p) < db(levels[1]) - 10.0 {
        0
    } else {
        best
    }
}

/// Draws the whole HetNet panel.
pub fn show(ui: &mut Ui, view: &HetnetView, store: &SeriesStore, settings: &PlotSettings) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "episode {} of {}, slot {} of {}",
            (view.episode + 1).min(view.episodes),
            view.episodes,
            view.slot,
            view.slots_per_episode
        ));
        ui.separator();
        ui.label(format!("ε = {:.3}", view.epsilon));
        ui.separator();
        ui.label(format!(
            "PQL λ = {:.2} ({} penalty)",
            view.lambda, view.pql_form
        ));
        ui.separator();
        ui.label(format!("reward: {}", view.reward));
    });
    if !view.slot_methods.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label("sum rate this slot (bit/s/Hz):");
            for m in &view.slot_methods {
                ui.label(RichText::new(format!("{} {:.1}", m.name, m.sum_rate)).strong());
            }
        });
    }

    ui.add_space(4.0);
    let id = ui.make_persistent_id("hetnet_map_method");
    let mut chosen: usize = ui.data(|d| d.get_temp(id)).unwrap_or(0);
    ui.horizontal(|ui| {
        ui.strong("Cell map, powers of:");
        for (i, m) in view.slot_methods.iter().enumerate().take(3) {
            ui.selectable_value(&mut chosen, i, m.name.as_str());
        }
    });
    ui.data_mut(|d| d.insert_temp(id, chosen));
    ui.horizontal(|ui| {
        let side = (ui.available_width() * 0.45).clamp(220.0, 420.0);
        if let Some(m) = view.slot_methods.get(chosen) {
            cell_map(ui, view, m, side);
        }
        ui.vertical(|ui| {
            map_legend(ui);
            ui.add_space(6.0);
            ui.label(
                "Large disk: the macro base station (46 dBm); small disks: small-cell access \
                 points (30 dBm); faint circles: where each small cell's user may be. Dots are \
                 users, each linked to its AP. Users jump to new places at every episode start; \
                 fading changes every slot. Each AP decides its own power from local \
                 measurements only.",
            );
        });
    });

    ui.add_space(6.0);
    ui.strong("Sum rate / WMMSE's on the same channels, per episode");
    ratio_plot(ui, view, store, settings);

    ui.add_space(4.0);
    ui.strong(format!(
        "Policy drift: share of the states an agent visited whose greedy power differs from \
         {} episodes before (solid); fixed random probe set vs the previous episode (thin)",
        view.drift_window
    ));
    let pts = |name: &str| {
        store
            .get(name)
            .map(|s| to_episodes(&s.points(), view.slots_per_episode))
            .unwrap_or_default()
    };
    let mut plot = Plot::new("hetnet_policy_change")
        .height(140.0)
        .x_axis_label("episode")
        .y_axis_label("changed share")
        .include_y(0.0)
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |pui| {
        for (k, stem, label) in [(0, "pql", "PQL"), (1, "idqn", "IDQN")] {
            for (suffix, what, width) in [
                ("_policy_change_visited_episode", "visited", 2.0),
                ("_policy_change_episode", "fixed probe", 0.8),
            ] {
                let p = pts(&format!("{stem}{suffix}"));
                if !p.is_empty() {
                    pui.line(
                        Line::new(format!("{label}, {what}"), PlotPoints::from(p))
                            .color(palette(k))
                            .width(width),
                    );
                }
            }
        }
    });

    ui.add_space(4.0);
    ui.strong("Power levels chosen per agent in the last episode (0 = off, top = Pmax)");
    action_histograms(ui, view, settings);
}

fn to_episodes(points: &[[f64; 2]], slots: usize) -> Vec<[f64; 2]> {
    points
        .iter()
        .map(|&[x, y]| [x / slots.max(1) as f64, y])
        .collect()
}

fn ratio_plot(ui: &mut Ui, view: &HetnetView, store: &SeriesStore, settings: &PlotSettings) {
    let mut plot = Plot::new("hetnet_ratio")
        .height(240.0)
        .x_axis_label("episode")
        .y_axis_label("sum rate / WMMSE")
        .include_y(0.0)
        .include_y(1.05)
        .allow_scroll(false);
    if settings.show_legend {
        // Bottom right: late episodes sit near 1, so the legend there hides the least.
        // PickFirst: the smoothed line (drawn first) gives each method's entry its colour.
        plot = plot.legend(
            Legend::default()
                .position(egui_plot::Corner::RightBottom)
                .color_conflict_handling(egui_plot::ColorConflictHandling::PickFirst),
        );
    }
    let pts = |name: &str| {
        store
            .get(name)
            .map(|s| to_episodes(&s.points(), view.slots_per_episode))
            .unwrap_or_default()
    };
    plot.show(ui, |pui| {
        for (k, (name, label)) in [("pql_ratio_episode", "PQL"), ("idqn_ratio_episode", "IDQN")]
            .into_iter()
            .enumerate()
        {
            let p = pts(name);
            if p.is_empty() {
                continue;
            }
            let color = palette(k);
            // The smoothed line goes first so the legend entry takes its full colour; the raw
            // per-episode line shares its name, so each method has one legend entry.
            let smooth = settings.smooths(p.len());
            if smooth {
                pui.line(
                    Line::new(label, PlotPoints::from(smoothed(&p, settings.smoothing)))
                        .color(color)
                        .width(2.0),
                );
            }
            if settings.show_raw || !smooth {
                let raw = if smooth {
                    color.gamma_multiply(0.35)
                } else {
                    color
                };
                pui.line(Line::new(label, PlotPoints::from(p)).color(raw));
            }
        }
        pui.hline(
            HLine::new("WMMSE = 1", 1.0)
                .color(Color32::WHITE)
                .width(1.5),
        );
        // The references do not learn: their running mean over the last tenth of the run.
        for (k, (name, label)) in [
            ("fp_wmmse_ratio", "FP"),
            ("max_wmmse_ratio", "max power"),
            ("random_wmmse_ratio", "random power"),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some([_, y]) = store.get(name).and_then(|s| s.last()) {
                pui.hline(
                    HLine::new(format!("{label} ({y:.2})"), y)
                        .color(palette(k + 2))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
        }
    });
    if store.get("pql_ratio_episode").is_none() {
        ui.weak("(the first point appears when the first episode ends)");
    }
}

fn cell_map(ui: &mut Ui, view: &HetnetView, method: &MethodSlot, side: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_rgb(18, 20, 26));
    let r_world = view.cell_radius_m * 1.08;
    let scale = (side / 2.0) / r_world as f32;
    let c = rect.center();
    let to = |x: f64, y: f64| -> Pos2 { pos2(c.x + x as f32 * scale, c.y - y as f32 * scale) };
    painter.circle_stroke(
        c,
        view.cell_radius_m as f32 * scale,
        Stroke::new(1.0, Color32::from_gray(110)),
    );
    for ap in view.aps.iter().filter(|a| a.tier == Tier::Small) {
        painter.circle_stroke(
            to(ap.pos.x, ap.pos.y),
            view.small_cell_radius_m as f32 * scale,
            Stroke::new(1.0, Color32::from_gray(60)),
        );
    }
    for (k, (ap, u)) in view.aps.iter().zip(&view.users).enumerate() {
        let s = method.sinr_db.get(k).copied().unwrap_or(SINR_LO);
        let on = method.powers_w.get(k).copied().unwrap_or(0.0) > 0.0;
        let stroke = if on {
            Stroke::new(2.5, sinr_color(s))
        } else {
            Stroke::new(1.0, Color32::from_gray(80))
        };
        painter.line_segment([to(ap.pos.x, ap.pos.y), to(u.x, u.y)], stroke);
    }
    for u in &view.users {
        painter.circle_filled(to(u.x, u.y), 3.5, Color32::from_gray(235));
    }
    for (k, ap) in view.aps.iter().enumerate() {
        let levels = view.levels.get(k).map(Vec::as_slice).unwrap_or(&[]);
        let lvl = level_of(method.powers_w.get(k).copied().unwrap_or(0.0), levels);
        let t = lvl as f32 / (levels.len().max(2) - 1) as f32;
        let radius = if ap.tier == Tier::Macro { 13.0 } else { 9.0 };
        let p = to(ap.pos.x, ap.pos.y);
        painter.circle(p, radius, power_color(t), Stroke::new(1.5, Color32::WHITE));
        painter.text(
            p + vec2(radius + 3.0, -radius),
            Align2::LEFT_BOTTOM,
            if k == 0 {
                "macro".to_string()
            } else {
                format!("AP{k}")
            },
            FontId::proportional(11.0),
            Color32::from_gray(200),
        );
    }
    painter.text(
        rect.left_bottom() + vec2(6.0, -6.0),
        Align2::LEFT_BOTTOM,
        format!("{} · cell radius {:.0} m", method.name, view.cell_radius_m),
        FontId::proportional(12.0),
        Color32::from_gray(200),
    );
}

fn color_bar(ui: &mut Ui, title: &str, lo: &str, hi: &str, color: impl Fn(f32) -> Color32) {
    ui.label(title);
    ui.horizontal(|ui| {
        ui.label(lo);
        let (rect, _) = ui.allocate_exact_size(vec2(160.0, 14.0), Sense::hover());
        let painter = ui.painter_at(rect);
        let n = 40;
        for i in 0..n {
            let t = i as f32 / (n - 1) as f32;
            let x0 = rect.left() + rect.width() * i as f32 / n as f32;
            let r = Rect::from_min_max(
                pos2(x0, rect.top()),
                pos2(x0 + rect.width() / n as f32 + 0.5, rect.bottom()),
            );
            painter.rect_filled(r, 0.0, color(t));
        }
        ui.label(hi);
    });
}

fn map_legend(ui: &mut Ui) {
    color_bar(
        ui,
        "Link colour: SINR at the user (dB); grey = AP off",
        &format!("{SINR_LO:.0}"),
        &format!("{SINR_HI:.0}+"),
        |t| sinr_color(SINR_LO + t as f64 * (SINR_HI - SINR_LO)),
    );
    color_bar(
        ui,
        "AP fill: transmit power level",
        "off",
        "Pmax",
        power_color,
    );
}

fn action_histograms(ui: &mut Ui, view: &HetnetView, settings: &PlotSettings) {
    let n = view.aps.len().max(1);
    let w = ((ui.available_width() - 6.0 * (n as f32 - 1.0)) / n as f32).max(90.0);
    ui.horizontal_wrapped(|ui| {
        for k in 0..n {
            ui.vertical(|ui| {
                ui.set_width(w);
                ui.label(if k == 0 {
                    "macro BS".to_string()
                } else {
                    format!("AP{k}")
                });
                let mut plot = Plot::new(("hetnet_actions", k))
                    .height(110.0)
                    .width(w)
                    .include_y(0.0)
                    .allow_scroll(false)
                    .allow_drag(false)
                    .x_axis_label("level");
                if settings.show_legend && k == 0 {
                    plot = plot.legend(Legend::default());
                }
                plot.show(ui, |pui| {
                    for (m, lv) in view.learners.iter().enumerate() {
                        let Some(counts) = lv.action_counts.get(k) else {
                            continue;
                        };
                        let off = if m == 0 { -0.2 } else { 0.2 };
                        let bars = counts
                            .iter()
                            .enumerate()
                            .map(|(a, &c)| {
                                Bar::new(a as f64 + off, c as f64)
                                    .width(0.4)
                                    .fill(palette(m).gamma_multiply(0.8))
                            })
                            .collect();
                        pui.bar_chart(BarChart::new(lv.name.as_str(), bars).color(palette(m)));
                    }
                });
            });
        }
    });
}
