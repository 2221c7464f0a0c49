//! The GLOM panel: the input with its parts drawn, island maps per level with an iteration
//! scrubber, the location-by-location similarity matrix, curves over training, and the
//! evaluation curves (attention vs T = 0 against ambiguity, noise and out-of-distribution poses).

use egui::{Color32, Pos2, Rect, RichText, Sense, Shape, Stroke, Ui, Vec2, pos2, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::glom::{CLASS_NAMES, Curve, GlomView, SampleView};

use crate::widgets::{PlotSettings, metric_plot, palette};

/// Side of one map, in points.
const MAP: f32 = 200.0;

/// Draws the whole GLOM panel.
pub fn show(ui: &mut Ui, view: &GlomView, store: &SeriesStore, settings: &PlotSettings) {
    let pct = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{:.1}%", 100.0 * a));
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("step {} / {}", view.step, view.planned));
        ui.separator();
        ui.label(format!(
            "T = {}, {} levels, beta = {:.1}, ambiguity {:.2}, noise {:.2}",
            view.iterations, view.levels, view.beta, view.ambiguity, view.noise
        ));
        ui.separator();
        ui.label(RichText::new(format!("accuracy with attention {}", pct(view.acc_attn))).strong());
        ui.label(RichText::new(format!("T=0 accuracy {}", pct(view.acc_t0))).strong());
        if let Some(s) = view.island_by_iter.last() {
            ui.label(RichText::new(format!("island score {s:.3}")).strong());
        }
    });
    ui.weak(format!(
        "Held-out: {} images at ambiguity 0.5, never trained on; accuracy counts object locations.",
        view.test_images
    ));

    ui.add_space(4.0);
    ui.heading("Islands of agreement");
    match &view.sample {
        None => {
            ui.weak("(shown after the first evaluation)");
        }
        Some(s) => sample_section(ui, s),
    }

    ui.add_space(6.0);
    let half = (ui.available_width() / 2.0 - 8.0).max(150.0);
    let exact = PlotSettings {
        smoothing: 0.0,
        ..settings.clone()
    };
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Held-out accuracy (ambiguity 0.5)");
            metric_plot(
                ui,
                "glom_acc",
                store,
                &[
                    ("acc_attn", "GLOM, T iterations with attention"),
                    ("acc_t0", "T = 0 baseline"),
                    ("acc_noise", "GLOM at the noise knob"),
                ],
                &exact,
                "accuracy",
                170.0,
            );
        });
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Held-out island score (object level)");
            metric_plot(
                ui,
                "glom_island",
                store,
                &[
                    ("island_score", "after the last iteration"),
                    ("island_score_iter0", "after the bottom-up pass"),
                ],
                &exact,
                "within - between cosine",
                170.0,
            );
        });
    });
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Training loss");
            metric_plot(
                ui,
                "glom_loss",
                store,
                &[("loss", "GLOM"), ("loss_t0", "T = 0 baseline")],
                settings,
                "loss",
                150.0,
            );
        });
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Island score by iteration (latest evaluation)");
            let pts: Vec<[f64; 2]> = view
                .island_by_iter
                .iter()
                .enumerate()
                .map(|(t, &v)| [t as f64, v])
                .collect();
            Plot::new("glom_island_iter")
                .height(150.0)
                .x_axis_label("iteration")
                .y_axis_label("island score")
                .allow_scroll(false)
                .show(ui, |pui| {
                    pui.line(Line::new("island score", PlotPoints::from(pts.clone())));
                    pui.points(Points::new("iterations", PlotPoints::from(pts)).radius(3.0));
                });
        });
    });

    ui.add_space(6.0);
    ui.heading("Evaluation");
    match &view.curves {
        None => {
            ui.weak("(computed at the end of the run, or at every evaluation when enabled)");
        }
        Some(c) => {
            ui.weak(format!(
                "At step {}. Every point is a fresh held-out set. GLOM runs T = {} iterations; \
                 the baseline is a separate model trained with T = 0 on the same batches.",
                c.step, view.iterations
            ));
            let third = (ui.available_width() / 3.0 - 8.0).max(140.0);
            ui.horizontal(|ui| {
                for (id, title, x_label, curve) in [
                    (
                        "glom_ev_amb",
                        "Accuracy vs ambiguity",
                        "ambiguity",
                        &c.ambiguity,
                    ),
                    (
                        "glom_ev_noise",
                        "Accuracy vs input noise (ambiguity 0.5)",
                        "noise sigma",
                        &c.noise,
                    ),
                    (
                        "glom_ev_ood",
                        "Accuracy vs unseen pose strength (ambiguity 0.5)",
                        "OOD strength",
                        &c.ood,
                    ),
                ] {
                    ui.vertical(|ui| {
                        ui.set_width(third);
                        ui.strong(title);
                        curve_plot(ui, id, x_label, curve, settings, third);
                    });
                }
            });
        }
    }
}

