//! The GNN power-control panel: the shown held-out network (each link drawn from transmitter to
//! receiver, width and colour = power) under GNN / WMMSE / FP / ..., a K slider that draws a new
//! network and runs the same weights on it, bars of % of WMMSE against K, the inference-time
//! ratio against K on a log axis, the training curve and the over-the-air curve.

use egui::{Align2, Color32, FontId, Pos2, RichText, Sense, Stroke, Ui, Vec2, pos2, vec2};
use egui_plot::{Bar, BarChart, HLine, Legend, Line, Plot, PlotPoints, Points};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::gnn::{GnnAction, GnnView, ShownNetwork};

use crate::Request;
use crate::widgets::{Curve, PlotSettings, metric_curves, palette};

/// Colour of a link at power fraction `t` in [0, 1]: dark grey (off) through blue to amber.
fn power_color(t: f64) -> Color32 {
    let t = t.clamp(0.0, 1.0) as f32;
    let lerp = |a: f32, b: f32| (a + (b - a) * t) as u8;
    Color32::from_rgb(lerp(60.0, 255.0), lerp(70.0, 190.0), lerp(95.0, 30.0))
}

/// Draws the whole GNN panel; returns the requests of its K slider and "new network" button.
pub fn show(
    ui: &mut Ui,
    view: &GnnView,
    store: &SeriesStore,
    settings: &PlotSettings,
) -> Vec<Request> {
    let mut requests = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("step {} of {}", view.step, view.planned));
        ui.separator();
        ui.label(format!(
            "GNN: {} weights, {} layers applied, trained at K = {}",
            view.params, view.layers, view.k_train
        ));
        if let Some(m) = view.mlp_params {
            ui.separator();
            ui.label(format!(
                "MLP baseline: {m} weights (K = {} only)",
                view.k_train
            ));
        }
        if let Some(r) = view.val_ratio {
            ui.separator();
            ui.label(RichText::new(format!("validation: GNN {:.1}% of WMMSE", 100.0 * r)).strong());
        }
        if let Some(r) = view.mlp_val_ratio {
            ui.label(format!("MLP {:.1}%", 100.0 * r));
        }
    });
    ui.add_space(4.0);
    if let Some(net) = &view.network {
        network_section(ui, view, net, &mut requests);
    }
    ui.add_space(6.0);
    ui.columns(2, |cols| {
        cols[0].strong(
            "Held-out networks: sum rate as % of multi-start WMMSE, same weights at every K",
        );
        scaling_bars(&mut cols[0], view);
        cols[1].strong("WMMSE time / GNN time per network (log axis)");
        time_plot(&mut cols[1], view);
    });
    ui.add_space(6.0);
    ui.columns(2, |cols| {
        cols[0].strong(format!(
            "Training: validation sum rate / WMMSE's (K = {})",
            view.k_train
        ));
        let curves = [
            Curve::new("val_ratio_gnn", "GNN (max)"),
            Curve::new("val_ratio_mlp", "MLP"),
            Curve::new("val_ratio_mean_twin", "GNN (mean)"),
        ];
        metric_curves(
            &mut cols[0],
            "gnn_val",
            store,
            &curves,
            settings,
            "fraction of WMMSE",
            200.0,
        );
        cols[1].strong("Com4GNN: mean-aggregation GNN with its messages over the air");
        air_plot(&mut cols[1], view, settings);
    });
    requests
}

fn network_section(ui: &mut Ui, view: &GnnView, net: &ShownNetwork, requests: &mut Vec<Request>) {
    let id = ui.make_persistent_id("gnn_map_method");
    let mut chosen: String = ui
        .data(|d| d.get_temp(id))
        .unwrap_or_else(|| "GNN".to_string());
    if !net.methods.iter().any(|m| m.name == chosen) {
        chosen = "GNN".into();
    }
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("Held-out network, K = {} links; powers of:", net.k));
        for m in &net.methods {
            ui.selectable_value(&mut chosen, m.name.clone(), m.name.as_str());
        }
    });
    ui.data_mut(|d| d.insert_temp(id, chosen.clone()));
    ui.horizontal(|ui| {
        let mut k = net.k as i64;
        let label = ui.label("K at evaluation:");
        let slider = ui
            .add(
                egui::Slider::new(&mut k, 2..=300)
                    .logarithmic(true)
                    .text("links"),
            )
            .labelled_by(label.id);
        if slider.drag_stopped() || (slider.changed() && !slider.dragged()) {
            requests.push(Request::Knob(
                "k_view".into(),
                trainscope_engine::KnobValue::Int(k),
            ));
        }
        if ui.button("new network").clicked()
            && let Some(r) = Request::act(&GnnAction::NewNetwork)
        {
            requests.push(r);
        }
        ui.weak("(draws a fresh held-out network; the GNN's weights stay the same)");
    });
    let wmmse = net
        .methods
        .iter()
        .find(|m| m.name == "WMMSE")
        .map(|m| m.sum_rate);
    ui.horizontal(|ui| {
        let side = (ui.available_width() * 0.5).clamp(260.0, 460.0);
        if let Some(m) = net.methods.iter().find(|m| m.name == chosen) {
            layout_map(ui, net, &m.powers, &m.name, side);
        }
        ui.vertical(|ui| {
            ui.strong("Sum rate on this network (bit/s/Hz)");
            egui::Grid::new("gnn_rates").striped(true).show(ui, |ui| {
                for m in &net.methods {
                    ui.label(&m.name);
                    ui.label(format!("{:.1}", m.sum_rate));
                    match wmmse {
                        Some(w) if w > 0.0 => {
                            ui.label(format!("{:.1}% of WMMSE", 100.0 * m.sum_rate / w))
                        }
                        _ => ui.label(""),
                    };
                    ui.end_row();
                }
            });
            ui.add_space(4.0);
            ui.label(format!(
                "GNN inference {:.2} ms · WMMSE (one start) {:.2} ms · WMMSE / GNN {:.2}x",
                net.gnn_ms,
                net.wmmse_ms,
                net.wmmse_ms / net.gnn_ms.max(1e-9)
            ));
            ui.add_space(4.0);
            power_legend(ui);
            ui.label(format!(
                "Each line runs from a transmitter (square) to its receiver (dot); thicker and \
                 brighter = more power. The field grows with K so that link density stays the \
                 same. \"GNN over the air\" is the noise-trained mean-aggregation twin with its \
                 messages sent at {:.0} dB.",
                view.message_snr_db
            ));
        });
    });
}

