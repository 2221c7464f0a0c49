//! The shared drawing of a lab's structured [`Results`]: each curve set as a line plot with
//! markers, each table as a grid. Any lab that publishes results gets them drawn, with no
//! panel code of its own.

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use trainscope_engine::results::{CurveSet, Results, Table};

use crate::widgets::{PlotSettings, palette};

/// Draws every curve set (side by side, wrapping) and every table of `results`.
pub fn show(ui: &mut Ui, results: &Results, settings: &PlotSettings) {
    if results.is_empty() {
        ui.label("No curves or tables yet: they appear after the lab's evaluation runs.");
        return;
    }
    let width = if results.curves.len() > 1 {
        ((ui.available_width() - 16.0) / 2.0).max(220.0)
    } else {
        ui.available_width()
    };
    ui.horizontal_wrapped(|ui| {
        for c in &results.curves {
            ui.vertical(|ui| {
                ui.set_width(width);
                curve_set(ui, c, settings, width);
            });
        }
    });
    for t in &results.tables {
        table(ui, t);
    }
}

/// One curve set as a plot titled by its title, axes labelled.
pub fn curve_set(ui: &mut Ui, c: &CurveSet, settings: &PlotSettings, width: f32) {
    ui.label(RichText::new(&c.title).strong());
    let mut plot = Plot::new(("results-curve", &c.name))
        .height(180.0)
        .width(width)
        .x_axis_label(&c.x_label)
        .y_axis_label(&c.y_label)
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |pui| {
        for (i, line) in c.lines.iter().enumerate() {
            let pts: Vec<[f64; 2]> = line.x.iter().zip(&line.y).map(|(&x, &y)| [x, y]).collect();
            pui.line(Line::new(&line.label, PlotPoints::from(pts.clone())).color(palette(i)));
            pui.points(
                Points::new(&line.label, PlotPoints::from(pts))
                    .color(palette(i))
                    .radius(2.5),
            );
        }
    });
}

/// One table as a striped grid under its title.
pub fn table(ui: &mut Ui, t: &Table) {
    ui.label(RichText::new(&t.title).strong());
    egui::Grid::new(("results-table", &t.name))
        .striped(true)
        .show(ui, |ui| {
            for c in &t.columns {
                ui.label(RichText::new(c).strong());
            }
            ui.end_row();
            for row in &t.rows {
                for cell in row {
                    ui.label(cell.to_string());
                }
                ui.end_row();
            }
        });
}