fn curve_plot(ui: &mut Ui, id: &str, x_label: &str, c: &Curve, s: &PlotSettings, width: f32) {
    let mut plot = Plot::new(id)
        .height(170.0)
        .width(width)
        .x_axis_label(x_label)
        .y_axis_label("accuracy")
        .include_y(0.0)
        .include_y(1.0)
        .allow_scroll(false);
    if s.show_legend {
        plot = plot.legend(Legend::default());
    }
    let pts = |ys: &[f64]| -> Vec<[f64; 2]> { c.x.iter().zip(ys).map(|(&x, &y)| [x, y]).collect() };
    plot.show(ui, |pui| {
        for (i, (name, ys)) in [("GLOM (attention)", &c.attn), ("T = 0", &c.t0)]
            .into_iter()
            .enumerate()
        {
            if ys.is_empty() {
                continue;
            }
            pui.line(Line::new(name, PlotPoints::from(pts(ys))).color(palette(i)));
            pui.points(
                Points::new(name, PlotPoints::from(pts(ys)))
                    .color(palette(i))
                    .radius(3.0),
            );
        }
        pui.hline(
            egui_plot::HLine::new("chance", 1.0 / CLASS_NAMES.len() as f64)
                .color(Color32::from_gray(120))
                .style(egui_plot::LineStyle::dashed_loose()),
        );
    });
}

fn sample_section(ui: &mut Ui, s: &SampleView) {
    let iters = s.sim.len().max(1);
    let id = ui.scope_id().with("glom_iteration_scrubber");
    let mut t: usize = ui.data(|d| d.get_temp(id)).unwrap_or(iters - 1);
    t = t.min(iters - 1);
    ui.horizontal(|ui| {
        let label = ui.label("iteration");
        ui.add(egui::Slider::new(&mut t, 0..=iters - 1).text("of the sample below"))
            .labelled_by(label.id);
        ui.weak("0 = after the bottom-up pass only, before any attention");
    });
    ui.data_mut(|d| d.insert_temp(id, t));
    let right = |p: &[u8]| {
        let (mut r, mut n) = (0, 0);
        for (c, &lab) in s.label.iter().enumerate() {
            if (0..CLASS_NAMES.len() as i32).contains(&lab) {
                n += 1;
                r += usize::from(p.get(c).is_some_and(|&q| q as i32 == lab));
            }
        }
        (r, n)
    };
    let (r, n) = right(&s.pred);
    let mut line = format!("This image: GLOM right at {r}/{n} object locations");
    if let Some(p0) = &s.pred_t0 {
        let (r0, _) = right(p0);
        line.push_str(&format!(", T=0 baseline {r0}/{n}"));
    }
    if let Some(v) = s.island.get(t) {
        line.push_str(&format!("; island score at iteration {t}: {v:.3}"));
    }
    ui.label(line);
    ui.horizontal_wrapped(|ui| {
        ui.vertical(|ui| {
            ui.strong("input: parts");
            input_map(ui, s);
            legend_line(ui, s);
        });
        for (lv, per_iter) in s.colors.iter().enumerate() {
            let name = match (lv, s.colors.len()) {
                (0, _) => "level 1 (parts)".to_string(),
                (l, n) if l + 1 == n => format!("level {} (objects)", l + 1),
                (l, _) => format!("level {}", l + 1),
            };
            ui.vertical(|ui| {
                ui.strong(name);
                if let Some(cols) = per_iter.get(t) {
                    island_map(ui, s, cols);
                }
            });
        }
        ui.vertical(|ui| {
            ui.strong("object-level similarity");
            if let Some(m) = s.sim.get(t) {
                sim_matrix(ui, s, m);
            }
            ui.weak("occupied locations: object 1, object 2, distractors");
            ui.weak("red: similar, blue: opposite, black: unrelated");
        });
    });
}

fn legend_line(ui: &mut Ui, s: &SampleView) {
    let mut classes: Vec<(i32, i32)> = Vec::new();
    for (&o, &l) in s.object.iter().zip(&s.label) {
        if o >= 0 && !classes.contains(&(o, l)) {
            classes.push((o, l));
        }
    }
    classes.sort();
    for (o, l) in classes {
        let name = CLASS_NAMES.get(l as usize).copied().unwrap_or("?");
        ui.colored_label(palette(o as usize), format!("object {}: {name}", o + 1));
    }
    ui.colored_label(Color32::from_gray(150), "grey: distractor parts");
}

