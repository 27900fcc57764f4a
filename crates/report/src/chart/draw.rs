//! Drawing a [`Chart`] on any plotters backend: the main plot with its
//! legend to the right (outside the data), then one panel per series with
//! its levels (capacity, p95) when the chart has levels.

use plotters::coord::combinators::{BindKeyPoints, WithKeyPoints};
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::time_axis::{axis_title, tick_label, tick_step, ticks};
use super::{Chart, ChartError, Level, LevelKind, LEGEND_WIDTH, PALETTE, PANEL_HEIGHT};

/// Font sizes as plotters takes them (it draws text at about 0.8 of this,
/// in pixels): title, axis titles, tick labels and legend.
const TITLE_PX: u32 = 26;
const AXIS_PX: u32 = 19;
const LABEL_PX: u32 = 16;

/// Dash patterns (dash, gap; pixels) of overlaid lines after the first,
/// which is solid and widest: lines that coincide stay visible.
const DASHES: [(u32, u32); 4] = [(12, 6), (4, 4), (16, 4), (8, 3)];

/// First legend row's centre and the distance between rows, pixels.
const LEGEND_TOP: i32 = 48;
const LEGEND_ROW: i32 = 22;

/// `name`, cut to 18 characters with `…` when longer.
fn shortened(name: &str) -> String {
    if name.chars().count() <= 18 {
        return name.to_string();
    }
    let mut cut: String = name.chars().take(17).collect();
    cut.push('…');
    cut
}

type TimeChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<WithKeyPoints<RangedCoordi64>, RangedCoordf64>>;

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// The chart's time range, never empty.
fn span(times: &[i64]) -> (i64, i64) {
    match (times.first(), times.last()) {
        (Some(a), Some(b)) if b > a => (*a, *b),
        (Some(a), _) => (*a, *a + 60),
        _ => (0, 60),
    }
}

/// A plot of `times` against `0..top` on `area`, with the time axis
/// (round ticks, UTC title) and the value axis titled `unit`.
fn time_plot<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    unit: &str,
    times: &[i64],
    top: f64,
) -> Result<TimeChart<'a, DB>, ChartError> {
    let (t0, t1) = span(times);
    let step = tick_step(t0, t1);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", TITLE_PX))
        .margin(10)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d((t0..t1).with_key_points(ticks(t0, t1)), 0.0..top)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .y_labels(6)
        .x_label_formatter(&|t| tick_label(*t, step))
        .x_desc(axis_title(t0, t1))
        .y_desc(unit)
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", AXIS_PX))
        .draw()
        .map_err(draw_err)?;
    Ok(chart)
}

/// The highest value drawn, with room above it.
fn top_of<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.copied().fold(0.0f64, f64::max).max(1e-9) * 1.1
}

impl Chart {
    /// Height of the picture drawn at `width` × `height`: the main plot
    /// takes `height`, and the per-series panels (two a row) add theirs.
    pub fn height_for(&self, height: u32) -> u32 {
        let rows = self.panel_count().div_ceil(2) as u32;
        height + rows * PANEL_HEIGHT
    }

