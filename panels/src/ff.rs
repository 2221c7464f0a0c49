//! The Forward-Forward panel: goodness histograms per layer with θ marked, test error of FF and
//! backprop over training, losses, and a strip of test digits with FF's per-label goodness.

use egui::{Color32, Rect, RichText, Sense, Ui, Vec2, pos2, vec2};
use egui_plot::{Bar, BarChart, Legend, Plot, VLine};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::ff::{DigitSample, FfView, Goodness, LayerGoodness, Mode};

use crate::ff_parts;
use crate::widgets::{Curve, NEGATIVE, POSITIVE, PlotSettings, histogram, metric_curves};

/// Colour of Forward-Forward curves.
const FF_COLOR: Color32 = Color32::from_rgb(76, 160, 255);
/// Colour of backprop curves.
const BP_COLOR: Color32 = Color32::from_rgb(255, 140, 60);

const BINS: usize = 40;

/// A header figure: the full evaluation's value when there is one, else the running
/// estimate's latest point (marked as an estimate, with its subset and step; `digits` = 0 for
/// a second figure on the same subset), else a dash.
pub fn error_text(
    label: &str,
    full: Option<f64>,
    estimate: Option<[f64; 2]>,
    digits: usize,
) -> String {
    match (full, estimate) {
        (Some(e), _) => format!("{label} {:.2}%", 100.0 * e),
        (None, Some([_, e])) if digits == 0 => {
            format!("{label} ~{:.1}% (estimate, same digits)", 100.0 * e)
        }
        (None, Some([step, e])) => format!(
            "{label} ~{:.1}% (estimate: first {digits} test digits, step {step})",
            100.0 * e
        ),
        (None, None) => format!("{label} —"),
    }
}