fn power_legend(ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.label("power:");
        let (rect, _) = ui.allocate_exact_size(vec2(140.0, 14.0), Sense::hover());
        let painter = ui.painter_at(rect);
        for i in 0..28 {
            let t = i as f64 / 27.0;
            let x = rect.left() + 5.0 * i as f32;
            painter.rect_filled(
                egui::Rect::from_min_size(pos2(x, rect.top()), vec2(5.0, 14.0)),
                0.0,
                power_color(t),
            );
        }
        ui.label("0 to Pmax");
    });
}

fn layout_map(ui: &mut Ui, net: &ShownNetwork, powers: &[f64], name: &str, side: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_rgb(18, 20, 26));
    let Some(field) = net.side_m else {
        painter.text(
            rect.center(),
            Align2::CENTER_CENTER,
            "Gaussian interference channel: no positions",
            FontId::proportional(13.0),
            Color32::from_gray(200),
        );
        return;
    };
    let pad = 10.0;
    let scale = (side - 2.0 * pad) / field as f32;
    let to = |x: f64, y: f64| -> Pos2 {
        pos2(
            rect.left() + pad + x as f32 * scale,
            rect.bottom() - pad - y as f32 * scale,
        )
    };
    // Weak links first, so strong ones are drawn on top.
    let mut order: Vec<usize> = (0..net.tx.len()).collect();
    order.sort_by(|&a, &b| {
        let pa = powers.get(a).copied().unwrap_or(0.0);
        let pb = powers.get(b).copied().unwrap_or(0.0);
        pa.total_cmp(&pb)
    });
    let dot = if net.k > 100 { 1.5 } else { 2.5 };
    for &i in &order {
        let p = powers.get(i).copied().unwrap_or(0.0);
        let (a, b) = (to(net.tx[i].x, net.tx[i].y), to(net.rx[i].x, net.rx[i].y));
        painter.line_segment([a, b], Stroke::new(0.8 + 3.2 * p as f32, power_color(p)));
        painter.rect_filled(
            egui::Rect::from_center_size(a, Vec2::splat(2.0 * dot)),
            0.0,
            power_color(p),
        );
        painter.circle_filled(b, dot, Color32::from_gray(230));
    }
    painter.text(
        rect.left_top() + vec2(6.0, 6.0),
        Align2::LEFT_TOP,
        format!("{name} · {:.0} m × {:.0} m", field, field),
        FontId::proportional(12.0),
        Color32::from_gray(210),
    );
}

