//! PNG figures: line plots with error bars (optionally on a symlog x axis), bar charts with error bars,
//! and grids of heatmaps. Text uses the DejaVu font embedded in the binary, so no system font is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

const WIDTH: u32 = 900;
const HEIGHT: u32 = 560;
const FONT: &str = "sans-serif";
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Registration only fails for unparsable font bytes, which the embedded font is not.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// The legend of the labelled series, boxed in the upper right.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<()> {
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_error)
}

fn draw_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow!("drawing failed: {error:?}")
}

/// One line of a [`line_plot`]: points (x, mean, spread), drawn with error bars of +- spread.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// (x, y, error-bar half-width).
    pub points: Vec<(f64, f64, f64)>,
}

/// A line plot with error bars and labelled horizontal reference lines. With `symlog_x`, x is shown
/// on a symmetric log scale: sign(x) log10(1 + |x| / 0.1), with ticks labelled in original units.
pub fn line_plot(
    path: &Path,
    title: &str,
    axes: (&str, &str),
    series: &[Series],
    references: &[(String, f64)],
    symlog_x: bool,
) -> Result<()> {
    register_fonts();
    let scale = |x: f64| if symlog_x { x.signum() * (1.0 + x.abs() / 0.1).log10() } else { x };
    let unscale =
        |u: f64| if symlog_x { u.signum() * 0.1 * (10f64.powf(u.abs()) - 1.0) } else { u };
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| scale(p.0))).collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|p| [p.1 - p.2, p.1 + p.2]))
        .chain(references.iter().map(|r| r.1))
        .collect();
    let (x0, x1) = padded_range(&xs);
    let (y0, y1) = padded_range(&ys);
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .x_label_formatter(&|u| format_tick(unscale(*u)))
        .label_style((FONT, 14))
        .draw()
        .map_err(draw_error)?;
    for (index, (name, y)) in references.iter().enumerate() {
        let color = PALETTE[(series.len() + index) % PALETTE.len()];
        chart
            .draw_series(LineSeries::new([(x0, *y), (x1, *y)], color.stroke_width(1)))
            .map_err(draw_error)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color));
    }
    for (index, s) in series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let points: Vec<(f64, f64)> = s.points.iter().map(|p| (scale(p.0), p.1)).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(draw_error)?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
        chart
            .draw_series(s.points.iter().map(|p| {
                ErrorBar::new_vertical(scale(p.0), p.1 - p.2, p.1, p.1 + p.2, color.filled(), 8)
            }))
            .map_err(draw_error)?;
    }
    draw_legend(&mut chart)?;
    root.present().map_err(draw_error)
}

/// One group of a [`bar_chart`]: a label and its bars (method, value, error-bar half-width).
pub struct BarGroup {
    /// The group's label under the axis.
    pub name: String,
    /// (bar label, value, half-width of the error bar).
    pub bars: Vec<(String, f64, f64)>,
}