/// Draws the whole FF panel.
pub fn show(ui: &mut Ui, view: &FfView, store: &SeriesStore, settings: &PlotSettings) {
    let pct = |e: Option<f64>| e.map_or("—".to_string(), |e| format!("{:.2}%", 100.0 * e));
    let est = |name: &str| store.get(name).and_then(|s| s.last());
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("epoch {:.2}", view.epoch));
        ui.separator();
        ui.label(format!(
            "train {} / test {} images",
            view.sizes.0, view.sizes.1
        ));
        ui.separator();
        let ff = error_text(
            "FF test error",
            view.test_error,
            est("test_error_est"),
            view.estimate_digits,
        );
        ui.label(RichText::new(ff).strong()).on_hover_text(
            "The full evaluation scores every test digit at `evaluate every` steps; until it \
                 reports, the header shows the running estimate on a fixed subset of test digits \
                 (never trained on), which is noisier.",
        );
        if view.one_pass_test_error.is_some() {
            ui.label(RichText::new(format!("one-pass {}", pct(view.one_pass_test_error))).strong());
        }
        // Unsupervised and recurrent presets may run without the backprop twin.
        if view.bp_test_error.is_some() || view.mode == Mode::Supervised {
            let bp = error_text(
                "BP test error",
                view.bp_test_error,
                est("bp_test_error_est"),
                0,
            );
            ui.label(RichText::new(bp).strong());
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label(match view.mode {
            Mode::Supervised => "Supervised FF (section 3.3): label in the first ten pixels.",
            Mode::Unsupervised => {
                "Unsupervised FF (section 3.2): hybrid negatives; a linear softmax on the \
                 normalised activities reads the class out, with no gradient into the FF net."
            }
            Mode::Recurrent => {
                "Recurrent FF (section 4): each layer listens to the layers below and above; \
                 the label is clamped on top."
            }
        });
        if view.readout_phase {
            ui.label(RichText::new("FF frozen: only the readout trains now").strong());
        }
        if !view.normalize_layers {
            ui.label(
                RichText::new(
                    "Normalisation between layers is OFF: deeper layers can read goodness off \
                     their input's length, so their separation comes for free.",
                )
                .color(NEGATIVE),
            );
        }
    });
    if let Some((all, one)) = view.eval_ms {
        ui.label(format!(
            "Inference on the test digits: all-labels sweep {all:.0} ms, one-pass readout \
             {one:.0} ms ({:.1}x cheaper).",
            all / one.max(1e-9)
        ));
    }

    ui.add_space(4.0);
    ui.heading("Goodness per layer");
    ui.label(match view.mode {
        Mode::Unsupervised => {
            "Recent training batches. Green: real digits (positive). Red: hybrid images of two \
             digits (negative). Training pushes green above θ and red below it."
        }
        _ => {
            "Recent training batches. Green: image with its true label (positive). Red: the same \
             image with a wrong label (negative). Training pushes green above θ and red below it."
        }
    });
    let n = view.layers.len().max(1) as f32;
    let w = ((ui.available_width() - 8.0 * (n - 1.0)) / n).max(120.0);
    ui.horizontal(|ui| {
        for (i, layer) in view.layers.iter().enumerate() {
            ui.vertical(|ui| {
                ui.set_width(w);
                let theta = view.thresholds.get(i).copied().unwrap_or(f64::NAN);
                goodness_histogram(ui, i, layer, theta, view.goodness, settings, w);
            });
        }
    });

    ui.add_space(4.0);
    let half = (ui.available_width() / 2.0 - 8.0).max(150.0);
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Test error (held-out test digits)");
            if store.get("test_error").is_none() {
                ui.weak(if store.get("test_error_est").is_some() {
                    "(faint lines: running estimate on a fixed subset of test digits; the full \
                     evaluation comes after `evaluate every` steps, or press Evaluate)"
                } else {
                    "(the first evaluation comes after `evaluate every` steps, or press Evaluate)"
                });
            }
            metric_curves(
                ui,
                "ff_test_error",
                store,
                &[
                    Curve::new("test_error", main_readout(view.mode)).color(FF_COLOR),
                    Curve::new("one_pass_test_error", "FF one-pass readout")
                        .color(FF_COLOR)
                        .dashed(true),
                    Curve::new("bp_test_error", "backprop").color(BP_COLOR),
                    Curve::new("test_error_est", "FF, estimate (test subset)")
                        .color(FF_COLOR.gamma_multiply(0.5)),
                    Curve::new("bp_test_error_est", "backprop, estimate (test subset)")
                        .color(BP_COLOR.gamma_multiply(0.5)),
                ],
                &PlotSettings {
                    smoothing: 0.0,
                    ..settings.clone()
                },
                "error (fraction)",
                170.0,
            );
        });
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Training loss");
            metric_curves(
                ui,
                "ff_loss",
                store,
                &[
                    Curve::new("ff_loss", "FF (sum over layers)").color(FF_COLOR),
                    Curve::new("readout_loss", "softmax readout cross-entropy")
                        .color(FF_COLOR)
                        .dashed(true),
                    Curve::new("bp_loss", "backprop cross-entropy").color(BP_COLOR),
                ],
                settings,
                "loss",
                170.0,
            );
        });
    });

    ui.add_space(4.0);
    ui.strong("Mean goodness per layer");
    ui.label(
        "Green: positive data, red: negative. Solid: odd layers, dashed: even layers; deeper \
         layers are lighter.",
    );
    let names: Vec<(String, String, bool, usize)> = (1..=view.layers.len())
        .flat_map(|l| {
            [
                (
                    format!("goodness_pos_l{l}"),
                    format!("layer {l} positive"),
                    true,
                    l,
                ),
                (
                    format!("goodness_neg_l{l}"),
                    format!("layer {l} negative"),
                    false,
                    l,
                ),
            ]
        })
        .collect();
    let refs: Vec<Curve<'_>> = names
        .iter()
        .map(|(series, label, pos, l)| {
            let base = if *pos { POSITIVE } else { NEGATIVE };
            let t = (*l as f32 - 1.0) / view.layers.len().max(2) as f32;
            Curve::new(series, label)
                .color(base.lerp_to_gamma(Color32::WHITE, 0.6 * t))
                .dashed(l % 2 == 0)
        })
        .collect();
    metric_curves(ui, "ff_goodness", store, &refs, settings, "goodness", 150.0);

    if let Some(table) = &view.iterations {
        ui.add_space(4.0);
        ff_parts::iterations(ui, table, settings.show_legend);
    }
    ui.add_space(4.0);
    ff_parts::examples(ui, view);
    ui.add_space(4.0);
    ff_parts::receptive_fields(ui, view);

    ui.add_space(4.0);
    ui.strong(match view.mode {
        Mode::Unsupervised => "Test digits: the linear readout's probability for each label",
        _ => "Test digits: FF's goodness for each candidate label",
    });
    if view.samples.is_empty() {
        ui.weak("(shown after the first evaluation)");
    } else {
        ui.horizontal_wrapped(|ui| {
            for s in &view.samples {
                digit_card(ui, s);
            }
        });
    }
}

