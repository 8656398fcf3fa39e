//! The achieved RTO and RPO of a dataset's runs over time against its objectives, as SVG
//! (plotters), so the page needs nothing from outside. Only runs that count are drawn.

use plotters::prelude::*;

use super::DatasetPack;
use crate::runbook::time::parse_timestamp;

/// Minutes, for the axis: objectives are minutes to days.
fn minutes(ms: u64) -> f64 {
    ms as f64 / 60_000.0
}

/// `None` when no run that counts has a figure to draw.
pub fn svg(d: &DatasetPack) -> Result<Option<String>, String> {
    let points: Vec<(f64, Option<f64>, Option<f64>)> = d
        .runs
        .iter()
        .filter(|r| r.counts)
        .filter_map(|r| {
            let t = parse_timestamp(&r.started).ok()?;
            Some((t.as_second() as f64 / 86_400.0, r.rto_ms.map(minutes), r.rpo_ms.map(minutes)))
        })
        .collect();
    if points.iter().all(|(_, a, b)| a.is_none() && b.is_none()) {
        return Ok(None);
    }
    let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (x, _, _)| (lo.min(*x), hi.max(*x)));
    let (lo, hi) = (lo - 7.0, hi + 7.0);
    let top = points
        .iter()
        .flat_map(|(_, a, b)| [*a, *b])
        .flatten()
        .chain([minutes(d.rto_ms), minutes(d.rpo_ms)])
        .fold(1.0f64, f64::max)
        * 1.15;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (760, 320)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{}: achieved RTO and RPO (minutes)", d.id), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0f64..top)
            .map_err(e)?;
        let date = |x: &f64| {
            jiff::Timestamp::from_second((*x * 86_400.0) as i64)
                .map(|t| t.strftime("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        chart.configure_mesh().x_labels(6).x_label_formatter(&date).y_desc("minutes").draw().map_err(e)?;
        let (rto, rpo) = (RGBColor(0x1f, 0x5f, 0xbf), RGBColor(0xd0, 0x6a, 0x00));
        for (objective, colour, name) in [(d.rto_ms, rto, "RTO objective"), (d.rpo_ms, rpo, "RPO objective")] {
            let y = minutes(objective);
            chart
                .draw_series(LineSeries::new([(lo, y), (hi, y)], colour.stroke_width(1)))
                .map_err(e)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(1)));
        }
        let rto_points: Vec<(f64, f64)> = points.iter().filter_map(|(x, a, _)| a.map(|a| (*x, a))).collect();
        let rpo_points: Vec<(f64, f64)> = points.iter().filter_map(|(x, _, b)| b.map(|b| (*x, b))).collect();
        chart
            .draw_series(LineSeries::new(rto_points.clone(), rto.stroke_width(2)))
            .map_err(e)?
            .label("RTO achieved")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], rto.stroke_width(2)));
        chart.draw_series(rto_points.iter().map(|p| Circle::new(*p, 4, rto.filled()))).map_err(e)?;
        chart
            .draw_series(LineSeries::new(rpo_points.clone(), rpo.stroke_width(2)))
            .map_err(e)?
            .label("RPO achieved")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], rpo.stroke_width(2)));
        chart.draw_series(rpo_points.iter().map(|p| TriangleMarker::new(*p, 5, rpo.filled()))).map_err(e)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(Some(out))
}
