//! The `analytics` scenario: how accurate igsync's anomaly detector and forecasters are, on
//! the simulator's daily series with labelled anomalies (`SimConfig::anomalies`), read
//! directly (`simulator::daily_series`: pure, no HTTP, no database) over many seeded worlds.
//!
//! * Anomalies: every day of reach, views, profile views and website taps gets a verdict;
//!   recall is the share of injected events (spike, drop, first day of a level shift) flagged
//!   on their day, precision the share of flagged days that an injected anomaly affects (its
//!   day, the days of a shift, or the day a shift ends), for a range of k.
//! * Forecasts: followers 7/30/90 days ahead and weekly views 1/4/13 weeks ahead from five
//!   origins per account, by each method and by the backtest choice: MAPE, MASE (scaled by
//!   the in-sample one-step naive error) and the coverage of the 80 % interval.
//! * Runtime per account-year of detecting and forecasting.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use analytics::anomaly::{AnomalyConfig, SeriesKind, assess_day};
use analytics::forecast::{ForecastConfig, ForecastMethod, MethodChoice, forecast};
use analytics::{DailySeries, Direction};
use chrono::NaiveDate;
use serde_json::{Value, json};
use simulator::{AccountSeries, InjectedKind, SimConfig, daily_series};

use super::{round1, round2};
use crate::cli::BenchArgs;

const WORLDS: u64 = 10;
const HISTORY_DAYS: u32 = 540;
const KS: [f64; 8] = [2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0];
const CHECKED: [(&str, &str); 4] = [
    ("reach", "reach"),
    ("views", "views"),
    ("profile_views", "profile views"),
    ("website_clicks", "website taps"),
];

pub(crate) fn analytics_scenario(args: &BenchArgs) -> anyhow::Result<Value> {
    let per_world = args.accounts.div_ceil(WORLDS as usize).max(1);
    eprintln!(
        "analytics: {WORLDS} seeded worlds (seeds {}–{}) × {per_world} accounts, {HISTORY_DAYS} days of daily series with labelled anomalies, read directly from the simulator (no HTTP, no database)",
        args.seed + 1,
        args.seed + WORLDS
    );
    let mut accounts = Vec::new();
    for seed in 1..=WORLDS {
        let mut config = SimConfig::new(args.seed + seed, per_world, args.media.min(600));
        config.now = chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")?.to_utc();
        config.history_days = HISTORY_DAYS;
        config.anomalies = true;
        accounts.extend(daily_series(&config));
    }
    let account_years: f64 = accounts
        .iter()
        .map(|a| a.followers.len() as f64 / 365.0)
        .sum();

    let t = Instant::now();
    let anomalies = anomaly_figures(&accounts);
    let anomaly_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let forecasts = forecast_figures(&accounts);
    let forecast_secs = t.elapsed().as_secs_f64();

    let out = json!({
        "worlds": WORLDS,
        "seeds": [args.seed + 1, args.seed + WORLDS],
        "accounts": accounts.len(),
        "history_days": HISTORY_DAYS,
        "account_years": round2(account_years),
        "anomalies": anomalies,
        "forecasts": forecasts,
        "runtime": {
            "build": if cfg!(debug_assertions) { "debug" } else { "release" },
            "anomaly_ms_per_account_year_per_k": round2(
                anomaly_secs * 1000.0 / account_years / KS.len() as f64
            ),
            "forecast_ms_per_account_year": round2(forecast_secs * 1000.0 / account_years),
        },
    });
    print_tables(&out);
    Ok(out)
}