fn grid_rect(ui: &mut Ui) -> (Rect, egui::Painter) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(MAP), Sense::hover());
    let painter = ui.painter_at(rect);
    (rect, painter)
}

fn cell_rect(rect: Rect, grid: usize, c: usize) -> Rect {
    let w = rect.width() / grid as f32;
    let (x, y) = ((c % grid) as f32, (c / grid) as f32);
    Rect::from_min_size(rect.min + vec2(x * w, y * w), Vec2::splat(w))
}

fn input_map(ui: &mut Ui, s: &SampleView) {
    let (rect, p) = grid_rect(ui);
    p.rect_filled(rect, 0.0, Color32::from_gray(20));
    let g = s.grid.max(1);
    let w = rect.width() / g as f32;
    for c in 0..g * g {
        p.rect_stroke(
            cell_rect(rect, g, c),
            0.0,
            Stroke::new(0.5, Color32::from_gray(50)),
            egui::StrokeKind::Inside,
        );
    }
    for part in &s.parts {
        let color = if part.object >= 0 {
            palette(part.object as usize)
        } else {
            Color32::from_gray(150)
        };
        let centre = rect.min + vec2(part.x * w, part.y * w);
        let a = (part.size * w).clamp(2.0, w * 0.9);
        let b = (a / part.aspect.max(1.0)).max(1.5);
        p.add(ellipse(centre, a, b, part.angle, color));
    }
}

/// A rotated ellipse as a convex polygon (egui's ellipse shape has no rotation).
fn ellipse(c: Pos2, a: f32, b: f32, angle: f32, color: Color32) -> Shape {
    let (sin, cos) = angle.sin_cos();
    let pts: Vec<Pos2> = (0..24)
        .map(|k| {
            let t = k as f32 / 24.0 * std::f32::consts::TAU;
            let (x, y) = (a * t.cos(), b * t.sin());
            pos2(c.x + cos * x - sin * y, c.y + sin * x + cos * y)
        })
        .collect();
    Shape::convex_polygon(pts, color.gamma_multiply(0.8), Stroke::new(1.0, color))
}

fn island_map(ui: &mut Ui, s: &SampleView, cols: &[[u8; 3]]) {
    let (rect, p) = grid_rect(ui);
    let g = s.grid.max(1);
    for (c, rgb) in cols.iter().enumerate().take(g * g) {
        let r = cell_rect(rect, g, c);
        p.rect_filled(
            r.shrink(0.5),
            0.0,
            Color32::from_rgb(rgb[0], rgb[1], rgb[2]),
        );
        // Outline object locations in their object's colour so islands can be checked by eye.
        if let Some(&o) = s.object.get(c)
            && o >= 0
        {
            p.rect_stroke(
                r.shrink(0.5),
                0.0,
                Stroke::new(1.0, palette(o as usize)),
                egui::StrokeKind::Inside,
            );
        }
    }
}

/// Occupied locations sorted: object 1, object 2, distractors (empty ones are left out: they
/// would fill most of the matrix and say nothing about islands).
fn order(s: &SampleView) -> Vec<usize> {
    let key = |c: usize| match (s.object[c], s.label[c]) {
        (o, _) if o >= 0 => o,
        _ => 2,
    };
    let mut idx: Vec<usize> = (0..s.object.len().min(s.label.len()))
        .filter(|&c| s.label[c] >= 0)
        .collect();
    idx.sort_by_key(|&c| (key(c), c));
    idx
}

fn sim_matrix(ui: &mut Ui, s: &SampleView, m: &[f32]) {
    let (rect, p) = grid_rect(ui);
    let idx = order(s);
    let k = idx.len();
    let n = s.label.len();
    if k == 0 || m.len() < n * n {
        return;
    }
    let w = rect.width() / k as f32;
    for (i, &a) in idx.iter().enumerate() {
        for (j, &b) in idx.iter().enumerate() {
            let v = m[a * n + b].clamp(-1.0, 1.0);
            // Red for similar, blue for opposite, black for unrelated.
            let color = if v >= 0.0 {
                Color32::from_rgb((255.0 * v) as u8, (60.0 * v) as u8, (40.0 * v) as u8)
            } else {
                Color32::from_rgb(0, (90.0 * -v) as u8, (255.0 * -v) as u8)
            };
            let r =
                Rect::from_min_size(rect.min + vec2(j as f32 * w, i as f32 * w), Vec2::splat(w));
            p.rect_filled(r, 0.0, color);
        }
    }
}
