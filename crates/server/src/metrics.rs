//! `/metrics`: Prometheus text exposition (format 0.0.4) of the queue, the Graph API usage and
//! the accounts' sync state, computed from the database at each scrape so every process
//! (and every worker sharing the database) reports the same numbers. Never a token or key.
//!
//! Accounts are labelled by igsync's account id (`account="12"`); `igsync_account_info`
//! maps ids to usernames, so a renamed account keeps its series.
//!
//! A key of one workspace gets the series of its accounts only: the accounts, their jobs'
//! counts, their Graph API calls and usage, their open alerts. The series computed over
//! the whole installation (worker processes, finished-job totals and histograms by kind,
//! Graph API errors by code, the app's usage) would count other workspaces' activity and
//! are left out for it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use store::{AccountId, AlertQuery, JobMetricsQuery, JobState, Resolution, Store, SyncStatus};

use crate::access::Access;

use crate::api::queue::{Totals, totals_by_kind};
use crate::error::AppResult;
use crate::state::AppState;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`.
pub async fn exposition(
    State(state): State<AppState>,
    access: Access,
) -> AppResult<impl IntoResponse> {
    let text = render(&state, access.account_set().as_deref()).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}

/// The whole exposition, or (`only` some accounts) the series of those accounts.
pub async fn render(state: &AppState, only: Option<&[AccountId]>) -> AppResult<String> {
    let store: &dyn Store = &*state.store;
    let now = state.clock.now();
    let mut out = Exposition::default();
    let mine = |id: AccountId| only.is_none_or(|set| set.contains(&id));

    // Accounts.
    let mut accounts = store.account_list().await?;
    accounts.retain(|a| mine(a.id));
    out.family("igsync_accounts", "gauge", "Accounts by sync status.");
    for status in SyncStatus::ALL {
        let n = accounts.iter().filter(|a| a.status == status).count();
        out.sample("igsync_accounts", &[("status", status.as_str())], n as f64);
    }
    out.family(
        "igsync_account_info",
        "gauge",
        "Account id to username and Instagram user id (always 1).",
    );
    for a in &accounts {
        let id = a.id.to_string();
        out.sample(
            "igsync_account_info",
            &[
                ("account", &id),
                ("username", &a.username),
                ("ig_user_id", &a.ig_user_id),
            ],
            1.0,
        );
    }
    out.family(
        "igsync_sync_lag_seconds",
        "gauge",
        "Seconds since the account's last successful sync (since it was added, if never).",
    );
    for a in &accounts {
        let since = a.last_synced_at.unwrap_or(a.created_at);
        out.sample(
            "igsync_sync_lag_seconds",
            &[("account", &a.id.to_string())],
            seconds_between(since, now),
        );
    }
    out.family(
        "igsync_token_expires_in_seconds",
        "gauge",
        "Seconds until the account's access token expires (negative: expired).",
    );
    for a in &accounts {
        if let Some(expires) = a.token_expires_at {
            out.sample(
                "igsync_token_expires_in_seconds",
                &[("account", &a.id.to_string())],
                (expires - now).num_milliseconds() as f64 / 1000.0,
            );
        }
    }

    // Queue: live counts and age.
    let snapshot = store.job_snapshot(now, only).await?;
    let mut queues: BTreeMap<String, BTreeMap<JobState, i64>> = BTreeMap::new();
    for q in [sync::plan::SYNC_QUEUE, sync::plan::MAINTENANCE_QUEUE] {
        queues.entry(q.to_owned()).or_default();
    }
    for c in &snapshot.counts {
        *queues
            .entry(c.queue.clone())
            .or_default()
            .entry(c.state)
            .or_default() += c.count;
    }
    out.family("igsync_jobs", "gauge", "Jobs by queue and state.");
    for (queue, counts) in &queues {
        for state in JobState::ALL {
            let n = counts.get(&state).copied().unwrap_or(0);
            out.sample(
                "igsync_jobs",
                &[("queue", queue), ("state", state.as_str())],
                n as f64,
            );
        }
    }
    out.family(
        "igsync_jobs_scheduled",
        "gauge",
        "Pending jobs whose run time is in the future, by queue.",
    );
    for queue in queues.keys() {
        let n = snapshot
            .scheduled
            .iter()
            .filter(|(q, _)| q == queue)
            .map(|(_, n)| *n)
            .sum::<i64>();
        out.sample("igsync_jobs_scheduled", &[("queue", queue)], n as f64);
    }
    out.family(
        "igsync_queue_age_seconds",
        "gauge",
        "How long the oldest due pending job of the queue has waited (0 when none waits).",
    );
    for queue in queues.keys() {
        let age = snapshot
            .oldest_due
            .iter()
            .find(|(q, _)| q == queue)
            .map_or(0.0, |(_, at)| seconds_between(*at, now));
        out.sample("igsync_queue_age_seconds", &[("queue", queue)], age);
    }
    if only.is_none() {
        fleet_queue_series(store, now, &mut out).await?;
    }

    // Graph API.
    let calls = store
        .api_calls_days(None, epoch().date_naive(), today(now))
        .await?;
    /// Calls of one account over all days.
    #[derive(Default)]
    struct CallTotals {
        requests: i64,
        units: i64,
        errors: i64,
    }
    let mut per_account: BTreeMap<AccountId, CallTotals> = BTreeMap::new();
    for a in &accounts {
        per_account.entry(a.id).or_default();
    }
    for d in calls.iter().filter(|d| mine(d.account_id)) {
        let e = per_account.entry(d.account_id).or_default();
        e.requests += d.requests;
        e.units += d.units;
        e.errors += d.errors;
    }
    type CounterOf = fn(&CallTotals) -> i64;
    let counters: [(&str, &str, CounterOf); 3] = [
        (
            "igsync_graph_requests_total",
            "Graph API HTTP requests sent for the account (all workers).",
            |d| d.requests,
        ),
        (
            "igsync_graph_units_total",
            "Graph API rate-limit units spent for the account (one per id of a multi-ID read).",
            |d| d.units,
        ),
        (
            "igsync_graph_account_errors_total",
            "Failed Graph API requests for the account (all workers).",
            |d| d.errors,
        ),
    ];
    for (name, help, counter) in counters {
        out.family(name, "counter", help);
        for (id, totals) in &per_account {
            out.sample(
                name,
                &[("account", &id.to_string())],
                counter(totals) as f64,
            );
        }
    }
    let usage = store.api_usage_latest().await?;
    if only.is_none() {
        fleet_graph_series(state, &usage, &mut out);
    }
    out.family(
        "igsync_graph_usage_percent",
        "gauge",
        "Latest share of the account's Graph API budget in use, as Meta reports it (highest \
         of call count, CPU time and total time).",
    );
    for u in usage.iter() {
        if let Some(id) = u.account_id.filter(|id| mine(*id)) {
            out.sample(
                "igsync_graph_usage_percent",
                &[("account", &id.to_string())],
                u.usage_pct,
            );
        }
    }
    // Alerts.
    let mut open = store
        .alert_list(AlertQuery {
            unacknowledged_only: true,
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    // A key of one workspace counts its accounts' alerts (not the installation's own).
    open.retain(|a| only.is_none() || a.alert.account_id.is_some_and(mine));
    out.family(
        "igsync_alerts_open",
        "gauge",
        "Alerts not acknowledged yet, by severity.",
    );
    for severity in [
        store::Severity::Info,
        store::Severity::Warning,
        store::Severity::Critical,
    ] {
        let n = open.iter().filter(|a| a.alert.severity == severity).count();
        out.sample(
            "igsync_alerts_open",
            &[("severity", severity.as_str())],
            n as f64,
        );
    }

    Ok(out.text)
}

/// The series of the whole installation's queue: worker processes, finished jobs and their
/// durations by queue and kind (all time, from the persisted histograms).
async fn fleet_queue_series(
    store: &dyn Store,
    now: DateTime<Utc>,
    out: &mut Exposition,
) -> AppResult<()> {
    let workers = store
        .worker_list(now - chrono::Duration::minutes(2))
        .await?;
    out.family(
        "igsync_workers",
        "gauge",
        "Worker processes seen in the last two minutes.",
    );
    out.sample("igsync_workers", &[], workers.len() as f64);

    let points = store
        .job_metrics(JobMetricsQuery {
            from: epoch(),
            to: now,
            resolution: Resolution::Day,
            queue: None,
        })
        .await?;
    let kinds = totals_by_kind(&points);
    out.family(
        "igsync_jobs_finished_total",
        "counter",
        "Job attempts that finished, by queue, kind and outcome.",
    );
    for ((queue, kind), t) in &kinds {
        for (outcome, n) in [("completed", t.completed), ("failed", t.failed)] {
            out.sample(
                "igsync_jobs_finished_total",
                &[("queue", queue), ("kind", kind), ("outcome", outcome)],
                n as f64,
            );
        }
    }
    type HistogramOf = fn(&Totals) -> &[u64];
    let histograms: [(&str, &str, HistogramOf); 2] = [
        (
            "igsync_job_wait_seconds",
            "Time from when a job was due to when its finishing attempt started. Buckets \
             are powers of two milliseconds; the sum is estimated from bucket midpoints.",
            |t| &t.wait_histogram,
        ),
        (
            "igsync_job_run_seconds",
            "Run time of a job's finishing attempt. Buckets are powers of two milliseconds; \
             the sum is estimated from bucket midpoints.",
            |t| &t.run_histogram,
        ),
    ];
    for (name, help, histogram) in histograms {
        out.family(name, "histogram", help);
        for ((queue, kind), t) in &kinds {
            out.histogram(name, &[("queue", queue), ("kind", kind)], histogram(t));
        }
    }

    Ok(())
}

/// The series of the whole installation's Graph API use: errors by code (this process's
/// clients) and the app's share of its budget.
fn fleet_graph_series(state: &AppState, usage: &[store::ApiUsage], out: &mut Exposition) {
    out.family(
        "igsync_graph_errors_total",
        "counter",
        "Failed Graph API attempts by Meta error code or transport class, counted by the \
         Graph API clients of this process.",
    );
    let mut by_code: BTreeMap<String, u64> = BTreeMap::new();
    for client in state.graph.values() {
        for (code, n) in client.stats().errors_by_code {
            *by_code.entry(code).or_default() += n;
        }
    }
    for (code, n) in &by_code {
        out.sample("igsync_graph_errors_total", &[("code", code)], *n as f64);
    }
    out.family(
        "igsync_graph_app_usage_percent",
        "gauge",
        "Latest share of the app's Graph API budget in use (X-App-Usage).",
    );
    if let Some(u) = usage.iter().find(|u| u.account_id.is_none()) {
        out.sample("igsync_graph_app_usage_percent", &[], u.usage_pct);
    }
}

fn epoch() -> DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().unwrap_or_default()
}

fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

/// A text exposition being written.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", format_value(value));
    }

    /// A cumulative histogram in seconds from the store's power-of-two millisecond buckets.
    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], counts: &[u64]) {
        let mut cumulative = 0u64;
        let mut sum_ms = 0.0;
        for (i, n) in counts.iter().enumerate() {
            cumulative += n;
            let upper_ms = 2f64.powi(i as i32 + 1);
            let lower_ms = if i == 0 { 0.0 } else { 2f64.powi(i as i32) };
            sum_ms += *n as f64 * (lower_ms + upper_ms) / 2.0;
            if i + 1 == counts.len() {
                break; // The last bucket is open-ended: it is `+Inf`.
            }
            let le = format_value(upper_ms / 1000.0);
            self.text.push_str(name);
            self.text.push_str("_bucket");
            write_labels(&mut self.text, labels, Some(&le));
            let _ = writeln!(self.text, " {cumulative}");
        }
        self.text.push_str(name);
        self.text.push_str("_bucket");
        write_labels(&mut self.text, labels, Some("+Inf"));
        let _ = writeln!(self.text, " {cumulative}");
        self.text.push_str(name);
        self.text.push_str("_sum");
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", format_value(sum_ms / 1000.0));
        self.text.push_str(name);
        self.text.push_str("_count");
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {cumulative}");
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels.iter().copied().chain(le.map(|le| ("le", le))) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&escape_label(v));
        out.push('"');
    }
    out.push('}');
}

/// Label values escape `\`, `"` and newlines.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Help texts escape `\` and newlines.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let mut e = Exposition::default();
        e.sample("m", &[("a", "x\"y\\z\nw")], 1.5);
        assert_eq!(e.text, "m{a=\"x\\\"y\\\\z\\nw\"} 1.5\n");
    }

    #[test]
    fn histograms_are_cumulative_in_seconds() {
        let mut e = Exposition::default();
        let mut counts = vec![0u64; 4];
        counts[0] = 1; // [0, 2) ms
        counts[2] = 2; // [4, 8) ms
        counts[3] = 1; // ≥ 8 ms, open-ended
        e.histogram("h", &[("q", "a")], &counts);
        let lines: Vec<&str> = e.text.lines().collect();
        assert_eq!(lines[0], "h_bucket{q=\"a\",le=\"0.002\"} 1");
        assert_eq!(lines[1], "h_bucket{q=\"a\",le=\"0.004\"} 1");
        assert_eq!(lines[2], "h_bucket{q=\"a\",le=\"0.008\"} 3");
        assert_eq!(lines[3], "h_bucket{q=\"a\",le=\"+Inf\"} 4");
        assert!(lines[4].starts_with("h_sum{q=\"a\"} 0.0"));
        assert_eq!(lines[5], "h_count{q=\"a\"} 4");
    }
}
