//! Parts of the Forward-Forward panel that show images and the recurrent net: positive and
//! negative training inputs, the first layer's receptive fields, and goodness per iteration.

use egui::{Color32, ColorImage, RichText, TextureOptions, Ui, Vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};
use trainscope_engine::labs::ff::{FfView, IterationGoodness, Mode, RECURRENT_VOTE};

use crate::widgets::{NEGATIVE, POSITIVE};

const SIDE: usize = 28;

/// A grid of `cols` columns of 28×28 tiles, one pixel apart, as an image.
fn tile_image(tiles: &[Vec<Color32>], cols: usize) -> ColorImage {
    let cols = cols.max(1);
    let rows = tiles.len().div_ceil(cols).max(1);
    let (w, h) = (cols * (SIDE + 1) - 1, rows * (SIDE + 1) - 1);
    let mut px = vec![Color32::from_gray(40); w * h];
    for (t, tile) in tiles.iter().enumerate() {
        let (ox, oy) = ((t % cols) * (SIDE + 1), (t / cols) * (SIDE + 1));
        for (i, &c) in tile.iter().enumerate().take(SIDE * SIDE) {
            px[(oy + i / SIDE) * w + ox + i % SIDE] = c;
        }
    }
    ColorImage::new([w, h], px)
}

fn show_tiles(ui: &mut Ui, id: &str, tiles: &[Vec<Color32>], cols: usize, scale: f32) {
    let img = tile_image(tiles, cols);
    let size = Vec2::new(img.size[0] as f32, img.size[1] as f32) * scale;
    let tex = ui.ctx().load_texture(id, img, TextureOptions::NEAREST);
    ui.image((tex.id(), size));
}

fn gray(pixels: &[u8]) -> Vec<Color32> {
    pixels.iter().map(|&p| Color32::from_gray(p)).collect()
}

/// Positive and negative training inputs of the latest batch.
pub fn examples(ui: &mut Ui, view: &FfView) {
    if view.positives.is_empty() {
        return;
    }
    let (pos_label, neg_label) = match view.mode {
        Mode::Unsupervised => (
            "positive: real digits",
            "negative: hybrids m*a + (1-m)*b of two digits under a blobby mask",
        ),
        Mode::Supervised => (
            "positive: image + true label (top-left pixels)",
            "negative: the same image + a wrong label",
        ),
        Mode::Recurrent => (
            "positive: image, true label on top",
            "negative: image, wrong label on top (shown in the top-left pixels)",
        ),
    };
    ui.strong("Training inputs of the latest batch");
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.label(RichText::new(pos_label).color(POSITIVE));
            let tiles: Vec<_> = view.positives.iter().map(|p| gray(p)).collect();
            show_tiles(ui, "ff_pos_examples", &tiles, tiles.len(), 2.0);
        });
        ui.add_space(16.0);
        ui.vertical(|ui| {
            ui.label(RichText::new(neg_label).color(NEGATIVE));
            let tiles: Vec<_> = view.negatives.iter().map(|p| gray(p)).collect();
            show_tiles(ui, "ff_neg_examples", &tiles, tiles.len(), 2.0);
        });
    });
}

/// The first layer's incoming weights as 28×28 images: orange positive, blue negative, each
/// unit scaled to its own largest weight.
pub fn receptive_fields(ui: &mut Ui, view: &FfView) {
    if view.receptive_fields.is_empty() {
        return;
    }
    ui.strong(format!(
        "Receptive fields of the first {} units of layer 1",
        view.receptive_fields.len()
    ));
    ui.label(
        "Incoming weights of each unit; orange positive, blue negative, each unit scaled to its \
         own largest weight. Refreshed every 100 steps.",
    );
    let tiles: Vec<Vec<Color32>> = view
        .receptive_fields
        .iter()
        .map(|w| {
            let max = w.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
            w.iter()
                .map(|&v| {
                    let t = (v / max).clamp(-1.0, 1.0);
                    let k = (t.abs() * 255.0) as u8;
                    if t >= 0.0 {
                        Color32::from_rgb(k, (k as f32 * 0.55) as u8, 0)
                    } else {
                        Color32::from_rgb(0, (k as f32 * 0.55) as u8, k)
                    }
                })
                .collect()
        })
        .collect();
    show_tiles(ui, "ff_receptive_fields", &tiles, 8, 1.5);
}

/// Recurrent mode: mean goodness per layer per iteration, true label against the best wrong
/// label, with the readout's iterations marked.
pub fn iterations(ui: &mut Ui, table: &IterationGoodness, show_legend: bool) {
    ui.strong("Goodness per iteration (recurrent net)");
    ui.label(format!(
        "Mean over {} test digits. Solid: true label clamped on top; dashed: the wrong label the \
         net liked best. Deeper layers are lighter. The readout sums iterations {}-{} (between \
         the white lines); iteration 0 is the bottom-up pass.",
        table.digits, RECURRENT_VOTE.0, RECURRENT_VOTE.1
    ));
    let mut plot = Plot::new("ff_iterations")
        .height(170.0)
        .x_axis_label("iteration")
        .y_axis_label("goodness")
        .allow_scroll(false);
    if show_legend {
        plot = plot.legend(Legend::default());
    }
    let layers = table.true_label.len();
    plot.show(ui, |pui| {
        for (l, (t, w)) in table.true_label.iter().zip(&table.best_wrong).enumerate() {
            let light = l as f32 / layers.max(2) as f32 * 0.6;
            let pts = |v: &Vec<f32>| {
                PlotPoints::from_iter(v.iter().enumerate().map(|(i, &g)| [i as f64, g as f64]))
            };
            pui.line(
                Line::new(format!("layer {} true label", l + 1), pts(t))
                    .color(POSITIVE.lerp_to_gamma(Color32::WHITE, light))
                    .width(2.0),
            );
            pui.line(
                Line::new(format!("layer {} best wrong label", l + 1), pts(w))
                    .color(NEGATIVE.lerp_to_gamma(Color32::WHITE, light))
                    .style(egui_plot::LineStyle::dashed_loose())
                    .width(2.0),
            );
        }
        for x in [RECURRENT_VOTE.0, RECURRENT_VOTE.1] {
            pui.vline(VLine::new("readout iterations", x as f64).color(Color32::WHITE));
        }
    });
}
