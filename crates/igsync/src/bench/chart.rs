//! The chart of the `sync` scenario: wall time by fleet size per dialect and worker count.

use serde_json::Value;

use crate::cli::BenchArgs;

/// A small SVG line chart of wall time and the lower bound against fleet size.
pub(super) fn fleet_chart(points: &[Value], args: &BenchArgs) -> String {
    let (w, h, left, bottom, top, right) = (640.0, 360.0, 60.0, 300.0, 30.0, 610.0);
    let max_x = points
        .iter()
        .filter_map(|p| p["accounts"].as_f64())
        .fold(1.0, f64::max);
    let max_y = points
        .iter()
        .flat_map(|p| {
            [
                p["wall_s"].as_f64().unwrap_or(0.0),
                p["lower_bound_s"].as_f64().unwrap_or(0.0),
            ]
        })
        .fold(1.0, f64::max)
        * 1.1;
    let x = |v: f64| left + v / max_x * (right - left);
    let y = |v: f64| bottom - v / max_y * (bottom - top);
    let line = |key: &str| {
        points
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    x(p["accounts"].as_f64().unwrap_or(0.0)),
                    y(p[key].as_f64().unwrap_or(0.0))
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <title>igsync full-sync wall time against fleet size</title>\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\
         <text x=\"{left}\" y=\"18\" font-size=\"13\">Full sync wall time vs fleet size: {} posts/account, {} ms latency, {} at a time, SQLite</text>\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        args.media, args.latency_ms, args.concurrency
    );
    for i in 0..=4 {
        let v = max_y * i as f64 / 4.0;
        svg.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{:.0} s</text><line x1=\"{left}\" y1=\"{:.1}\" x2=\"{right}\" y2=\"{:.1}\" stroke=\"#ddd\"/>",
            left - 6.0, y(v) + 4.0, v, y(v), y(v)
        ));
    }
    for p in points {
        let n = p["accounts"].as_f64().unwrap_or(0.0);
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{n:.0}</text>",
            x(n),
            bottom + 18.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">accounts</text>\
         <polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2.5\" points=\"{}\"/>\
         <polyline fill=\"none\" stroke=\"#999\" stroke-width=\"2\" stroke-dasharray=\"6 4\" points=\"{}\"/>\
         <text x=\"{:.0}\" y=\"48\" fill=\"#1f6feb\">— measured wall time</text>\
         <text x=\"{:.0}\" y=\"64\" fill=\"#777\">- - lower bound (round trips ÷ concurrency × latency)</text></svg>\n",
        (left + right) / 2.0, bottom + 40.0, line("wall_s"), line("lower_bound_s"), left + 12.0, left + 12.0
    ));
    svg
}
