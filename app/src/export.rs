//! Writing what the user sees to files: series as CSV, a panel as PNG.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use trainscope_engine::SeriesStore;

/// Writes every series as `step,series,value` rows (the points the app holds: after 2048 points
/// per series, neighbours are averaged) and knob changes as `step,marker,label` rows.
pub fn write_csv(store: &SeriesStore, path: &Path) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "step,series,value")?;
    for name in store.names() {
        if let Some(s) = store.get(name) {
            for [x, y] in s.points() {
                writeln!(w, "{x},{name},{y}")?;
            }
        }
    }
    for m in store.markers() {
        writeln!(w, "{},marker,\"{}\"", m.step, m.label.replace('"', "'"))?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Crops an RGBA screenshot to `rect` (in physical pixels) and writes it as PNG.
pub fn write_png(image: &egui::ColorImage, rect: egui::Rect, path: &Path) -> Result<()> {
    let [w, h] = image.size;
    let x0 = (rect.min.x.max(0.0) as usize).min(w);
    let y0 = (rect.min.y.max(0.0) as usize).min(h);
    let x1 = (rect.max.x.max(0.0) as usize).clamp(x0, w);
    let y1 = (rect.max.y.max(0.0) as usize).clamp(y0, h);
    let (cw, ch) = (x1 - x0, y1 - y0);
    anyhow::ensure!(
        cw > 0 && ch > 0,
        "nothing to export: the panel is not visible"
    );
    let mut rgba = Vec::with_capacity(cw * ch * 4);
    for y in y0..y1 {
        for x in x0..x1 {
            rgba.extend_from_slice(&image.pixels[y * w + x].to_array());
        }
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), cw as u32, ch as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().context("writing PNG header")?;
    writer.write_image_data(&rgba).context("writing PNG data")?;
    writer.finish().context("finishing PNG")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_header_rows_and_markers() {
        let mut st = SeriesStore::new();
        st.push("loss", 1.0, 0.5);
        st.push("loss", 2.0, 0.25);
        st.mark(2, "lr = 0.1");
        let path = std::env::temp_dir().join(format!("ts-export-{}.csv", std::process::id()));
        write_csv(&st, &path).expect("csv");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "step,series,value\n1,loss,0.5\n2,loss,0.25\n2,marker,\"lr = 0.1\"\n"
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn png_crop_writes_a_readable_file() {
        let img = egui::ColorImage::new([8, 6], vec![egui::Color32::RED; 48]);
        let path = std::env::temp_dir().join(format!("ts-export-{}.png", std::process::id()));
        write_png(
            &img,
            egui::Rect::from_min_max(egui::pos2(2.0, 1.0), egui::pos2(6.0, 5.0)),
            &path,
        )
        .expect("png");
        let dec = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&path).expect("open"),
        ));
        let reader = dec.read_info().expect("png header");
        assert_eq!((reader.info().width, reader.info().height), (4, 4));
        let _ = std::fs::remove_file(path);
    }
}