fn scaling_bars(ui: &mut Ui, view: &GnnView) {
    if view.scaling.is_empty() {
        ui.weak("(after the first evaluation)");
        return;
    }
    // GNN, MLP, FP, greedy, max, random: one group of bars per K.
    let fp = view.baseline_names.iter().position(|n| n == "FP");
    let by = |name: &str| view.baseline_names.iter().position(|n| n == name);
    let series: Vec<(String, Vec<Option<f64>>)> = {
        let mut s = vec![
            (
                "GNN".to_string(),
                view.scaling.iter().map(|r| Some(r.gnn)).collect(),
            ),
            (
                "MLP".to_string(),
                view.scaling.iter().map(|r| r.mlp).collect(),
            ),
        ];
        for (name, idx) in [
            ("FP", fp),
            ("greedy", by("greedy")),
            ("max power", by("max power")),
            ("random", by("random")),
        ] {
            if let Some(i) = idx {
                s.push((
                    name.to_string(),
                    view.scaling
                        .iter()
                        .map(|r| r.baselines.get(i).copied())
                        .collect(),
                ));
            }
        }
        s
    };
    let n = series.len() as f64;
    let width = 0.8 / n;
    // The legend goes above the plot: inside it would cover bars that all reach ~100%.
    ui.horizontal_wrapped(|ui| {
        for (s, (name, _)) in series.iter().enumerate() {
            ui.label(RichText::new(name.as_str()).color(palette(s)).strong());
        }
        ui.weak("(grey line: WMMSE = 100%)");
    });
    let plot = Plot::new("gnn_scaling")
        .height(220.0)
        .x_axis_label("links K (groups)")
        .y_axis_label("% of WMMSE")
        .include_y(0.0)
        .include_y(110.0)
        .allow_scroll(false)
        .x_axis_formatter({
            let ks: Vec<usize> = view.scaling.iter().map(|r| r.k).collect();
            move |m, _| {
                let i = m.value.round();
                if (m.value - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < ks.len() {
                    format!("K={}", ks[i as usize])
                } else {
                    String::new()
                }
            }
        });
    plot.show(ui, |pui| {
        for (s, (name, vals)) in series.iter().enumerate() {
            let bars: Vec<Bar> = vals
                .iter()
                .enumerate()
                .filter_map(|(g, v)| {
                    v.map(|v| {
                        Bar::new(g as f64 - 0.4 + width * (s as f64 + 0.5), 100.0 * v)
                            .width(width * 0.95)
                            .fill(palette(s).gamma_multiply(0.85))
                    })
                })
                .collect();
            pui.bar_chart(BarChart::new(name.as_str(), bars).color(palette(s)));
        }
        pui.hline(HLine::new("WMMSE = 100%", 100.0).color(Color32::from_gray(170)));
    });
}

fn time_plot(ui: &mut Ui, view: &GnnView) {
    let pts: Vec<[f64; 2]> = view
        .scaling
        .iter()
        .filter_map(|r| match (r.gnn_ms, r.wmmse_ms) {
            (Some(g), Some(w)) if g > 0.0 && w > 0.0 => Some([r.k as f64, (w / g).log10()]),
            _ => None,
        })
        .collect();
    let live = view
        .network
        .as_ref()
        .filter(|n| n.gnn_ms > 0.0 && n.wmmse_ms > 0.0)
        .map(|n| [n.k as f64, (n.wmmse_ms / n.gnn_ms).log10()]);
    Plot::new("gnn_time")
        .height(220.0)
        .x_axis_label("links K")
        .y_axis_label("WMMSE time / GNN time")
        .y_axis_formatter(|m, _| format!("{:.0}x", 10f64.powf(m.value)))
        .include_y(0.0)
        .include_y(3.0)
        .include_x(0.0)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .allow_scroll(false)
        .show(ui, |pui| {
            if !pts.is_empty() {
                pui.line(
                    Line::new(
                        "held-out sets (batched GNN, end of run)",
                        PlotPoints::from(pts.clone()),
                    )
                    .color(palette(0))
                    .width(2.0),
                );
                pui.points(
                    Points::new("", PlotPoints::from(pts))
                        .radius(3.0)
                        .color(palette(0)),
                );
            }
            if let Some(p) = live {
                pui.points(
                    Points::new(
                        "shown network (one layout, not batched)",
                        PlotPoints::from(vec![p]),
                    )
                    .radius(5.0)
                    .color(palette(1)),
                );
            }
            pui.hline(HLine::new("100x", 2.0).color(Color32::from_gray(120)));
        });
    if view.scaling.iter().all(|r| r.gnn_ms.is_none()) {
        ui.weak("Held-out timings come at the end of a run (`trainscope run gnn-eval`).");
    }
}

fn air_plot(ui: &mut Ui, view: &GnnView, settings: &PlotSettings) {
    let Some(a) = &view.air else {
        ui.weak("(after the first evaluation, when the twins are trained)");
        return;
    };
    let line = |v: &[f64]| -> Vec<[f64; 2]> {
        a.snr_db
            .iter()
            .zip(v)
            .map(|(&x, &y)| [x, 100.0 * y])
            .collect()
    };
    let mut plot = Plot::new("gnn_air")
        .height(200.0)
        .x_axis_label("message SNR (dB)")
        .y_axis_label("% of WMMSE")
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default().position(egui_plot::Corner::RightBottom));
    }
    plot.show(ui, |pui| {
        pui.line(
            Line::new(
                "trained on clean messages",
                PlotPoints::from(line(&a.clean_trained)),
            )
            .color(palette(0))
            .width(2.0),
        );
        pui.line(
            Line::new(
                format!("trained with noise at {:.0} dB", a.train_snr_db),
                PlotPoints::from(line(&a.noise_trained)),
            )
            .color(palette(1))
            .width(2.0),
        );
        pui.hline(
            HLine::new("mean GNN, clean messages", 100.0 * a.clean_reference)
                .color(palette(0).gamma_multiply(0.5)),
        );
        pui.hline(
            HLine::new("max GNN, clean messages", 100.0 * a.max_reference)
                .color(Color32::from_gray(160)),
        );
    });
}
