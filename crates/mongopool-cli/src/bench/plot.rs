//! `--plot FILE.svg`: latency percentiles (top) and throughput (bottom) over time.

use std::path::Path;

use plotters::prelude::*;

use super::recorder::Point;
use crate::BoxError;

const SIZE: (u32, u32) = (1000, 700);

/// Writes the SVG of `timeline` to `path`, titled `title`.
pub fn write_svg(path: &Path, title: &str, timeline: &[Point]) -> Result<(), BoxError> {
    if timeline.is_empty() {
        return Err("nothing to plot: the run measured no tick".into());
    }
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let (top, bottom) = root.split_vertically(SIZE.1 / 2 - 20);
    let t_max = timeline.last().map_or(1.0, |p| p.t_s).max(1e-3);

    let ms = |us: u64| us as f64 / 1000.0;
    let latency_max = timeline.iter().map(|p| ms(p.p99_us)).fold(0.0, f64::max) * 1.1;
    let mut latency = ChartBuilder::on(&top)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..t_max, 0.0..latency_max.max(1e-3))?;
    latency
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("latency (ms)")
        .draw()?;
    for (name, color, pick) in [
        ("p50", BLUE, (|p: &Point| p.p50_us) as fn(&Point) -> u64),
        ("p99", RED, |p: &Point| p.p99_us),
    ] {
        latency
            .draw_series(LineSeries::new(
                timeline.iter().map(|p| (p.t_s, ms(pick(p)))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    latency
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let ops_max = timeline.iter().map(|p| p.ops_per_sec).fold(0.0, f64::max) * 1.1;
    let mut throughput = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..t_max, 0.0..ops_max.max(1.0))?;
    throughput
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("ops/s")
        .draw()?;
    throughput
        .draw_series(LineSeries::new(
            timeline.iter().map(|p| (p.t_s, p.ops_per_sec)),
            GREEN.stroke_width(2),
        ))?
        .label("throughput")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    throughput
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
