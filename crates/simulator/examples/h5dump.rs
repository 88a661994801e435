//! temporary
fn main() {
    let mut config = simulator::SimConfig::new(1001, 2, 300);
    config.now = chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
        .unwrap()
        .to_utc();
    config.history_days = 540;
    config.anomalies = true;
    for s in simulator::daily_series(&config) {
        println!(
            "{} anomalies {:?}",
            s.username,
            s.anomalies
                .iter()
                .map(|a| (a.day, a.kind, a.factor as f32, a.days))
                .collect::<Vec<_>>()
        );
        for i in (0..s.followers.len()).step_by(1).take(120) {
            println!(
                "{} {} reach {} views {} pv {} web {}",
                s.first_day + chrono::Days::new(i as u64),
                s.followers[i],
                s.metrics["reach"][i],
                s.metrics["views"][i],
                s.metrics["profile_views"][i],
                s.metrics["website_clicks"][i]
            );
        }
    }
}
