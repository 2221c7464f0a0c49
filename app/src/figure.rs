//! Publication figures: a plot of a run's series drawn with `plotters` from the same points the
//! app holds (not a screenshot), as SVG and PNG, with a title, axis labels with units, a legend
//! and the knob-change markers; written beside the series as CSV and the preset that made them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use trainscope_engine::Curves;

/// Size of an exported figure in pixels (the SVG's user units too).
pub const SIZE: (u32, u32) = (1000, 600);

/// Font family the figures use; registered from egui's bundled font for the PNG.
const FAMILY: &str = "sans-serif";

/// One plot: some series of a run on a shared step axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The title (usually the preset's).
    pub title: String,
    /// The x axis label with its unit.
    pub x_label: String,
    /// The y axis label with its unit.
    pub y_label: String,
    /// `(legend label, points)`.
    pub series: Vec<(String, Vec<[f64; 2]>)>,
    /// Knob changes and actions as `(step, label)`, drawn as dashed vertical lines.
    pub markers: Vec<(u64, String)>,
}

/// The unit a series' values are in, guessed from its name (our labs' naming conventions).
pub fn unit_of(series: &str) -> Option<&'static str> {
    let s = series.to_ascii_lowercase();
    if s.contains("error") || s.contains("acc") || s.contains("rate") || s.contains("frac") {
        Some("fraction")
    } else if s.contains("loss") || s.contains("nll") {
        Some("nats")
    } else if s.contains("bits") || s.contains("bpc") {
        Some("bits")
    } else if s.contains("seconds") || s.ends_with("_s") {
        Some("s")
    } else {
        None
    }
}

