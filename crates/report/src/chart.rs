//! Stacked bandwidth charts over time, as SVG text or PNG bytes (plotters,
//! with a bundled font so that no system font library is needed).

mod draw;
mod time_axis;

pub(crate) use time_axis::axis_title;

use std::sync::Once;

use plotters::prelude::*;

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

/// The colour of series `i` as CSS `#rrggbb` (the same palette as the
/// static charts).
pub(crate) fn palette_hex(i: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

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

/// Width of the legend right of the plot, pixels: legends never cover data.
const LEGEND_WIDTH: u32 = 170;

/// Height of each per-series panel, pixels.
const PANEL_HEIGHT: u32 = 260;

/// What a level line stands for, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LevelKind {
    /// A limit not to cross (a site's capacity): red.
    Limit,
    /// A reference value (a 95th percentile): grey.
    Reference,
}

/// A horizontal line across a series' panel, with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Text drawn on the line, e.g. `capacity 1000 Mbit/s`.
    pub label: String,
    /// Where the line is, in the chart's unit.
    pub value: f64,
    /// What it stands for.
    pub kind: LevelKind,
}

/// A chart of several series over the same bins, stacked or overlaid.
///
/// The time axis is titled with its time zone (UTC) and dates, ticks fall
/// on round minutes, hours or days chosen by the span, and the legend sits
/// right of the plot. When some series have [`levels`](Chart::levels), each
/// series also gets a panel of its own below the main plot with its levels
/// drawn as labelled dashed lines (a site's capacity and p95): the picture
/// is then [`height_for`](Chart::height_for) pixels high.
///
/// Overlaid series (`stacked: false`, a comparison of runs) stay visible
/// where they coincide: the first is drawn solid and widest underneath,
/// each later one thinner, dashed with its own pattern and colour.
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
    /// Level lines per series, in series order (may be shorter than
    /// `series`; empty draws no panels).
    pub levels: Vec<Vec<Level>>,
}

impl Chart {
    /// The chart as an SVG document, `width` wide and
    /// [`height_for(height)`](Chart::height_for) high.
    pub fn svg(&self, width: u32, height: u32) -> Result<String, ChartError> {
        register_font();
        let height = self.height_for(height);
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
            self.draw(&root)?;
            root.present()
                .map_err(|e| ChartError::Draw(e.to_string()))?;
        }
        Ok(out)
    }

    /// The chart as PNG bytes, `width` wide and
    /// [`height_for(height)`](Chart::height_for) high.
    pub fn png(&self, width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
        register_font();
        let height = self.height_for(height);
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

    /// Series `i` alone with its levels, titled by its name.
    pub fn single(&self, i: usize) -> Option<Chart> {
        let (name, values) = self.series.get(i)?;
        Some(Chart {
            title: name.clone(),
            unit: self.unit.clone(),
            times: self.times.clone(),
            series: vec![(name.clone(), values.clone())],
            // One series: stacked draws it as it is, as a plain line.
            stacked: true,
            levels: vec![self.levels.get(i).cloned().unwrap_or_default()],
        })
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
            levels: Vec::new(),
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

    /// The x of the `<text>` element whose content is `content`.
    fn text_x(svg: &str, content: &str) -> Option<f64> {
        let at = svg.find(&format!(">\n{content}\n<"))?;
        let open = svg[..at].rfind("<text x=\"")? + "<text x=\"".len();
        svg[open..].split('"').next()?.parse().ok()
    }

    #[test]
    fn time_axis_is_titled_with_utc_and_the_date() {
        let svg = chart(true).svg(800, 400).expect("draws");
        assert!(svg.contains("Time (UTC), 2026-11-25"), "no axis title");
    }

    #[test]
    fn the_legend_is_right_of_the_plot() {
        let svg = chart(true).svg(800, 400).expect("draws");
        for name in ["ams", "lon"] {
            let x = text_x(&svg, name).expect("legend entry");
            assert!(x >= f64::from(800 - LEGEND_WIDTH), "{name} at x = {x}");
        }
    }

    #[test]
    fn levels_get_a_panel_per_series_with_labelled_lines() {
        let mut c = chart(true);
        let level = |label: &str, value, kind| Level {
            label: label.into(),
            value,
            kind,
        };
        c.levels = vec![
            vec![level("capacity 100 Mbit/s", 100.0, LevelKind::Limit)],
            vec![level("p95 55.0 Mbit/s", 55.0, LevelKind::Reference)],
        ];
        assert_eq!(c.height_for(400), 400 + PANEL_HEIGHT);
        let svg = c.svg(800, 400).expect("draws");
        assert!(svg.contains("height=\"660\""), "{}", &svg[..120]);
        for text in ["capacity 100 Mbit/s", "p95 55.0 Mbit/s"] {
            let x = text_x(&svg, text).expect(text);
            assert!(x < f64::from(800 - LEGEND_WIDTH), "{text} on its panel");
        }
    }

    /// Pixels of exactly `colour` in a PNG.
    fn pixels_of(png_bytes: &[u8], colour: RGBColor) -> usize {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("valid PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        buf[..info.buffer_size()]
            .chunks(3)
            .filter(|p| p == &[colour.0, colour.1, colour.2])
            .count()
    }

    #[test]
    fn overlaid_runs_that_coincide_both_show() {
        let mut c = chart(false);
        c.series[1].1 = c.series[0].1.clone();
        let png = c.png(800, 400).expect("draws");
        for (i, colour) in PALETTE[..2].iter().enumerate() {
            let n = pixels_of(&png, *colour);
            // The legend swatch alone is under 250 pixels.
            assert!(n > 400, "series {i}: {n} pixels of its colour");
        }
    }

    #[test]
    fn a_legend_longer_than_the_plot_counts_the_rest() {
        let mut c = chart(true);
        c.series = (0..30)
            .map(|i| (format!("site-with-a-long-name-{i:02}"), vec![1.0; 60]))
            .collect();
        let svg = c.svg(800, 400).expect("draws");
        assert!(svg.contains(">\nsite-with-a-long-…\n<"), "names shortened");
        // (400 − 48) / 22 = 16 rows: 15 names, then the count.
        assert!(svg.contains(">\n+15 more\n<"), "rest counted");
    }
}