fn goodness_histogram(
    ui: &mut Ui,
    index: usize,
    layer: &LayerGoodness,
    threshold: f64,
    kind: Goodness,
    settings: &PlotSettings,
    width: f32,
) {
    ui.label(format!("layer {}", index + 1));
    let mut all: Vec<f32> = layer
        .pos
        .iter()
        .chain(&layer.neg)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    all.sort_by(|a, b| a.total_cmp(b));
    let quantile = |q: usize| {
        all.get(all.len().saturating_sub(1) * q / 100)
            .copied()
            .map(f64::from)
    };
    // Goodness is >= 0 except for -sum(y^2), which is <= 0: span the data and theta.
    let (lo, hi) = if kind == Goodness::NegSum {
        let p1 = quantile(1).unwrap_or(-1.0);
        (p1.min(threshold * 1.5).min(-1e-3), 0.0)
    } else {
        let p99 = quantile(99).unwrap_or(1.0);
        (0.0, p99.max(threshold * 1.5).max(1e-3))
    };
    let bw = (hi - lo) / BINS as f64;
    let bars = |values: &[f32], color: Color32| {
        histogram(values, lo, hi, BINS)
            .into_iter()
            .enumerate()
            .map(|(b, c)| {
                Bar::new(lo + (b as f64 + 0.5) * bw, c as f64)
                    .width(bw)
                    .fill(color.gamma_multiply(0.6))
            })
            .collect::<Vec<_>>()
    };
    let x_label = match kind {
        Goodness::Mean => "goodness = mean(y²)",
        Goodness::Sum => "goodness = sum(y²)",
        Goodness::NegSum => "goodness = -sum(y²)",
    };
    let mut plot = Plot::new(("ff_hist", index))
        .height(150.0)
        .width(width)
        .x_axis_label(x_label)
        .y_axis_label("examples")
        .allow_scroll(false)
        .include_y(0.0);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |pui| {
        pui.bar_chart(BarChart::new("positive", bars(&layer.pos, POSITIVE)).color(POSITIVE));
        pui.bar_chart(BarChart::new("negative", bars(&layer.neg, NEGATIVE)).color(NEGATIVE));
        pui.vline(
            VLine::new(format!("θ = {threshold:.3}"), threshold)
                .color(Color32::WHITE)
                .width(1.5),
        );
    });
}

fn digit_card(ui: &mut Ui, s: &DigitSample) {
    ui.vertical(|ui| {
        let scale = 2.0;
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(28.0 * scale), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, Color32::BLACK);
        for (i, &p) in s.pixels.iter().enumerate() {
            if p > 0 {
                let (x, y) = ((i % 28) as f32, (i / 28) as f32);
                let min = rect.min + vec2(x * scale, y * scale);
                painter.rect_filled(
                    Rect::from_min_size(min, Vec2::splat(scale)),
                    0.0,
                    Color32::from_gray(p),
                );
            }
        }
        let ok = s.ff_pred == s.label;
        ui.label(
            RichText::new(format!(
                "FF: {} {}",
                s.ff_pred,
                if ok { "(right)" } else { "(wrong)" }
            ))
            .color(if ok { POSITIVE } else { NEGATIVE }),
        );
        if let Some(bp) = s.bp_pred {
            ui.weak(format!("BP: {bp}"));
        }
        // Per-label goodness as ten little bars; the true label's bar is outlined.
        let (bars, resp) = ui.allocate_exact_size(vec2(28.0 * scale, 24.0), Sense::hover());
        let max = s
            .goodness
            .iter()
            .copied()
            .fold(f32::MIN, f32::max)
            .max(1e-6);
        let p = ui.painter_at(bars);
        let bw = bars.width() / 10.0;
        for (c, &g) in s.goodness.iter().enumerate() {
            let h = (g / max).clamp(0.0, 1.0) * bars.height();
            let x0 = bars.min.x + c as f32 * bw;
            let r = Rect::from_min_max(
                pos2(x0 + 0.5, bars.max.y - h),
                pos2(x0 + bw - 0.5, bars.max.y),
            );
            let color = if c == s.ff_pred as usize {
                Color32::from_rgb(76, 160, 255)
            } else {
                Color32::from_gray(120)
            };
            p.rect_filled(r, 0.0, color);
            if c == s.label as usize {
                p.rect_stroke(r, 0.0, (1.0, POSITIVE), egui::StrokeKind::Outside);
            }
        }
        resp.on_hover_text(
            s.goodness
                .iter()
                .enumerate()
                .map(|(c, g)| format!("label {c}: {g:.2}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    });
}

fn main_readout(mode: Mode) -> &'static str {
    match mode {
        Mode::Supervised => "FF (all-labels readout)",
        Mode::Unsupervised => "FF + linear softmax readout",
        Mode::Recurrent => "recurrent FF (goodness, iterations 3-5)",
    }
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn the_header_shows_the_estimate_marked_until_the_full_evaluation() {
        assert_eq!(
            error_text("FF test error", None, None, 500),
            "FF test error —"
        );
        let est = error_text("FF test error", None, Some([400.0, 0.0712]), 500);
        assert_eq!(
            est,
            "FF test error ~7.1% (estimate: first 500 test digits, step 400)"
        );
        assert_eq!(
            error_text("FF test error", Some(0.0254), Some([400.0, 0.07]), 500),
            "FF test error 2.54%"
        );
        assert_eq!(
            error_text("BP test error", None, Some([400.0, 0.05]), 0),
            "BP test error ~5.0% (estimate, same digits)"
        );
    }
}
