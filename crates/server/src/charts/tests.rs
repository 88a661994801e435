//! Unit tests of the charts: formats, axes, and the SVG of every chart kind (well-formed,
//! escaped, gaps for missing values).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::axis::{ValueAxis, nice_step, time_ticks};
use super::heatmap::heat_colour;
use super::*;

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap()
}

/// A crude well-formedness check: every opened element is closed in order.
fn assert_balanced(svg: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name),
                "mismatched </{name}> in {svg}"
            );
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap().to_owned();
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
}

#[test]
fn escape_neutralises_markup() {
    assert_eq!(
        escape("<script>\"a\" & 'b'</script>"),
        "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
    );
}

#[test]
fn formats_are_readable() {
    assert_eq!(format_count(1_234_567.0), "1,234,567");
    assert_eq!(format_count(-1_000.0), "-1,000");
    assert_eq!(format_count(12.5), "12.5");
    assert_eq!(format_count(999.0), "999");
    assert_eq!(format_compact(12_300.0), "12.3k");
    assert_eq!(format_compact(4_500_000.0), "4.5M");
    assert_eq!(format_compact(950.0), "950");
    assert_eq!(format_duration_ms(350.0), "350 ms");
    assert_eq!(format_duration_ms(1_500.0), "1.5 s");
    assert_eq!(format_duration_ms(240_000.0), "4 min");
    assert_eq!(ValueFormat::Percent.full(3.456), "3.46%");
    assert_eq!(ValueFormat::Ratio.full(2.5), "2.50×");
    assert_eq!(format_decimal(-0.0001, 2), "0");
}

#[test]
fn nice_steps_are_round() {
    assert_eq!(nice_step(0.7), 1.0);
    assert_eq!(nice_step(1.3), 2.0);
    assert_eq!(nice_step(23.0), 25.0);
    assert_eq!(nice_step(260.0), 500.0);
    let axis = ValueAxis::new(
        &[10_020.0, 10_480.0],
        Scale::LinearFitted,
        ValueFormat::Count,
    );
    assert!(
        axis.min <= 10_020.0 && axis.min > 9_000.0,
        "fitted axis starts near the data: {}",
        axis.min
    );
    assert!(axis.max >= 10_480.0);
    let axis = ValueAxis::new(&[3.0, 80.0], Scale::LinearFromZero, ValueFormat::Count);
    assert_eq!(axis.min, 0.0);
    assert_eq!(axis.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0]);
}

#[test]
fn line_chart_has_title_axes_points_and_escaped_labels() {
    let svg = LineChart::new("followers<1>", "Followers <per day>", ValueFormat::Count)
        .y_label("followers")
        .scale(Scale::LinearFitted)
        .series(TimeSeries::new(
            "Followers & friends",
            vec![
                (day(1), Some(1000.0)),
                (day(2), Some(1010.0)),
                (day(3), Some(1042.0)),
            ],
        ))
        .to_svg();
    assert_balanced(&svg);
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("viewBox=\"0 0 960 280\""));
    assert!(
        svg.contains("id=\"followers-1-\""),
        "id is sanitised: {svg}"
    );
    assert!(svg.contains("<title id=\"followers-1--title\">Followers &lt;per day&gt;</title>"));
    assert!(svg.contains("Followers &amp; friends"));
    assert!(!svg.contains("<per day>"));
    assert!(svg.contains("<polyline"));
    assert_eq!(svg.matches("<circle").count(), 3);
    assert!(svg.contains("Followers &amp; friends — 2026-03-03: 1,042"));
    assert!(
        svg.contains(">Mar 1<") || svg.contains(">Mar 2<"),
        "date ticks: {svg}"
    );
    assert!(svg.contains(">followers<"));
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
}

