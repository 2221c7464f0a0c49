//! Widgets shared by every lab panel.

use std::collections::HashMap;

use egui::{Color32, RichText, Ui};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoint, PlotPoints, Text, VLine};
use trainscope_engine::series::smoothed;
use trainscope_engine::{
    Command, KnobKind, KnobSpec, KnobValue, RunState, Runner, SeriesStore, Status,
};

/// How metric plots are drawn; persisted by the app.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlotSettings {
    /// EMA weight of the smoothed line (0 = off).
    pub smoothing: f64,
    /// Draw the raw series under the smoothed line.
    pub show_raw: bool,
    /// Show plot legends.
    pub show_legend: bool,
}

/// Fewer points than this are drawn as they are: an average over a handful of evaluations
/// mostly shows how far back it reaches, not a trend.
pub const MIN_POINTS_TO_SMOOTH: usize = 30;

impl PlotSettings {
    /// Whether a series of `n` points gets a smoothed line.
    pub fn smooths(&self, n: usize) -> bool {
        self.smoothing > 0.0 && n >= MIN_POINTS_TO_SMOOTH
    }
}

impl Default for PlotSettings {
    fn default() -> Self {
        PlotSettings {
            smoothing: 0.9,
            show_raw: true,
            show_legend: true,
        }
    }
}

/// A colour per series index, readable on dark and light backgrounds.
pub fn palette(i: usize) -> Color32 {
    const P: [Color32; 8] = [
        Color32::from_rgb(76, 160, 255),
        Color32::from_rgb(255, 140, 60),
        Color32::from_rgb(80, 200, 120),
        Color32::from_rgb(230, 80, 90),
        Color32::from_rgb(180, 120, 240),
        Color32::from_rgb(240, 200, 60),
        Color32::from_rgb(90, 210, 210),
        Color32::from_rgb(200, 200, 200),
    ];
    P[i % P.len()]
}

/// Colour of positive data throughout the app.
pub const POSITIVE: Color32 = Color32::from_rgb(80, 200, 120);
/// Colour of negative data throughout the app.
pub const NEGATIVE: Color32 = Color32::from_rgb(230, 80, 90);

/// One line on a [`metric_plot`]: a series, its legend label and optional styling.
#[derive(Debug, Clone, Copy)]
pub struct Curve<'a> {
    /// Series name in the store.
    pub series: &'a str,
    /// Legend label.
    pub label: &'a str,
    /// Fixed colour (default: the palette by position).
    pub color: Option<Color32>,
    /// Draw dashed (e.g. to tell layers apart when colour encodes something else).
    pub dashed: bool,
}

impl<'a> Curve<'a> {
    /// A curve with palette colour.
    pub fn new(series: &'a str, label: &'a str) -> Self {
        Curve {
            series,
            label,
            color: None,
            dashed: false,
        }
    }

    /// With a fixed colour.
    pub fn color(mut self, color: Color32) -> Self {
        self.color = Some(color);
        self
    }

    /// Dashed.
    pub fn dashed(mut self, dashed: bool) -> Self {
        self.dashed = dashed;
        self
    }
}

/// [`metric_curves`] with palette colours: each `(series, label)` one curve.
pub fn metric_plot(
    ui: &mut Ui,
    id: &str,
    store: &SeriesStore,
    series: &[(&str, &str)],
    settings: &PlotSettings,
    y_label: &str,
    height: f32,
) {
    let curves: Vec<Curve<'_>> = series.iter().map(|(s, l)| Curve::new(s, l)).collect();
    metric_curves(ui, id, store, &curves, settings, y_label, height);
}