/// Grouped bars with error bars; bars of the same label share a colour across groups.
pub fn bar_chart(path: &Path, title: &str, y_label: &str, groups: &[BarGroup]) -> Result<()> {
    register_fonts();
    let labels: Vec<String> =
        groups.first().map(|g| g.bars.iter().map(|b| b.0.clone()).collect()).unwrap_or_default();
    let per_group = labels.len().max(1) as f64;
    let top =
        groups.iter().flat_map(|g| g.bars.iter().map(|b| b.1 + b.2)).fold(0.0_f64, f64::max) * 1.15;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..groups.len() as f64, 0.0..top.max(1e-9))
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let centre = x - x.floor();
            if (centre - 0.5).abs() < 0.05 {
                names.get(x.floor() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(y_label)
        .label_style((FONT, 14))
        .draw()
        .map_err(draw_error)?;
    let width = 0.8 / per_group;
    for (b, label) in labels.iter().enumerate() {
        let color = PALETTE[b % PALETTE.len()];
        let rects = groups.iter().enumerate().filter_map(|(g, group)| {
            group.bars.get(b).map(|bar| {
                let left = g as f64 + 0.1 + b as f64 * width;
                Rectangle::new([(left, 0.0), (left + width * 0.9, bar.1)], color.filled())
            })
        });
        chart
            .draw_series(rects)
            .map_err(draw_error)?
            .label(label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        let bars = groups.iter().enumerate().filter_map(|(g, group)| {
            group.bars.get(b).map(|bar| {
                let centre = g as f64 + 0.1 + b as f64 * width + width * 0.45;
                ErrorBar::new_vertical(
                    centre,
                    bar.1 - bar.2,
                    bar.1,
                    bar.1 + bar.2,
                    BLACK.filled(),
                    6,
                )
            })
        });
        chart.draw_series(bars).map_err(draw_error)?;
    }
    draw_legend(&mut chart)?;
    root.present().map_err(draw_error)
}

/// One panel of a [`heatmaps`] grid: a title and a K x K matrix (rows x, columns y).
pub struct Heatmap {
    /// The panel's title (e.g. the method and its variance).
    pub title: String,
    /// The matrix, row-major.
    pub matrix: Vec<Vec<f64>>,
}

/// A grid of heatmaps, `columns` per row, each coloured from white (0) to dark blue (its maximum).
pub fn heatmaps(path: &Path, title: &str, panels: &[Heatmap], columns: usize) -> Result<()> {
    register_fonts();
    let columns = columns.max(1);
    let rows = panels.len().div_ceil(columns).max(1);
    let cell = 260u32;
    let root = BitMapBackend::new(path, (cell * columns as u32, cell * rows as u32 + 40))
        .into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let root = root.titled(title, (FONT, 22)).map_err(draw_error)?;
    let areas = root.split_evenly((rows, columns));
    for (panel, area) in panels.iter().zip(areas) {
        let k = panel.matrix.len();
        let max = panel.matrix.iter().flatten().copied().fold(0.0_f64, f64::max).max(1e-300);
        let mut chart = ChartBuilder::on(&area)
            .caption(&panel.title, (FONT, 14))
            .margin(6)
            .build_cartesian_2d(0..k, 0..k)
            .map_err(draw_error)?;
        chart
            .draw_series(panel.matrix.iter().enumerate().flat_map(|(i, row)| {
                row.iter().enumerate().map(move |(j, &v)| {
                    let t = (v / max).clamp(0.0, 1.0);
                    let shade = |c: f64| (255.0 - t * (255.0 - c)) as u8;
                    // Row i drawn from the top, like a matrix.
                    Rectangle::new(
                        [(j, k - 1 - i), (j + 1, k - i)],
                        RGBColor(shade(8.0), shade(48.0), shade(107.0)).filled(),
                    )
                })
            }))
            .map_err(draw_error)?;
    }
    root.present().map_err(draw_error)
}

fn padded_range(values: &[f64]) -> (f64, f64) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.06).max(1e-9);
    (lo - pad, hi + pad)
}

fn format_tick(x: f64) -> String {
    if x == 0.0 {
        "0".to_owned()
    } else if x.abs() >= 100.0 || x.abs() < 0.01 {
        format!("{x:.1e}")
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_figure_renders_to_a_png() {
        let dir = std::env::temp_dir().join(format!("reproduce-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let series = [Series {
            name: "a".into(),
            points: vec![(0.0, 0.25, 0.01), (0.4, 0.27, 0.005), (102.4, 0.3, 0.0)],
        }];
        line_plot(
            &dir.join("line.png"),
            "line",
            ("rho", "P(x != y)"),
            &series,
            &[("max".into(), 0.24)],
            true,
        )
        .unwrap();
        let groups = [BarGroup {
            name: "joint".into(),
            bars: vec![("GM".into(), 1.9, 0.2), ("CDF".into(), 1.3, 0.1)],
        }];
        bar_chart(&dir.join("bar.png"), "bars", "variance", &groups).unwrap();
        let panel = Heatmap { title: "m".into(), matrix: vec![vec![0.5, 0.0], vec![0.1, 0.4]] };
        heatmaps(&dir.join("heat.png"), "heat", &[panel], 3).unwrap();
        for name in ["line.png", "bar.png", "heat.png"] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            assert_eq!(&bytes[1..4], b"PNG", "{name}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