/// Per k: events, detected, flagged days, flagged days explained by an injection.
fn anomaly_figures(accounts: &[AccountSeries]) -> Value {
    let mut rows = Vec::new();
    for k in KS {
        let config = AnomalyConfig {
            k,
            ..AnomalyConfig::default()
        };
        let (mut events, mut detected, mut flagged, mut explained) = (0usize, 0, 0, 0);
        let mut no_verdict = 0usize;
        let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut days_checked = 0usize;
        let mut natural = 0usize;
        for a in accounts {
            let affected = affected_days(a);
            let factors = injected_factors(a);
            for (metric, label) in CHECKED {
                let series = DailySeries::new(
                    a.first_day,
                    a.metrics[metric].iter().map(|v| Some(*v as f64)).collect(),
                );
                // The same series without the injections: days flagged there are the
                // world's own outliers (a post far above the account's usual), not labelled.
                let clean = DailySeries::new(
                    a.first_day,
                    a.metrics[metric]
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let f = factors.get(&series.day(i)).copied().unwrap_or(1.0);
                            Some(*v as f64 / f)
                        })
                        .collect(),
                );
                let mut hits: BTreeMap<NaiveDate, Direction> = BTreeMap::new();
                for idx in 0..series.len() {
                    match assess_day(&series, idx, SeriesKind::Count, label, &config) {
                        Ok(Some(found)) => {
                            flagged += 1;
                            if affected.contains(&found.day) {
                                explained += 1;
                            } else if matches!(
                                assess_day(&clean, idx, SeriesKind::Count, label, &config),
                                Ok(Some(_))
                            ) {
                                natural += 1;
                            }
                            hits.insert(found.day, found.direction);
                            days_checked += 1;
                        }
                        Ok(None) => days_checked += 1,
                        Err(_) => {}
                    }
                }
                for inj in &a.anomalies {
                    let Some(idx) = series.index_of(inj.day) else {
                        continue;
                    };
                    if assess_day(&series, idx, SeriesKind::Count, label, &config).is_err() {
                        no_verdict += 1;
                        continue;
                    }
                    events += 1;
                    let kind = kind_key(inj.kind);
                    let e = by_kind.entry(kind).or_default();
                    e.0 += 1;
                    // Flagged on its day, in its direction.
                    let expected = if inj.factor > 1.0 {
                        Direction::Above
                    } else {
                        Direction::Below
                    };
                    if hits.get(&inj.day) == Some(&expected) {
                        detected += 1;
                        e.1 += 1;
                    }
                }
            }
        }
        let account_years: f64 = accounts
            .iter()
            .map(|a| a.followers.len() as f64 / 365.0)
            .sum::<f64>()
            * CHECKED.len() as f64;
        let precision = ratio(explained, flagged);
        let precision_without_natural = ratio(explained, flagged - natural);
        let recall = ratio(detected, events);
        rows.push(json!({
            "k": k,
            "events": events,
            "events_without_verdict": no_verdict,
            "detected": detected,
            "flagged_days": flagged,
            "flagged_explained": explained,
            "days_checked": days_checked,
            "flagged_natural_outliers": natural,
            "precision": precision,
            "precision_without_natural_outliers": precision_without_natural,
            "f1_without_natural_outliers": f1(precision_without_natural, recall),
            "recall": recall,
            "f1": f1(precision, recall),
            "false_alarms_per_series_year": round2((flagged - explained) as f64 / account_years),
            "false_alarms_without_natural_per_series_year": round2(
                (flagged - explained - natural) as f64 / account_years
            ),
            "recall_by_kind": by_kind
                .iter()
                .map(|(k, (n, d))| (k.to_string(), json!(ratio(*d, *n))))
                .collect::<serde_json::Map<_, _>>(),
        }));
    }
    json!({ "default_k": analytics::anomaly::DEFAULT_K, "by_k": rows })
}

/// The product of the injected factors per affected day.
fn injected_factors(a: &AccountSeries) -> BTreeMap<NaiveDate, f64> {
    let mut factors = BTreeMap::new();
    for inj in &a.anomalies {
        for d in inj.day.iter_days().take(inj.days as usize) {
            *factors.entry(d).or_insert(1.0) *= inj.factor;
        }
    }
    factors
}

/// Days an injection affects: its day, a shift's days and the day a shift ends.
fn affected_days(a: &AccountSeries) -> HashSet<NaiveDate> {
    let mut days = HashSet::new();
    for inj in &a.anomalies {
        for d in inj.day.iter_days().take(inj.days as usize + 1) {
            if inj.kind == InjectedKind::LevelShift || d == inj.day {
                days.insert(d);
            }
        }
    }
    days
}

fn kind_key(kind: InjectedKind) -> &'static str {
    match kind {
        InjectedKind::Spike => "spike",
        InjectedKind::Drop => "drop",
        InjectedKind::LevelShift => "level_shift",
    }
}

/// A series, its horizons, where its errors go and its forecast origins.
type Case<'a, 'b> = (
    &'a DailySeries,
    &'a [usize],
    &'a mut BTreeMap<(&'b str, usize), Errors>,
    Vec<usize>,
);

/// Errors of one forecaster at one horizon.
#[derive(Default)]
struct Errors {
    ape: Vec<f64>,
    scaled: Vec<f64>,
    covered: usize,
    n: usize,
}

impl Errors {
    fn add(&mut self, actual: f64, point: f64, low: f64, high: f64, scale: f64) {
        if actual > 0.0 {
            self.ape.push((actual - point).abs() / actual * 100.0);
        }
        if scale > 0.0 {
            self.scaled.push((actual - point).abs() / scale);
        }
        self.n += 1;
        if low <= actual && actual <= high {
            self.covered += 1;
        }
    }

    fn summary(&self) -> Value {
        json!({
            "n": self.n,
            "mape_pct": round2(mean(&self.ape)),
            "mase": round2(mean(&self.scaled)),
            "coverage_80_pct": round1(self.covered as f64 / self.n.max(1) as f64 * 100.0),
        })
    }
}