/// A metric plot: for each curve the raw points (faint) and a smoothed line under one legend
/// entry, plus a dashed vertical marker, labelled at the top, at every knob change.
pub fn metric_curves(
    ui: &mut Ui,
    id: &str,
    store: &SeriesStore,
    curves: &[Curve<'_>],
    settings: &PlotSettings,
    y_label: &str,
    height: f32,
) {
    let mut plot = Plot::new(id)
        .height(height)
        .x_axis_label("step")
        .y_axis_label(y_label)
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    let any = curves.iter().any(|c| store.get(c.series).is_some());
    plot.show(ui, |pui| {
        for (i, c) in curves.iter().enumerate() {
            let Some(s) = store.get(c.series) else {
                continue;
            };
            let pts = s.points();
            let color = c.color.unwrap_or_else(|| palette(i));
            let style = if c.dashed {
                LineStyle::dashed_dense()
            } else {
                LineStyle::Solid
            };
            let smooth = settings.smooths(pts.len());
            if smooth {
                pui.line(
                    Line::new(
                        c.label,
                        PlotPoints::from(smoothed(&pts, settings.smoothing)),
                    )
                    .color(color)
                    .style(style)
                    .width(2.0),
                );
            }
            if settings.show_raw || !smooth {
                let raw_color = if smooth {
                    color.gamma_multiply(0.3)
                } else {
                    color
                };
                // Unnamed when a smoothed line carries the legend entry: egui_plot would
                // otherwise show the faint raw colour in the legend.
                let raw_name = if smooth { "" } else { c.label };
                pui.line(
                    Line::new(raw_name, PlotPoints::from(pts))
                        .color(raw_color)
                        .style(style)
                        .allow_hover(!smooth),
                );
            }
        }
        let top = pui.plot_bounds().max()[1];
        for m in store.markers() {
            pui.vline(
                VLine::new("knob changes", m.step as f64)
                    .color(Color32::from_gray(150))
                    .style(LineStyle::dashed_loose()),
            );
            pui.text(
                Text::new("knob changes", PlotPoint::new(m.step as f64, top), &m.label)
                    .anchor(egui::Align2::LEFT_TOP)
                    .color(Color32::from_gray(170)),
            );
        }
    });
    if !any {
        ui.weak("(no data yet)");
    }
}

/// Step-rate limits offered by the speed control (`None` = as fast as possible).
pub const SPEEDS: [(Option<f64>, &str); 5] = [
    (None, "max"),
    (Some(100.0), "100 steps/s"),
    (Some(30.0), "30 steps/s"),
    (Some(10.0), "10 steps/s"),
    (Some(1.0), "1 step/s"),
];

/// The run bar: play/pause, step, reset, evaluate, speed, backend, step counter and rate.
pub fn run_bar(ui: &mut Ui, runner: &Runner, state: &RunState, backend: &str) {
    ui.horizontal_wrapped(|ui| {
        let running = state.status == Status::Running;
        let ready = !matches!(state.status, Status::Loading | Status::Failed);
        if running {
            if ui
                .button("Pause")
                .on_hover_text("Stop stepping (space)")
                .clicked()
            {
                runner.send(Command::Pause);
            }
        } else if ui
            .add_enabled(ready, egui::Button::new("Play"))
            .on_hover_text("Train continuously (space)")
            .clicked()
        {
            runner.send(Command::Play);
        }
        if ui
            .add_enabled(ready && !running, egui::Button::new("Step"))
            .on_hover_text("Take one step")
            .clicked()
        {
            runner.send(Command::Step(1));
        }
        if ui
            .add_enabled(ready && !running, egui::Button::new("×10"))
            .on_hover_text("Take ten steps")
            .clicked()
        {
            runner.send(Command::Step(10));
        }
        if ui
            .button("Reset")
            .on_hover_text("Rebuild the model from the preset and seed; clears the charts")
            .clicked()
        {
            runner.send(Command::Reset);
        }
        if ui
            .add_enabled(ready, egui::Button::new("Evaluate"))
            .on_hover_text("Run the full evaluation on the held-out test set now")
            .clicked()
        {
            runner.send(Command::Finish);
        }
        ui.separator();
        let current = SPEEDS
            .iter()
            .find(|(r, _)| *r == state.max_rate)
            .map_or("max", |(_, l)| *l);
        egui::ComboBox::from_id_salt("speed")
            .selected_text(format!("speed: {current}"))
            .show_ui(ui, |ui| {
                for (rate, label) in SPEEDS {
                    if ui.selectable_label(state.max_rate == rate, label).clicked() {
                        runner.send(Command::SetSpeed(rate));
                    }
                }
            })
            .response
            .accessible_name("speed limit");
        ui.separator();
        ui.label(RichText::new(format!("backend: {backend}")).monospace());
        ui.separator();
        let planned = state
            .planned_steps
            .map_or(String::new(), |p| format!(" / {p}"));
        ui.label(RichText::new(format!("step {}{planned}", state.step)).monospace());
        ui.label(RichText::new(format!("{:.1} steps/s", state.steps_per_sec)).monospace());
        ui.label(status_text(state.status));
    });
    if let Some(p) = state.planned_steps.filter(|&p| p > 0) {
        let frac = (state.step as f32 / p as f32).min(1.0);
        ui.add(egui::ProgressBar::new(frac).desired_height(4.0));
    }
    if let Some(msg) = &state.message {
        let color = if state.status == Status::Failed {
            ui.visuals().error_fg_color
        } else {
            ui.visuals().warn_fg_color
        };
        ui.colored_label(color, msg);
    }
}

fn status_text(status: Status) -> RichText {
    match status {
        Status::Loading => RichText::new("loading…"),
        Status::Paused => RichText::new("paused"),
        Status::Running => RichText::new("running").color(POSITIVE),
        Status::Finished => RichText::new("finished").color(Color32::from_rgb(76, 160, 255)),
        Status::Failed => RichText::new("failed").color(NEGATIVE),
    }
}

/// Controls for the lab's knobs. Values being edited live in `edits` until the user lets go of
/// the slider, so a drag sends one change rather than one per frame. Returns the change to send.
pub fn knob_editor(
    ui: &mut Ui,
    knobs: &[KnobSpec],
    edits: &mut HashMap<String, f64>,
) -> Option<(String, KnobValue)> {
    let mut out = None;
    egui::Grid::new("knobs").num_columns(2).show(ui, |ui| {
        for k in knobs {
            let label = ui.label(&k.label).on_hover_text(&k.help).id;
            match (&k.kind, &k.value) {
                (KnobKind::Float { min, max, log }, v) => {
                    let current = v.as_f64().unwrap_or(*min);
                    let val = edits.entry(k.name.clone()).or_insert(current);
                    let r = ui
                        .add(
                            egui::Slider::new(val, *min..=*max)
                                .logarithmic(*log)
                                .max_decimals(6),
                        )
                        .labelled_by(label);
                    if (r.changed() && !r.dragged()) || r.drag_stopped() {
                        out = Some((k.name.clone(), KnobValue::Float(*val)));
                    }
                    if !r.dragged() && !r.has_focus() && out.is_none() {
                        *val = current;
                    }
                }
                (KnobKind::Int { min, max }, v) => {
                    let current = v.as_f64().unwrap_or(*min as f64);
                    let val = edits.entry(k.name.clone()).or_insert(current);
                    let r = ui
                        .add(
                            egui::DragValue::new(val)
                                .range(*min as f64..=*max as f64)
                                .speed(1.0),
                        )
                        .labelled_by(label);
                    if (r.changed() && !r.dragged()) || r.drag_stopped() || r.lost_focus() {
                        out = Some((k.name.clone(), KnobValue::Int(val.round() as i64)));
                    }
                    if !r.dragged() && !r.has_focus() && out.is_none() {
                        *val = current;
                    }
                }
                (KnobKind::Bool, KnobValue::Bool(b)) => {
                    let mut b = *b;
                    if ui.checkbox(&mut b, "").labelled_by(label).changed() {
                        out = Some((k.name.clone(), KnobValue::Bool(b)));
                    }
                }
                (KnobKind::Choice(options), KnobValue::Choice(cur)) => {
                    egui::ComboBox::from_id_salt(&k.name)
                        .selected_text(cur)
                        .show_ui(ui, |ui| {
                            for &o in options.iter() {
                                if ui.selectable_label(o == cur, o).clicked() && o != cur {
                                    out = Some((k.name.clone(), KnobValue::Choice(o.to_string())));
                                }
                            }
                        })
                        .response
                        .labelled_by(label);
                }
                (_, v) => {
                    ui.label(v.to_string());
                }
            }
            ui.end_row();
        }
    });
    out
}

/// Bins `values` into `bins` equal bins over `[lo, hi]`, returning counts (values outside are
/// clamped into the end bins).
pub fn histogram(values: &[f32], lo: f64, hi: f64, bins: usize) -> Vec<usize> {
    let mut counts = vec![0usize; bins.max(1)];
    let width = (hi - lo).max(1e-12) / counts.len() as f64;
    for &v in values {
        if !v.is_finite() {
            continue;
        }
        let b = ((v as f64 - lo) / width)
            .floor()
            .clamp(0.0, (counts.len() - 1) as f64);
        counts[b as usize] += 1;
    }
    counts
}

/// The "continue this text" box of the language-model panels: a one-line prompt kept across
/// frames under `id`, a button, the sampling temperature, and the last sample below. Returns the
/// prompt when the button was pressed.
pub fn prompt_box(
    ui: &mut Ui,
    id: &str,
    label: &str,
    temperature: f64,
    sample: Option<&(String, String)>,
) -> Option<String> {
    let id = ui.make_persistent_id(id);
    let mut draft: String = ui
        .data(|d| d.get_temp(id))
        .unwrap_or_else(|| "ROMEO.\n".to_string());
    let mut asked = None;
    ui.horizontal(|ui| {
        let label = ui.label(label);
        ui.add(
            egui::TextEdit::singleline(&mut draft)
                .char_limit(2000)
                .desired_width(360.0),
        )
        .labelled_by(label.id);
        if ui.button("continue").clicked() {
            asked = Some(draft.clone());
        }
        ui.weak(format!("temperature {temperature:.2} (a knob)"));
    });
    ui.data_mut(|d| d.insert_temp(id, draft));
    if let Some((prompt, text)) = sample {
        ui.label(RichText::new(format!("{prompt}{text}")).monospace());
    }
    asked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_and_clamps() {
        let h = histogram(&[0.0, 0.5, 0.99, 1.0, 5.0, -3.0, f32::NAN], 0.0, 1.0, 2);
        assert_eq!(h, vec![2, 4]);
    }
}