#[test]
fn missing_values_break_the_line_instead_of_dropping_to_zero() {
    let svg = LineChart::new("reach", "Reach", ValueFormat::Count)
        .area()
        .series(TimeSeries::daily(
            "Reach",
            vec![
                (NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), Some(50.0)),
                (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), Some(60.0)),
                (NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(), None),
                (NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(), Some(70.0)),
                (NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(), Some(65.0)),
            ],
        ))
        .to_svg();
    assert_balanced(&svg);
    assert_eq!(
        svg.matches("<polyline").count(),
        2,
        "two segments around the gap"
    );
    assert_eq!(
        svg.matches("fill-opacity=\"0.15\"").count(),
        2,
        "two filled areas"
    );
    assert_eq!(
        svg.matches("<circle").count(),
        4,
        "no point for the missing day"
    );
}

#[test]
fn empty_chart_says_so() {
    let svg = LineChart::new("x", "Views", ValueFormat::Count)
        .series(TimeSeries::new("Views", vec![]))
        .to_svg();
    assert_balanced(&svg);
    assert!(svg.contains("No data for this period"));
    let svg = LineChart::new("x", "Views", ValueFormat::Count)
        .series(TimeSeries::new(
            "Views",
            vec![(day(1), None), (day(2), None)],
        ))
        .to_svg();
    assert_balanced(&svg);
    assert!(svg.contains("No data for this period"));
}

#[test]
fn partial_last_bucket_is_dashed() {
    let svg = LineChart::new("tp", "Throughput", ValueFormat::Count)
        .series(TimeSeries::new(
            "completed",
            vec![
                (day(1), Some(10.0)),
                (day(2), Some(12.0)),
                (day(3), Some(3.0)),
            ],
        ))
        .last_point_partial(true)
        .to_svg();
    assert_balanced(&svg);
    assert!(svg.contains("stroke-dasharray"));
    assert!(svg.contains("Latest bucket, still filling"));
}

#[test]
fn percentile_chart_uses_a_log_duration_axis() {
    let points: Vec<PercentilePoint> = (1..=5)
        .map(|d| PercentilePoint {
            at: day(d),
            p50: Some(40.0 * f64::from(d)),
            p95: Some(900.0),
            p99: Some(12_000.0),
        })
        .collect();
    let svg = percentile_chart("wait", "Wait time", &points, false).to_svg();
    assert_balanced(&svg);
    for label in ["p50", "p95", "p99"] {
        assert!(svg.contains(&format!(">{label}<")), "legend {label}");
    }
    // From 10 ms to 1 min, in readable steps.
    for tick in [">10 ms<", ">100 ms<", ">1 s<", ">10 s<", ">1 min<"] {
        assert!(svg.contains(tick), "tick {tick} in {svg}");
    }
    assert!(svg.contains("p99 — 2026-03-05: 12 s"));
}

#[test]
fn compact_charts_use_the_smaller_canvas() {
    let svg = LineChart::new("c", "Compact", ValueFormat::Count)
        .compact()
        .series(TimeSeries::new(
            "v",
            vec![(day(1), Some(1.0)), (day(2), Some(2.0))],
        ))
        .to_svg();
    assert!(svg.contains("viewBox=\"0 0 560 240\""));
    assert!(svg.contains("class=\"chart line\""));
}

#[test]
fn long_series_spanning_months_get_month_ticks_and_no_per_point_marks() {
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let points = (0..365)
        .map(|d| (start + Duration::days(d), Some(d as f64)))
        .collect();
    let svg = LineChart::new("year", "Year", ValueFormat::Count)
        .series(TimeSeries::new("v", points))
        .to_svg();
    assert_balanced(&svg);
    assert_eq!(svg.matches("<circle").count(), 0);
    assert!(
        svg.contains(">Jan 2025<") || svg.contains(">Apr<") || svg.contains(">Mar<"),
        "{svg}"
    );
    assert!(
        svg.len() < 20_000,
        "a year of days stays small: {}",
        svg.len()
    );
}

#[test]
fn hourly_ticks_for_short_spans() {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let ticks = time_ticks(start, start + Duration::hours(12));
    assert!(ticks.len() >= 3 && ticks.len() <= 8, "{ticks:?}");
    assert!(ticks.iter().any(|(_, l)| l == "06:00"), "{ticks:?}");
    let ticks = time_ticks(start, start + Duration::days(30));
    assert!(
        ticks
            .iter()
            .all(|(_, l)| l.starts_with("Mar") || l.starts_with("Apr")),
        "{ticks:?}"
    );
}