fn forecast_figures(accounts: &[AccountSeries]) -> Value {
    let choices = [
        ("auto", MethodChoice::Auto),
        (
            "damped_trend",
            MethodChoice::Fixed(ForecastMethod::DampedTrend),
        ),
        (
            "robust_trend",
            MethodChoice::Fixed(ForecastMethod::RobustTrend),
        ),
    ];
    let mut out = serde_json::Map::new();
    // Followers, daily; horizons in days.
    let mut followers: BTreeMap<(&str, usize), Errors> = BTreeMap::new();
    let mut weekly: BTreeMap<(&str, usize), Errors> = BTreeMap::new();
    let mut chosen: BTreeMap<&str, usize> = BTreeMap::new();
    for a in accounts {
        let daily = DailySeries::new(
            a.first_day,
            a.followers.iter().map(|v| Some(*v as f64)).collect(),
        );
        let views = &a.metrics["views"];
        let weeks = DailySeries::new(
            a.first_day,
            views
                .chunks_exact(7)
                .map(|w| Some(w.iter().sum::<u64>() as f64))
                .collect(),
        );
        let cases: [Case<'_, '_>; 2] = [
            (
                &daily,
                &[7, 30, 90],
                &mut followers,
                vec![180, 240, 300, 360, 420],
            ),
            (&weeks, &[1, 4, 13], &mut weekly, vec![26, 34, 42, 50, 58]),
        ];
        for (series, horizons, errors, origins) in cases {
            let max_h = *horizons.last().unwrap_or(&1);
            for origin in origins {
                if origin + max_h >= series.len() {
                    continue;
                }
                let past = series.truncated(origin);
                let scale = naive_scale(&past.values);
                for (name, method) in choices {
                    let config = ForecastConfig {
                        method,
                        ..ForecastConfig::default()
                    };
                    let Ok(f) = forecast(&past, max_h, &config) else {
                        continue;
                    };
                    if name == "auto" && horizons[0] == 7 {
                        *chosen.entry(f.method.key()).or_default() += 1;
                    }
                    for &h in horizons {
                        let (Some(p), Some(actual)) = (f.at(h), series.values[origin + h]) else {
                            continue;
                        };
                        errors
                            .entry((name, h))
                            .or_default()
                            .add(actual, p.value, p.low, p.high, scale);
                    }
                }
            }
        }
    }
    for (key, unit, errors) in [
        ("followers", "days", &followers),
        ("weekly_views", "weeks", &weekly),
    ] {
        let mut by = serde_json::Map::new();
        for ((name, h), e) in errors {
            by.entry(name.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .map(|m| m.insert(format!("{h}_{unit}"), e.summary()));
        }
        out.insert(key.to_string(), Value::Object(by));
    }
    out.insert("auto_chose_for_followers".into(), json!(chosen));
    Value::Object(out)
}

/// Mean absolute one-step change of the history (the naive forecast's error), for MASE.
fn naive_scale(values: &[Option<f64>]) -> f64 {
    let diffs: Vec<f64> = values
        .windows(2)
        .filter_map(|w| Some((w[1]? - w[0]?).abs()))
        .collect();
    mean(&diffs)
}

fn print_tables(out: &Value) {
    println!(
        "anomalies (reach, views, profile views, website taps; default k = {}):",
        out["anomalies"]["default_k"]
    );
    println!(
        "{:>5} {:>7} {:>8} {:>8} {:>6} {:>6} {:>6} {:>9} {:>7} {:>9}  recall by kind",
        "k",
        "events",
        "flagged",
        "natural",
        "prec",
        "recall",
        "F1",
        "prec-nat",
        "F1-nat",
        "false/yr"
    );
    for row in out["anomalies"]["by_k"].as_array().into_iter().flatten() {
        let c = |key: &str| row[key].to_string();
        println!(
            "{:>5} {:>7} {:>8} {:>8} {:>6} {:>6} {:>6} {:>9} {:>7} {:>9}  {}",
            c("k"),
            c("events"),
            c("flagged_days"),
            c("flagged_natural_outliers"),
            c("precision"),
            c("recall"),
            c("f1"),
            c("precision_without_natural_outliers"),
            c("f1_without_natural_outliers"),
            c("false_alarms_without_natural_per_series_year"),
            c("recall_by_kind")
        );
    }
    for key in ["followers", "weekly_views"] {
        println!("forecast {key}:");
        if let Some(by) = out["forecasts"][key].as_object() {
            for (method, hs) in by {
                for (h, s) in hs.as_object().into_iter().flatten() {
                    println!(
                        "  {method:>13} {h:>8}: MAPE {:>6}%  MASE {:>6}  80% coverage {:>5}%  (n {})",
                        s["mape_pct"].to_string(),
                        s["mase"].to_string(),
                        s["coverage_80_pct"].to_string(),
                        s["n"]
                    );
                }
            }
        }
    }
    println!("runtime: {}", out["runtime"]);
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        return 0.0;
    }
    (a as f64 / b as f64 * 1000.0).round() / 1000.0
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        return 0.0;
    }
    (2.0 * p * r / (p + r) * 1000.0).round() / 1000.0
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}
