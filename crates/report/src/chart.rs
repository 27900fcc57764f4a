//! Stacked bandwidth charts over time, as SVG text or PNG bytes (plotters,
//! with a bundled font so that no system font library is needed).

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use routecast_accesslog::time::iso8601;

/// The bundled DejaVu Sans (Bitstream Vera licence, `fonts/LICENSE-DejaVu`).
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The bundled font is a valid TrueType file: registration cannot fail
        // for it, and a failure would only mean text without glyphs.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Tableau 10: distinct colours that survive stacking.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// The drawing backend failed.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("encoding the PNG failed: {0}")]
    Png(String),
}

/// A chart of several series over the same bins, stacked or overlaid.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// Unit of the values, for the y axis (e.g. `Mbit/s`).
    pub unit: String,
    /// Start of each bin, Unix seconds.
    pub times: Vec<i64>,
    /// Named series, each as long as `times`.
    pub series: Vec<(String, Vec<f64>)>,
    /// Stack the series (areas) or overlay them (lines).
    pub stacked: bool,
}

impl Chart {
    /// The chart as an SVG document.
    pub fn svg(&self, width: u32, height: u32) -> Result<String, ChartError> {
        register_font();
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
            self.draw(&root)?;
            root.present()
                .map_err(|e| ChartError::Draw(e.to_string()))?;
        }
        Ok(out)
    }

    /// The chart as PNG bytes.
    pub fn png(&self, width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
        register_font();
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            self.draw(&root)?;
            root.present()
                .map_err(|e| ChartError::Draw(e.to_string()))?;
        }
        let mut png_bytes = Vec::new();
        let mut enc = png::Encoder::new(&mut png_bytes, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| ChartError::Png(e.to_string()))?;
        w.write_image_data(&rgb)
            .map_err(|e| ChartError::Png(e.to_string()))?;
        w.finish().map_err(|e| ChartError::Png(e.to_string()))?;
        Ok(png_bytes)
    }

    /// Cumulative sums, series by series (what a stacked chart draws).
    fn layers(&self) -> Vec<Vec<f64>> {
        let n = self.times.len();
        let mut acc = vec![0.0; n];
        self.series
            .iter()
            .map(|(_, v)| {
                for (a, x) in acc.iter_mut().zip(v) {
                    *a += if self.stacked { *x } else { 0.0 };
                }
                if self.stacked {
                    acc.clone()
                } else {
                    v.clone()
                }
            })
            .collect()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| ChartError::Draw(e.to_string());
        root.fill(&WHITE).map_err(err)?;
        let layers = self.layers();
        let top = layers
            .iter()
            .flatten()
            .copied()
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.05;
        let (t0, t1) = match (self.times.first(), self.times.last()) {
            (Some(a), Some(b)) if b > a => (*a, *b),
            (Some(a), _) => (*a, *a + 60),
            _ => (0, 60),
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(t0..t1, 0.0..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&|t| iso8601(*t)[11..16].to_string())
            .y_desc(&self.unit)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        // Draw the highest layer first so that each lower one paints over it.
        for (i, layer) in layers.iter().enumerate().rev() {
            let color = PALETTE[i % PALETTE.len()];
            let points = self.times.iter().copied().zip(layer.iter().copied());
            let name = self.series[i].0.clone();
            let drawn = if self.stacked {
                chart.draw_series(
                    AreaSeries::new(points, 0.0, color.mix(0.85))
                        .border_style(color.stroke_width(1)),
                )
            } else {
                chart.draw_series(LineSeries::new(points, color.stroke_width(2)))
            };
            drawn.map_err(err)?.label(name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
            });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(stacked: bool) -> Chart {
        Chart {
            title: "Sites".into(),
            unit: "Mbit/s".into(),
            times: (0..60).map(|i| 1_795_600_800 + i * 60).collect(),
            series: vec![
                ("ams".into(), vec![10.0; 60]),
                ("lon".into(), (0..60).map(f64::from).collect()),
            ],
            stacked,
        }
    }

    #[test]
    fn stacked_layers_are_cumulative() {
        let l = chart(true).layers();
        assert_eq!(l[1][59], 69.0);
        assert_eq!(chart(false).layers()[1][59], 59.0);
    }

    #[test]
    fn svg_has_title_legend_and_time_labels() {
        let svg = chart(true).svg(800, 400).expect("draws");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        // The hour runs 10:00 to 11:00 UTC; labels are HH:MM.
        for text in ["Sites", "ams", "lon", "Mbit/s", ">\n10:20\n<"] {
            assert!(svg.contains(text), "{text} missing");
        }
    }

    #[test]
    fn png_is_a_png_of_the_right_size() {
        let png = chart(false).png(640, 320).expect("draws");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().expect("valid PNG");
        assert_eq!((reader.info().width, reader.info().height), (640, 320));
    }
}
