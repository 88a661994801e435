//! The charts: the `sync` scenario's wall time by fleet size, and one figure of the `day`
//! scenario against fleet size.

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

/// A small SVG line chart of one figure against fleet size; a missing value leaves a gap.
pub(super) fn figure_chart(title: &str, unit: &str, points: &[(f64, Option<f64>)]) -> String {
    let (w, h, left, bottom, top, right) = (640.0, 360.0, 80.0, 300.0, 40.0, 610.0);
    let max_x = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_y = points
        .iter()
        .filter_map(|p| p.1)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.15;
    let x = |v: f64| left + v / max_x * (right - left);
    let y = |v: f64| bottom - v / max_y * (bottom - top);
    let line: Vec<String> = points
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!("{:.1},{:.1}", x(*n), y(v))))
        .collect();
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;");
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <title>{t}</title><rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\
         <text x=\"{left}\" y=\"20\" font-size=\"13\">{t} ({u}) vs fleet size</text>\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        t = esc(title),
        u = esc(unit)
    );
    for i in 0..=4 {
        let v = max_y * f64::from(i) / 4.0;
        let label = if max_y < 10.0 {
            format!("{v:.3}")
        } else {
            format!("{v:.0}")
        };
        svg.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text><line x1=\"{left}\" y1=\"{:.1}\" x2=\"{right}\" y2=\"{:.1}\" stroke=\"#ddd\"/>",
            left - 6.0,
            y(v) + 4.0,
            y(v),
            y(v)
        ));
    }
    for (n, v) in points {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{n:.0}</text>",
            x(*n),
            bottom + 18.0
        ));
        if let Some(v) = v {
            svg.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#1f6feb\"/>",
                x(*n),
                y(*v)
            ));
        }
    }
    svg.push_str(&format!(
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">accounts</text>\
         <polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2.5\" points=\"{}\"/></svg>\n",
        (left + right) / 2.0,
        bottom + 40.0,
        line.join(" ")
    ));
    svg
}