#[test]
fn bar_chart_scales_bars_to_the_largest_value() {
    let svg = BarChart::new("types", "Posts by type", ValueFormat::Count)
        .bar(Bar::new("Reels", 40.0).note("50%"))
        .bar(Bar::new("Feed <img>", 20.0))
        .bar(Bar::new("Story", 20.0))
        .to_svg();
    assert_balanced(&svg);
    assert!(svg.contains("Feed &lt;img&gt;"));
    assert!(svg.contains("<title>Reels: 40 (50%)</title>"));
    // Largest bar spans the whole scale (560 - 150 - 80 = 330), half of it for 20.
    assert!(svg.contains("width=\"330.0\""));
    assert_eq!(svg.matches("width=\"165.0\"").count(), 2);
    let empty = BarChart::new("e", "Nothing", ValueFormat::Count).to_svg();
    assert_balanced(&empty);
    assert!(empty.contains("No data"));
}

#[test]
fn heatmap_has_168_cells_a_legend_and_highlights() {
    let cells = vec![
        HeatCell {
            weekday: 0,
            hour: 9,
            value: Some(2.0),
            detail: Some("3 posts".into()),
        },
        HeatCell {
            weekday: 4,
            hour: 18,
            value: Some(6.0),
            detail: None,
        },
        HeatCell {
            weekday: 9,
            hour: 99,
            value: Some(100.0),
            detail: None,
        },
    ];
    let svg = Heatmap {
        id: "best".into(),
        title: "Best posting times".into(),
        value_label: "engagement rate by reach".into(),
        time_zone: "Europe/Berlin".into(),
        format: ValueFormat::Percent,
        cells,
        highlight: vec![(4, 18)],
    }
    .to_svg();
    assert_balanced(&svg);
    let cell_titles = svg.matches(":00–").count() + svg.matches(":00: no data").count();
    assert_eq!(cell_titles, 168);
    assert!(svg.contains("Mon 09:00–10:00: engagement rate by reach 2% (3 posts)"));
    assert!(svg.contains("Fri 18:00–19:00"));
    assert!(svg.contains("recommended: Fri 18:00"));
    assert!(svg.contains(">no data<") && svg.contains(">recommended<"));
    assert!(
        svg.contains(&heat_colour(1.0)),
        "the maximum gets the darkest colour"
    );
    assert!(svg.contains("Europe/Berlin"));
    assert!(
        !svg.contains("by reach 100%"),
        "out-of-range cells are ignored"
    );
}

#[test]
fn a_band_is_shaded_under_the_lines_and_widens_the_axes() {
    let chart = LineChart::new("f", "Followers & forecast", ValueFormat::Count)
        .scale(Scale::LinearFitted)
        .series(TimeSeries::new(
            "Followers",
            vec![(day(1), Some(100.0)), (day(2), Some(110.0))],
        ))
        .band(Band {
            label: "80 % <interval>".into(),
            points: vec![
                (day(3), 105.0, 135.0),
                (day(4), 100.0, 160.0),
                (day(5), f64::NAN, 1.0),
            ],
        });
    let svg = chart.to_svg();
    assert_balanced(&svg);
    assert_eq!(svg.matches("class=\"band\"").count(), 1, "{svg}");
    assert!(
        svg.contains("<title>80 % &lt;interval&gt;</title>"),
        "{svg}"
    );
    // The description names the band's finite days; the time axis reaches its last one and
    // the value axis its upper edge (160).
    assert!(
        svg.contains(
            "<desc id=\"f-desc\">80 % &lt;interval&gt; from 2026-03-03 to 2026-03-04; Followers"
        ),
        "{svg}"
    );
    assert!(svg.contains(">Mar 4</text>"), "{svg}");
    assert!(svg.contains(">160</text>"), "{svg}");
    // Without a band nothing is shaded.
    let plain = LineChart::new("p", "Followers", ValueFormat::Count)
        .series(TimeSeries::new("Followers", vec![(day(1), Some(1.0))]))
        .to_svg();
    assert!(!plain.contains("class=\"band\""));
}