impl Figure {
    /// A figure of the named series of `curves` (those it has), with its markers.
    pub fn of(curves: &Curves, names: &[String], title: &str) -> Figure {
        let series: Vec<(String, Vec<[f64; 2]>)> = names
            .iter()
            .filter_map(|n| curves.get(n).map(|p| (n.clone(), p.to_vec())))
            .collect();
        let units: Vec<&str> = series.iter().filter_map(|(n, _)| unit_of(n)).collect();
        let unit = match units.first() {
            Some(u) if units.iter().all(|v| v == u) && units.len() == series.len() => {
                format!(" ({u})")
            }
            _ => String::new(),
        };
        let y_label = format!(
            "{}{unit}",
            series
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Figure {
            title: title.to_string(),
            x_label: "training step (steps of the lab)".into(),
            y_label,
            series,
            markers: curves.markers.clone(),
        }
    }

    fn bounds(&self) -> (f64, f64, f64, f64) {
        let pts = self.series.iter().flat_map(|(_, p)| p.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for [x, y] in pts.filter(|p| p[0].is_finite() && p[1].is_finite()) {
            (x0, x1, y0, y1) = (x0.min(*x), x1.max(*x), y0.min(*y), y1.max(*y));
        }
        if x0 > x1 {
            return (0.0, 1.0, 0.0, 1.0);
        }
        if x1 - x0 < 1e-12 {
            x1 = x0 + 1.0;
        }
        let pad = if y1 - y0 < 1e-12 {
            y0.abs().max(1.0) * 0.05
        } else {
            (y1 - y0) * 0.06
        };
        (x0, x1, y0 - pad, y1 + pad)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let (x0, x1, y0, y1) = self.bounds();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 26))
            .margin(18)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FAMILY, 15))
            .axis_desc_style((FAMILY, 18))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        for (i, (name, points)) in self.series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let line = points
                .iter()
                .filter(|p| p[0].is_finite() && p[1].is_finite())
                .map(|p| (p[0], p[1]));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(e)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
        }
        let marker_color = RGBColor(120, 120, 120);
        for (k, (step, label)) in self.markers.iter().enumerate() {
            let x = *step as f64;
            if x < x0 || x > x1 {
                continue;
            }
            // A dashed line: short segments down the plot.
            let n = 40;
            let segs = (0..n).step_by(2).map(|j| {
                let a = y0 + (y1 - y0) * j as f64 / n as f64;
                let b = y0 + (y1 - y0) * (j + 1) as f64 / n as f64;
                PathElement::new(vec![(x, a), (x, b)], marker_color.stroke_width(1))
            });
            chart.draw_series(segs).map_err(e)?;
            // Labels step down so that neighbouring markers do not overprint.
            let y = y1 - (y1 - y0) * (0.04 + 0.05 * (k % 4) as f64);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {label}"),
                    (x, y),
                    (FAMILY, 13).into_font().color(&marker_color),
                )))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
        Ok(())
    }

    /// The figure as SVG text.
    pub fn svg(&self) -> Result<String> {
        // Text is measured with the font for layout, in the SVG too.
        register_font()?;
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
            self.draw(&root)
                .map_err(|e| anyhow!("drawing the SVG: {e}"))?;
        }
        Ok(out)
    }

    /// The figure as PNG bytes (text drawn with egui's bundled font, which the SVG names as
    /// `sans-serif`).
    pub fn png(&self) -> Result<Vec<u8>> {
        register_font()?;
        let (w, h) = SIZE;
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            self.draw(&root)
                .map_err(|e| anyhow!("drawing the PNG: {e}"))?;
        }
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut bytes, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header().context("writing PNG header")?;
            writer.write_image_data(&rgb).context("writing PNG data")?;
            writer.finish().context("finishing PNG")?;
        }
        Ok(bytes)
    }

    /// The figure's series and markers as CSV.
    pub fn csv(&self) -> String {
        Curves {
            series: self.series.clone(),
            markers: self.markers.clone(),
        }
        .to_csv()
    }

    /// Writes `STEM.svg`, `STEM.png`, `STEM.csv` and, when given, the preset as
    /// `STEM.preset.toml`, each atomically; returns the paths written.
    pub fn export(&self, stem: &Path, preset_toml: Option<&str>) -> Result<Vec<PathBuf>> {
        let with = |ext: &str| {
            let mut name = stem.file_name().unwrap_or_default().to_os_string();
            name.push(ext);
            stem.with_file_name(name)
        };
        let mut written = Vec::new();
        for (path, bytes) in [
            (with(".svg"), self.svg()?.into_bytes()),
            (with(".png"), self.png()?),
            (with(".csv"), self.csv().into_bytes()),
        ] {
            crate::bundle::write_atomic(&path, &bytes)?;
            written.push(path);
        }
        if let Some(t) = preset_toml {
            let path = with(".preset.toml");
            crate::bundle::write_atomic(&path, t.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

fn register_font() -> Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(
            FAMILY,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        )
        .is_ok()
    });
    ok.then_some(())
        .ok_or_else(|| anyhow!("egui's bundled font could not be read for the PNG"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Figure {
        let mut c = Curves::default();
        c.series.push((
            "test_error".into(),
            (0..50)
                .map(|i| [i as f64, 0.9 / (1.0 + i as f64)])
                .collect(),
        ));
        c.series.push((
            "train_error".into(),
            (0..50)
                .map(|i| [i as f64, 0.8 / (1.0 + i as f64)])
                .collect(),
        ));
        c.markers.push((20, "lr = 0.0100".into()));
        Figure::of(
            &c,
            &["test_error".into(), "train_error".into()],
            "FF on MNIST",
        )
    }

    /// The text of every `<text>` element of an SVG, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    #[test]
    fn svg_has_title_axis_labels_legend_and_markers() {
        let texts = texts(&sample().svg().expect("svg"));
        for want in [
            "FF on MNIST",
            "training step (steps of the lab)",
            "test_error, train_error (fraction)",
            // The legend: one entry per series.
            "test_error",
            "train_error",
            " lr = 0.0100",
        ] {
            assert!(
                texts.iter().any(|t| t.trim() == want.trim()),
                "the SVG has no text {want:?}; it has {texts:?}"
            );
        }
    }

    #[test]
    fn png_is_a_readable_image_of_the_figure_size() {
        let bytes = sample().png().expect("png");
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = dec.read_info().expect("png header");
        assert_eq!((reader.info().width, reader.info().height), SIZE);
    }
}