    fn panel_count(&self) -> usize {
        if self.levels.iter().any(|l| !l.is_empty()) {
            self.series.len()
        } else {
            0
        }
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ChartError> {
        root.fill(&WHITE).map_err(draw_err)?;
        let (w, h) = root.dim_in_pixel();
        let main_height = h.saturating_sub(self.height_for(0));
        let (main, panels) = root.split_vertically(main_height);
        let (plot, legend) = main.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        self.draw_main(&plot)?;
        self.draw_legend(&legend)?;
        if self.panel_count() > 0 {
            let rows = self.panel_count().div_ceil(2);
            for (i, area) in panels.split_evenly((rows, 2)).iter().enumerate() {
                if let Some((name, values)) = self.series.get(i) {
                    let levels = self.levels.get(i).map_or(&[][..], Vec::as_slice);
                    self.draw_panel(area, i, (name, values), levels)?;
                }
            }
        }
        Ok(())
    }

    fn draw_main<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), ChartError> {
        let layers = self.layers();
        let top = top_of(layers.iter().flatten());
        let mut chart = time_plot(area, &self.title, &self.unit, &self.times, top)?;
        if self.stacked {
            // The highest layer first, so that each lower one paints over it.
            for (i, layer) in layers.iter().enumerate().rev() {
                let color = PALETTE[i % PALETTE.len()];
                let points = self.times.iter().copied().zip(layer.iter().copied());
                chart
                    .draw_series(
                        AreaSeries::new(points, 0.0, color.mix(0.85))
                            .border_style(color.stroke_width(1)),
                    )
                    .map_err(draw_err)?;
            }
            return Ok(());
        }
        // Overlaid: the first line solid and widest at the bottom, each
        // later one thinner and dashed on top, so coinciding lines all show.
        for (i, layer) in layers.iter().enumerate() {
            let points: Vec<(i64, f64)> = self
                .times
                .iter()
                .copied()
                .zip(layer.iter().copied())
                .collect();
            let color = PALETTE[i % PALETTE.len()];
            if i == 0 {
                let style = color.stroke_width(5);
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(draw_err)?;
            } else {
                let (dash, gap) = DASHES[(i - 1) % DASHES.len()];
                let style = color.stroke_width(2);
                chart
                    .draw_series(DashedLineSeries::new(points, dash, gap, style))
                    .map_err(draw_err)?;
            }
        }
        Ok(())
    }

    /// The legend, right of the plot: a swatch and the name of each series
    /// (names past 18 characters shortened with `…`; series that do not fit
    /// the height are counted on a last line, `+N more`).
    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), ChartError> {
        let font = ("sans-serif", LABEL_PX).into_font();
        let (_, height) = area.dim_in_pixel();
        let room = (height.saturating_sub(LEGEND_TOP as u32) / LEGEND_ROW as u32).max(1) as usize;
        let shown = if self.series.len() > room {
            room - 1
        } else {
            room
        };
        for (i, (name, _)) in self.series.iter().enumerate().take(shown) {
            let color = PALETTE[i % PALETTE.len()];
            let y = LEGEND_TOP + LEGEND_ROW * i as i32;
            let swatch = if self.stacked || i == 0 {
                Rectangle::new([(6, y - 6), (24, y + 6)], color.filled())
            } else {
                Rectangle::new([(6, y - 1), (24, y + 1)], color.filled())
            };
            area.draw(&swatch).map_err(draw_err)?;
            let text = Text::new(shortened(name), (30, y - 8), font.clone());
            area.draw(&text).map_err(draw_err)?;
        }
        if let Some(more) = self.series.len().checked_sub(shown).filter(|n| *n > 0) {
            let y = LEGEND_TOP + LEGEND_ROW * shown as i32;
            let text = Text::new(format!("+{more} more"), (30, y - 8), font);
            area.draw(&text).map_err(draw_err)?;
        }
        Ok(())
    }

    /// One series alone with its levels as labelled dashed lines.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        index: usize,
        (name, values): (&str, &[f64]),
        levels: &[Level],
    ) -> Result<(), ChartError> {
        let top = top_of(values.iter().chain(levels.iter().map(|l| &l.value)));
        let mut chart = time_plot(area, name, &self.unit, &self.times, top)?;
        let color = PALETTE[index % PALETTE.len()];
        let points = self.times.iter().copied().zip(values.iter().copied());
        chart
            .draw_series(
                AreaSeries::new(points, 0.0, color.mix(0.5)).border_style(color.stroke_width(1)),
            )
            .map_err(draw_err)?;
        let (t0, t1) = span(&self.times);
        for (k, level) in levels.iter().enumerate() {
            let tone = match level.kind {
                LevelKind::Limit => RGBColor(200, 30, 30),
                _ => RGBColor(60, 60, 60),
            };
            // Labels of levels close together are put on alternate sides.
            let dy = if k % 2 == 0 { -18 } else { 4 };
            let line = [(t0, level.value), (t1, level.value)];
            chart
                .draw_series(DashedLineSeries::new(line, 8, 4, tone.stroke_width(2)))
                .map_err(draw_err)?;
            let font = ("sans-serif", LABEL_PX).into_font().color(&tone);
            let label =
                EmptyElement::at((t0, level.value)) + Text::new(level.label.clone(), (6, dy), font);
            chart
                .draw_series(std::iter::once(label))
                .map_err(draw_err)?;
        }
        Ok(())
    }
}
