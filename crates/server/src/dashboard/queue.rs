//! The queue monitor: live counts by state and queue with the age of the oldest due job,
//! throughput and wait/run-time p50/p95/p99 over days from the persisted metrics, jobs with
//! search and bulk retry / cancel / delete (by selection or by the current filter), the job
//! detail page, connected workers and each account's Graph API usage against its budget.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Map, Value, json};
use store::{
    HISTOGRAM_BUCKETS, Job, JobMetricsQuery, JobQuery, JobSelector, JobState, QueueSnapshot,
    Resolution, histogram_quantile,
};

use super::form::{FormData, encode, query_string};
use super::layout::{
    Flash, Nav, Page, PageError, PageResult, badge, clip, csrf_field, duration_ms, human_duration,
    post_button, render, see_other, when,
};
use crate::auth::{RequireSession, verify_csrf};
use crate::charts::{
    LineChart, PercentilePoint, TimeSeries, ValueFormat, escape, format_count, percentile_chart,
};
use crate::error::AppError;
use crate::state::AppState;

const PAGE_SIZE: u32 = 50;
/// Most ids one bulk form may carry.
const MAX_SELECTED: usize = 1000;
/// Workers seen within this window are listed.
const WORKER_WINDOW_MINUTES: i64 = 5;

/// The jobs filter of the page, from its query string (or the hidden fields of a bulk form,
/// prefixed `f_`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Filter {
    /// `None` = all states.
    state: Option<JobState>,
    queue: Option<String>,
    kind: Option<String>,
    account: Option<i64>,
    run: Option<i64>,
    search: Option<String>,
}

impl Filter {
    fn from_form(form: &FormData, prefix: &str, default_failed: bool) -> Result<Filter, AppError> {
        let key = |name: &str| format!("{prefix}{name}");
        let state = match form.all(&key("state")).next().map(str::trim) {
            // No `state` field at all: the monitor opens on failed jobs.
            None if default_failed => Some(JobState::Failed),
            None | Some("") | Some("all") => None,
            Some(s) => Some(
                JobState::parse(s)
                    .ok_or_else(|| AppError::bad_request(format!("unknown job state {s:?}")))?,
            ),
        };
        let text = |name: &str| -> Result<Option<String>, AppError> {
            match form.get(&key(name)) {
                Some(v) if v.chars().count() > 200 => Err(AppError::bad_request(format!(
                    "`{name}` is longer than 200 characters"
                ))),
                other => Ok(other.map(str::to_owned)),
            }
        };
        Ok(Filter {
            state,
            queue: text("queue")?,
            kind: text("kind")?,
            account: form.get_i64(&key("account"))?,
            run: form.get_i64(&key("run"))?,
            search: text("q")?,
        })
    }

    fn query(&self, limit: u32, offset: u32) -> JobQuery {
        JobQuery {
            states: self.state.into_iter().collect(),
            queue: self.queue.clone(),
            kind: self.kind.clone(),
            account_id: self.account,
            run_id: self.run,
            search: self.search.clone(),
            limit,
            offset,
        }
    }

    /// The filter as query-string pairs (state always present, empty for "all").
    fn pairs(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                format!("{prefix}state"),
                self.state.map_or(String::new(), |s| s.as_str().to_owned()),
            ),
            (
                format!("{prefix}queue"),
                self.queue.clone().unwrap_or_default(),
            ),
            (
                format!("{prefix}kind"),
                self.kind.clone().unwrap_or_default(),
            ),
            (
                format!("{prefix}account"),
                self.account.map(|a| a.to_string()).unwrap_or_default(),
            ),
            (
                format!("{prefix}run"),
                self.run.map(|a| a.to_string()).unwrap_or_default(),
            ),
            (
                format!("{prefix}q"),
                self.search.clone().unwrap_or_default(),
            ),
        ]
    }

    fn to_query_string(&self) -> String {
        let pairs = self.pairs("");
        let state = format!("state={}", encode(&pairs[0].1));
        let rest = query_string(pairs[1..].iter().map(|(k, v)| (k.as_str(), v.clone())));
        if rest.is_empty() {
            state
        } else {
            format!("{state}&{rest}")
        }
    }

    fn hidden_fields(&self) -> String {
        self.pairs("f_")
            .into_iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    escape(&k),
                    escape(&v)
                )
            })
            .collect()
    }
}

/// The chart range of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Day,
    Week,
    Month,
    Quarter,
}

impl Range {
    fn parse(value: Option<&str>) -> Result<Range, AppError> {
        Ok(match value {
            None | Some("7d") => Range::Week,
            Some("1d") => Range::Day,
            Some("30d") => Range::Month,
            Some("90d") => Range::Quarter,
            Some(other) => {
                return Err(AppError::bad_request(format!(
                    "range must be 1d, 7d, 30d or 90d, got {other:?}"
                )));
            }
        })
    }

    fn key(self) -> &'static str {
        match self {
            Range::Day => "1d",
            Range::Week => "7d",
            Range::Month => "30d",
            Range::Quarter => "90d",
        }
    }

    fn span(self) -> Duration {
        match self {
            Range::Day => Duration::days(1),
            Range::Week => Duration::days(7),
            Range::Month => Duration::days(30),
            Range::Quarter => Duration::days(90),
        }
    }

    fn resolution(self) -> (Resolution, Duration, &'static str) {
        match self {
            Range::Day | Range::Week => (Resolution::Hour, Duration::hours(1), "per hour"),
            Range::Month | Range::Quarter => (Resolution::Day, Duration::days(1), "per day"),
        }
    }
}

/// Counts keyed for the live elements: `state:<state>`, `q:<queue>:<state>`,
/// `age:<queue>`, `total`.
fn live_values(snapshot: &QueueSnapshot, now: DateTime<Utc>) -> Map<String, Value> {
    let mut values = Map::new();
    let scheduled: HashMap<&str, i64> = snapshot
        .scheduled
        .iter()
        .map(|(q, n)| (q.as_str(), *n))
        .collect();
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for state in JobState::ALL {
        totals.insert(state.as_str(), 0);
    }
    totals.insert("scheduled", 0);
    for c in &snapshot.counts {
        let mut n = c.count;
        if c.state == JobState::Pending {
            let s = scheduled.get(c.queue.as_str()).copied().unwrap_or(0);
            n -= s;
            *totals.entry("scheduled").or_default() += s;
            values.insert(format!("q:{}:scheduled", c.queue), json!(s));
        }
        *totals.entry(c.state.as_str()).or_default() += n;
        values.insert(format!("q:{}:{}", c.queue, c.state.as_str()), json!(n));
    }
    let mut total = 0;
    for (state, n) in totals {
        total += n;
        values.insert(format!("state:{state}"), json!(n));
    }
    values.insert("total".to_owned(), json!(total));
    for (queue, oldest) in &snapshot.oldest_due {
        let secs = (now - *oldest).num_seconds().max(0) as u64;
        values.insert(format!("age:{queue}"), json!(human_duration(secs)));
    }
    values
}

/// `GET /queue/live`: the live counts as JSON, polled by the pages.
pub(crate) async fn live(
    State(state): State<AppState>,
    RequireSession(_): RequireSession,
) -> Result<impl IntoResponse, PageError> {
    let now = state.clock.now();
    let snapshot = state.store.job_snapshot(now).await?;
    Ok(Json(
        json!({ "generated_at": now, "values": live_values(&snapshot, now) }),
    ))
}

/// Every queue named by the snapshot, sorted.
fn queue_names(snapshot: &QueueSnapshot) -> Vec<String> {
    let mut names: Vec<String> = snapshot.counts.iter().map(|c| c.queue.clone()).collect();
    names.extend(snapshot.scheduled.iter().map(|(q, _)| q.clone()));
    names.sort();
    names.dedup();
    names
}

/// `GET /queue`.
pub(crate) async fn page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let now = state.clock.now();
    let form = FormData::parse_str(raw.as_deref().unwrap_or_default())?;
    let filter = Filter::from_form(&form, "", true)?;
    let range = Range::parse(form.get("range"))?;
    let page_no = form.get_i64("page")?.unwrap_or(1).clamp(1, 100_000) as u32;
    let snapshot = state.store.job_snapshot(now).await?;
    let values = live_values(&snapshot, now);
    let jobs = state
        .store
        .job_list(filter.query(PAGE_SIZE, (page_no - 1) * PAGE_SIZE))
        .await?;
    let accounts: HashMap<i64, String> = state
        .store
        .account_list()
        .await?
        .into_iter()
        .map(|a| (a.id, a.username))
        .collect();
    let csrf = &session.csrf_token;

    let mut body = String::new();
    body.push_str(
        "<div class=\"head\"><div><h1>Queue</h1><p class=\"sub\">Counts refresh every few seconds; \
         charts come from metrics persisted as jobs finish.</p></div></div>",
    );

    // Live counts.
    body.push_str("<div class=\"counts\">");
    for (key, label) in [
        ("pending", "pending (due)"),
        ("scheduled", "scheduled"),
        ("running", "running"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
    ] {
        let n = values
            .get(&format!("state:{key}"))
            .cloned()
            .unwrap_or(json!(0));
        let href = if key == "scheduled" { "pending" } else { key };
        body.push_str(&format!(
            "<a class=\"count {key}\" href=\"/queue?state={href}\"><div class=\"n\" data-live=\"state:{key}\" data-live-default=\"0\">{n}</div><div class=\"what\">{label}</div></a>"
        ));
    }
    body.push_str("</div>");

    // Per queue.
    let names = queue_names(&snapshot);
    body.push_str("<div class=\"panel\"><h2>Queues</h2>");
    if names.is_empty() {
        body.push_str("<p class=\"empty\">No jobs yet.</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>queue</th><th class=\"num\">pending</th><th class=\"num\">scheduled</th>\
             <th class=\"num\">running</th><th class=\"num\">completed</th><th class=\"num\">failed</th><th class=\"num\">cancelled</th>\
             <th class=\"num\" title=\"age of the oldest due pending job: a stalled queue looks idle without it\">queue age</th></tr></thead><tbody>",
        );
        for q in &names {
            body.push_str(&format!(
                "<tr><td><a href=\"/queue?state=&amp;queue={}\">{}</a></td>",
                encode(q),
                escape(q)
            ));
            for s in [
                "pending",
                "scheduled",
                "running",
                "completed",
                "failed",
                "cancelled",
            ] {
                let key = format!("q:{q}:{s}");
                let n = values.get(&key).cloned().unwrap_or(json!(0));
                body.push_str(&format!(
                    "<td class=\"num\" data-live=\"{}\" data-live-default=\"0\">{n}</td>",
                    escape(&key)
                ));
            }
            let age_key = format!("age:{q}");
            let age = values
                .get(&age_key)
                .and_then(Value::as_str)
                .unwrap_or("–")
                .to_owned();
            body.push_str(&format!(
                "<td class=\"num\" data-live=\"{}\" data-live-default=\"–\">{}</td></tr>",
                escape(&age_key),
                escape(&age)
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");

    // Jobs (failed ones first: the monitor opens on them).
    body.push_str(&jobs_panel(&filter, &jobs, page_no, &accounts, csrf, now));

    // Charts over the range.
    body.push_str(&charts_panel(&state, now, range, filter.queue.as_deref()).await?);

    // Workers and API usage.
    body.push_str(&usage_panel(&state, now, &accounts).await?);
    body.push_str(&workers_panel(&state, now).await?);

    Ok(render(Page {
        title: "Queue".to_owned(),
        nav: Some(Nav::Queue),
        csrf: Some(csrf),
        flash: Flash::from_query(raw.as_deref()),
        live_src: Some("/queue/live"),
        body,
    }))
}

/// Throughput and wait/run percentiles over the range, merged over kinds.
async fn charts_panel(
    state: &AppState,
    now: DateTime<Utc>,
    range: Range,
    queue: Option<&str>,
) -> Result<String, AppError> {
    let (resolution, step, per) = range.resolution();
    let end = now
        .duration_trunc(step)
        .map_err(|e| AppError::internal(e.to_string()))?;
    let from = end - range.span() + step;
    let points = state
        .store
        .job_metrics(JobMetricsQuery {
            from,
            to: now,
            resolution,
            queue: queue.map(str::to_owned),
        })
        .await?;
    struct Bucket {
        completed: u64,
        failed: u64,
        wait: Vec<u64>,
        run: Vec<u64>,
    }
    let mut buckets: BTreeMap<DateTime<Utc>, Bucket> = BTreeMap::new();
    let mut t = from;
    while t <= end {
        buckets.insert(
            t,
            Bucket {
                completed: 0,
                failed: 0,
                wait: vec![0; HISTOGRAM_BUCKETS],
                run: vec![0; HISTOGRAM_BUCKETS],
            },
        );
        t += step;
    }
    for p in &points {
        let b = buckets.entry(p.bucket_start).or_insert_with(|| Bucket {
            completed: 0,
            failed: 0,
            wait: vec![0; HISTOGRAM_BUCKETS],
            run: vec![0; HISTOGRAM_BUCKETS],
        });
        b.completed += p.completed;
        b.failed += p.failed;
        for (acc, n) in b.wait.iter_mut().zip(&p.wait_histogram) {
            *acc += n;
        }
        for (acc, n) in b.run.iter_mut().zip(&p.run_histogram) {
            *acc += n;
        }
    }
    let completed: Vec<_> = buckets
        .iter()
        .map(|(t, b)| (*t, Some(b.completed as f64)))
        .collect();
    let failed: Vec<_> = buckets
        .iter()
        .map(|(t, b)| (*t, Some(b.failed as f64)))
        .collect();
    let pct = |h: &[u64]| PercentilePoint {
        at: DateTime::<Utc>::MIN_UTC,
        p50: histogram_quantile(h, 0.5),
        p95: histogram_quantile(h, 0.95),
        p99: histogram_quantile(h, 0.99),
    };
    let wait: Vec<PercentilePoint> = buckets
        .iter()
        .map(|(t, b)| PercentilePoint {
            at: *t,
            ..pct(&b.wait)
        })
        .collect();
    let run: Vec<PercentilePoint> = buckets
        .iter()
        .map(|(t, b)| PercentilePoint {
            at: *t,
            ..pct(&b.run)
        })
        .collect();
    let total_completed: u64 = buckets.values().map(|b| b.completed).sum();
    let total_failed: u64 = buckets.values().map(|b| b.failed).sum();

    let throughput = LineChart::new(
        "queue-throughput",
        format!("Finished jobs {per}"),
        ValueFormat::Count,
    )
    .y_label(format!("jobs {per}"))
    .area()
    .series(TimeSeries::new("completed", completed))
    .series(TimeSeries::new("failed", failed))
    .last_point_partial(true)
    .to_svg();
    let mut ranges = String::new();
    for r in [Range::Day, Range::Week, Range::Month, Range::Quarter] {
        let class = if r == range {
            "button primary"
        } else {
            "button"
        };
        let q = query_string([
            ("range", r.key().to_owned()),
            ("queue", queue.unwrap_or_default().to_owned()),
        ]);
        ranges.push_str(&format!(
            "<a class=\"{class}\" href=\"/queue?{}\">{}</a> ",
            escape(&q),
            r.key()
        ));
    }
    let scope = queue
        .map(|q| format!(" of queue {}", escape(q)))
        .unwrap_or_default();
    Ok(format!(
        "<div class=\"panel\"><div class=\"head\"><h2>Throughput and latency{scope}</h2><div class=\"row\">{ranges}</div></div>\
         <p class=\"sub\">{} completed and {} failed over the last {}. Wait = claim − due time; run = finish − claim. \
         Percentiles are the upper edges of power-of-two histogram buckets; the last bucket is still filling (dashed).</p>\
         {throughput}<div class=\"grid2\"><div><h3>Wait time</h3>{}</div><div><h3>Run time</h3>{}</div></div></div>",
        format_count(total_completed as f64),
        format_count(total_failed as f64),
        range.key(),
        percentile_chart("queue-wait", "Wait time p50/p95/p99", &wait, true)
            .compact()
            .to_svg(),
        percentile_chart("queue-run", "Run time p50/p95/p99", &run, true)
            .compact()
            .to_svg(),
    ))
}

fn state_badge(job: &Job, now: DateTime<Utc>) -> String {
    if job.state == JobState::Pending && job.run_at > now {
        return badge("scheduled", "scheduled");
    }
    badge(job.state.as_str(), job.state.as_str())
}

fn last_error(job: &Job) -> String {
    job.errors
        .last()
        .map(|e| e.error.clone())
        .unwrap_or_default()
}

fn jobs_panel(
    filter: &Filter,
    jobs: &store::JobPage,
    page_no: u32,
    accounts: &HashMap<i64, String>,
    csrf: &str,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::from("<div class=\"panel\"><h2>Jobs</h2>");
    // Search form (GET).
    let state_options: String = std::iter::once(("", "all states"))
        .chain(JobState::ALL.iter().map(|s| (s.as_str(), s.as_str())))
        .map(|(value, label)| {
            let selected = if filter.state.map_or("", |s| s.as_str()) == value {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{value}\"{selected}>{label}</option>")
        })
        .collect();
    let v = |o: &Option<String>| escape(o.as_deref().unwrap_or_default());
    out.push_str(&format!(
        "<form class=\"filters\" method=\"get\" action=\"/queue\">\
         <select name=\"state\" aria-label=\"state\">{state_options}</select>\
         <input type=\"search\" name=\"q\" aria-label=\"search\" placeholder=\"search kind, arguments, errors\" value=\"{}\" size=\"28\">\
         <input type=\"text\" name=\"kind\" aria-label=\"kind\" placeholder=\"kind\" value=\"{}\" size=\"14\">\
         <input type=\"text\" name=\"queue\" aria-label=\"queue\" placeholder=\"queue\" value=\"{}\" size=\"14\">\
         <input type=\"text\" name=\"account\" aria-label=\"account id\" placeholder=\"account id\" value=\"{}\" size=\"8\">\
         <input type=\"hidden\" name=\"run\" value=\"{}\">\
         <button type=\"submit\">Search</button> <a href=\"/queue?state=\">clear</a></form>",
        v(&filter.search),
        v(&filter.kind),
        v(&filter.queue),
        filter.account.map(|a| a.to_string()).unwrap_or_default(),
        filter.run.map(|a| a.to_string()).unwrap_or_default(),
    ));
    let what = match filter.state {
        Some(s) => format!("{} {} job(s)", format_count(jobs.total as f64), s.as_str()),
        None => format!("{} job(s)", format_count(jobs.total as f64)),
    };
    let run = filter
        .run
        .map(|r| format!(" of sync run #{r}"))
        .unwrap_or_default();
    out.push_str(&format!("<p class=\"sub\">{what}{run} match.</p>"));

    // Bulk actions: on the selection, or on everything the filter matches.
    let hidden = filter.hidden_fields();
    let total = jobs.total;
    out.push_str(&format!(
        "<form id=\"bulk\" class=\"filters\" method=\"post\" action=\"/queue/bulk\">{}{hidden}\
         <input type=\"hidden\" name=\"scope\" value=\"selected\">\
         <span class=\"sub\"><span data-selected-count>0</span> selected:</span>\
         <button type=\"submit\" name=\"action\" value=\"retry\" data-needs-selection>Retry selected</button>\
         <button type=\"submit\" name=\"action\" value=\"cancel\" data-needs-selection>Cancel selected</button>\
         <button type=\"submit\" name=\"action\" value=\"delete\" class=\"danger\" data-needs-selection \
         data-confirm=\"Delete the selected jobs? This cannot be undone.\">Delete selected</button></form>",
        csrf_field(csrf)
    ));
    if total > 0 {
        out.push_str(&format!(
            "<form class=\"filters\" method=\"post\" action=\"/queue/bulk\">{}{hidden}\
             <input type=\"hidden\" name=\"scope\" value=\"filter\">\
             <span class=\"sub\">All {total} matching:</span>\
             <button type=\"submit\" name=\"action\" value=\"retry\" data-confirm=\"Retry all {total} matching jobs?\">Retry all</button>\
             <button type=\"submit\" name=\"action\" value=\"cancel\" data-confirm=\"Cancel all {total} matching jobs?\">Cancel all</button>\
             <button type=\"submit\" name=\"action\" value=\"delete\" class=\"danger\" \
             data-confirm=\"Delete all {total} matching jobs? This cannot be undone.\">Delete all</button></form>",
            csrf_field(csrf)
        ));
    }

    if jobs.jobs.is_empty() {
        out.push_str("<p class=\"empty\">No job matches.</p></div>");
        return out;
    }
    out.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th><input type=\"checkbox\" data-select-all aria-label=\"select all\"></th>\
         <th>id</th><th>kind</th><th>queue</th><th>account</th><th>state</th><th class=\"num\">attempt</th><th>last error</th><th>when</th></tr></thead><tbody>",
    );
    for job in &jobs.jobs {
        let account = job
            .account_id
            .map(|id| {
                let name = accounts
                    .get(&id)
                    .map_or_else(|| format!("#{id}"), |u| format!("@{u}"));
                format!("<a href=\"/accounts/{id}\">{}</a>", escape(&name))
            })
            .unwrap_or_default();
        let time = match job.state {
            JobState::Completed | JobState::Failed | JobState::Cancelled => {
                when(job.finished_at.or(job.attempted_at), now)
            }
            JobState::Running => when(job.attempted_at, now),
            JobState::Pending => when(Some(job.run_at), now),
        };
        let error = last_error(job);
        out.push_str(&format!(
            "<tr><td><input type=\"checkbox\" name=\"ids\" value=\"{}\" form=\"bulk\" aria-label=\"select job {}\"></td>\
             <td><a href=\"/queue/jobs/{}\">#{}</a></td><td><code>{}</code></td><td>{}</td><td>{account}</td><td>{}</td>\
             <td class=\"num\">{}/{}</td><td class=\"note\" title=\"{}\">{}</td><td>{time}</td></tr>",
            job.id,
            job.id,
            job.id,
            job.id,
            escape(&job.kind),
            escape(&job.queue),
            state_badge(job, now),
            job.attempt,
            job.max_attempts,
            escape(&error),
            escape(&clip(&error, 90)),
        ));
    }
    out.push_str("</tbody></table></div>");
    // Pagination.
    let pages = ((jobs.total.max(0) as u64).div_ceil(u64::from(PAGE_SIZE))).max(1);
    if pages > 1 {
        let base = filter.to_query_string();
        let link = |p: u32, label: &str| {
            format!(
                "<a class=\"button\" href=\"/queue?{}&amp;page={p}\">{label}</a>",
                escape(&base)
            )
        };
        out.push_str("<p class=\"row\">");
        if page_no > 1 {
            out.push_str(&link(page_no - 1, "← newer"));
        }
        out.push_str(&format!(
            "<span class=\"sub\">page {page_no} of {pages}</span>"
        ));
        if u64::from(page_no) < pages {
            out.push_str(&link(page_no + 1, "older →"));
        }
        out.push_str("</p>");
    }
    out.push_str("</div>");
    out
}

async fn workers_panel(state: &AppState, now: DateTime<Utc>) -> Result<String, AppError> {
    let workers = state
        .store
        .worker_list(now - Duration::minutes(WORKER_WINDOW_MINUTES))
        .await?;
    let mut out = String::from("<div class=\"panel\"><h2>Workers</h2>");
    if workers.is_empty() {
        out.push_str(&format!(
            "<p class=\"empty\">No worker has reported in the last {WORKER_WINDOW_MINUTES} minutes: queued jobs will wait \
             until one runs (<code>igsync worker</code> or <code>igsync serve</code>).</p></div>"
        ));
        return Ok(out);
    }
    out.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th>worker</th><th>queues</th><th class=\"num\">concurrency</th>\
         <th>started</th><th>last seen</th></tr></thead><tbody>",
    );
    for w in &workers {
        out.push_str(&format!(
            "<tr><td><code>{}</code><div class=\"sub\">{} · pid {}</div></td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&w.id),
            escape(&w.hostname),
            w.pid,
            escape(&w.queues.join(", ")),
            w.concurrency,
            when(Some(w.started_at), now),
            when(Some(w.last_seen_at), now),
        ));
    }
    out.push_str("</tbody></table></div></div>");
    Ok(out)
}

/// The CSS class of a usage meter (width in 5 % steps, colour by pressure).
fn meter_class(pct: f64) -> String {
    let step = ((pct.clamp(0.0, 100.0) / 5.0).round() * 5.0) as u32;
    let level = if pct >= 90.0 {
        " bad"
    } else if pct >= 75.0 {
        " warn"
    } else {
        ""
    };
    format!("meter p{step}{level}")
}

async fn usage_panel(
    state: &AppState,
    now: DateTime<Utc>,
    accounts: &HashMap<i64, String>,
) -> Result<String, AppError> {
    let usage = state.store.api_usage_latest().await?;
    let today = now.date_naive();
    let calls = state
        .store
        .api_calls_days(None, today - Duration::days(6), today)
        .await?;
    let mut by_account: BTreeMap<i64, (i64, i64, i64, i64)> = BTreeMap::new();
    for c in &calls {
        let e = by_account.entry(c.account_id).or_default();
        e.0 += c.requests;
        e.1 += c.errors;
        if c.day == today {
            e.2 += c.requests;
            e.3 += c.units;
        }
    }
    let mut out = String::from(
        "<div class=\"panel\"><h2>Graph API usage</h2><p class=\"sub\">Share of each budget used, from the latest usage headers \
         (the highest of call count, CPU time and total time); calls from igsync's own counters.</p>",
    );
    if usage.is_empty() && by_account.is_empty() {
        out.push_str("<p class=\"empty\">No Graph API calls recorded yet.</p></div>");
        return Ok(out);
    }
    out.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th>budget</th><th>used</th><th class=\"num\">calls today</th>\
         <th class=\"num\">calls 7 days</th><th class=\"num\">errors 7 days</th></tr></thead><tbody>",
    );
    let name = |id: Option<i64>| match id {
        None => "app (all accounts)".to_owned(),
        Some(id) => accounts
            .get(&id)
            .map_or_else(|| format!("account #{id}"), |u| format!("@{u}")),
    };
    let mut shown = std::collections::HashSet::new();
    for u in &usage {
        let (week, errors, today_calls, _) = u
            .account_id
            .and_then(|id| by_account.get(&id).copied())
            .unwrap_or_default();
        if let Some(id) = u.account_id {
            shown.insert(id);
        }
        let regain = u
            .regain_access_minutes
            .filter(|m| *m > 0)
            .map(|m| {
                format!(
                    " {}",
                    badge("critical", &format!("throttled, {m} min left"))
                )
            })
            .unwrap_or_default();
        let label = match u.account_id {
            Some(id) => format!("<a href=\"/accounts/{id}\">{}</a>", escape(&name(Some(id)))),
            None => escape(&name(None)),
        };
        out.push_str(&format!(
            "<tr><td>{label}</td><td><div class=\"{}\" title=\"calls {}%, CPU {}%, time {}%\"><span></span></div>\
             <span class=\"sub\">{} · {}</span>{regain}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            meter_class(u.usage_pct),
            crate::charts::format_decimal(u.call_count_pct, 1),
            crate::charts::format_decimal(u.total_cputime_pct, 1),
            crate::charts::format_decimal(u.total_time_pct, 1),
            escape(&crate::report::format_value(u.usage_pct, analytics::Unit::Percent)),
            when(Some(u.observed_at), now),
            format_count(today_calls as f64),
            format_count(week as f64),
            format_count(errors as f64),
        ));
    }
    for (id, (week, errors, today_calls, _)) in &by_account {
        if shown.contains(id) {
            continue;
        }
        out.push_str(&format!(
            "<tr><td><a href=\"/accounts/{id}\">{}</a></td><td><span class=\"sub\">no usage header yet</span></td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&name(Some(*id))),
            format_count(*today_calls as f64),
            format_count(*week as f64),
            format_count(*errors as f64),
        ));
    }
    out.push_str("</tbody></table></div></div>");
    Ok(out)
}

/// What a form asks to do with jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Retry,
    Cancel,
    Delete,
}

impl Action {
    fn parse(value: Option<&str>) -> Result<Action, AppError> {
        match value {
            Some("retry") => Ok(Action::Retry),
            Some("cancel") => Ok(Action::Cancel),
            Some("delete") => Ok(Action::Delete),
            other => Err(AppError::bad_request(format!(
                "action must be retry, cancel or delete, got {:?}",
                other.unwrap_or("")
            ))),
        }
    }

    fn done_code(self) -> &'static str {
        match self {
            Action::Retry => "retried",
            Action::Cancel => "cancelled",
            Action::Delete => "deleted",
        }
    }

    async fn apply(self, state: &AppState, selector: JobSelector) -> Result<u64, AppError> {
        let now = state.clock.now();
        Ok(match self {
            Action::Retry => state.store.jobs_retry(selector, now).await?,
            Action::Cancel => state.store.jobs_cancel(selector, now).await?,
            Action::Delete => state.store.jobs_delete(selector).await?,
        })
    }
}

/// `POST /queue/bulk`: retry, cancel or delete the selected jobs (`scope=selected`, `ids`)
/// or every job the filter matches (`scope=filter`, `f_*` fields).
pub(crate) async fn bulk(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    let action = Action::parse(form.get("action"))?;
    let filter = Filter::from_form(&form, "f_", false)?;
    let back = filter.to_query_string();
    let selector = match form.get("scope") {
        Some("filter") => JobSelector::Filter(filter.query(0, 0)),
        Some("selected") | None => {
            let ids = form
                .all("ids")
                .map(|v| {
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| AppError::bad_request(format!("job id {v:?} is not a number")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if ids.is_empty() {
                return Ok(see_other(&format!("/queue?{back}&err=no_selection")));
            }
            if ids.len() > MAX_SELECTED {
                return Err(AppError::invalid(format!(
                    "select at most {MAX_SELECTED} jobs at once"
                ))
                .into());
            }
            JobSelector::Ids(ids)
        }
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "scope must be selected or filter, got {other:?}"
            ))
            .into());
        }
    };
    let n = action.apply(&state, selector).await?;
    if n == 0 {
        return Ok(see_other(&format!("/queue?{back}&err=nothing")));
    }
    Ok(see_other(&format!(
        "/queue?{back}&ok={}&n={n}",
        action.done_code()
    )))
}

/// `POST /queue/jobs/{id}/{retry|cancel|delete}`.
pub(crate) async fn job_action(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    Path((id, action)): Path<(i64, String)>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    let action = Action::parse(Some(action.as_str()))?;
    let job = state
        .store
        .job_get(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("job {id} not found")))?;
    let n = action.apply(&state, JobSelector::Ids(vec![id])).await?;
    if n == 0 {
        let code = match (action, job.state) {
            (Action::Delete, JobState::Running) => "running",
            (Action::Retry, _) => "not_retryable",
            (Action::Cancel, _) => "not_cancellable",
            (Action::Delete, _) => "nothing",
        };
        return Ok(see_other(&format!("/queue/jobs/{id}?err={code}")));
    }
    if action == Action::Delete {
        return Ok(see_other("/queue?ok=deleted&n=1"));
    }
    Ok(see_other(&format!(
        "/queue/jobs/{id}?ok={}&n=1",
        action.done_code()
    )))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `GET /queue/jobs/{id}`: arguments, attempts, errors, progress, timings and actions.
pub(crate) async fn job_page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let now = state.clock.now();
    let job = state
        .store
        .job_get(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("job {id} not found")))?;
    let account = match job.account_id {
        Some(a) => state.store.account_get(a).await?,
        None => None,
    };
    let csrf = &session.csrf_token;
    let mut actions = String::new();
    if matches!(
        job.state,
        JobState::Failed | JobState::Cancelled | JobState::Pending
    ) {
        actions.push_str(&post_button(
            &format!("/queue/jobs/{id}/retry"),
            "Retry",
            csrf,
            "primary",
            None,
        ));
    }
    if matches!(job.state, JobState::Pending | JobState::Running) {
        actions.push_str(&post_button(
            &format!("/queue/jobs/{id}/cancel"),
            "Cancel",
            csrf,
            "",
            None,
        ));
    }
    if job.state != JobState::Running {
        actions.push_str(&post_button(
            &format!("/queue/jobs/{id}/delete"),
            "Delete",
            csrf,
            "danger",
            Some("Delete this job? This cannot be undone."),
        ));
    }
    let mut body = format!(
        "<div class=\"head\"><div><h1>Job #{id} <code>{}</code> {}</h1><p class=\"sub\">queue {} · priority {}{}</p></div>\
         <div class=\"row\">{actions}<a class=\"button\" href=\"/queue?state=\">Back to the queue</a></div></div>",
        escape(&job.kind),
        state_badge(&job, now),
        escape(&job.queue),
        job.priority,
        job.unique_key
            .as_deref()
            .map(|k| format!(" · unique key <code>{}</code>", escape(k)))
            .unwrap_or_default(),
    );

    // Timings.
    // Wait and run belong to the last attempt; a retry moves `run_at` past it and a cancel
    // sets `finished_at` without a run, so they are shown only when they describe one attempt.
    let due = job.run_at.max(job.created_at);
    let wait = job
        .attempted_at
        .filter(|a| *a >= due)
        .map(|a| duration_ms((a - due).num_milliseconds()));
    let run = match (job.state, job.attempted_at, job.finished_at) {
        (JobState::Completed | JobState::Failed, Some(a), Some(f)) if f >= a && a >= due => {
            Some(duration_ms((f - a).num_milliseconds()))
        }
        (JobState::Running, Some(a), _) => Some(format!(
            "{} so far",
            duration_ms((now - a).num_milliseconds().max(0))
        )),
        _ => None,
    };
    let account_row = match (&job.account_id, &account) {
        (Some(id), Some(a)) => format!(
            "<tr><th>account</th><td><a href=\"/accounts/{id}\">@{}</a></td></tr>",
            escape(&a.username)
        ),
        (Some(id), None) => format!(
            "<tr><th>account</th><td>#{id} <span class=\"sub\">(no longer exists)</span></td></tr>"
        ),
        _ => String::new(),
    };
    let run_row = job
        .run_id
        .map(|r| format!("<tr><th>sync run</th><td><a href=\"/queue?run={r}&amp;state=\">#{r}</a> (all jobs of the run)</td></tr>"))
        .unwrap_or_default();
    body.push_str(&format!(
        "<div class=\"grid2\"><div class=\"panel\"><h2>Timings</h2><table>\
         <tr><th>created</th><td>{}</td></tr><tr><th>due</th><td>{}</td></tr><tr><th>last attempt started</th><td>{}</td></tr>\
         <tr><th>finished</th><td>{}</td></tr><tr><th>wait</th><td>{}</td></tr><tr><th>run</th><td>{}</td></tr>\
         <tr><th>attempt</th><td>{} of {}</td></tr><tr><th>worker</th><td>{}</td></tr><tr><th>lease expires</th><td>{}</td></tr>\
         {account_row}{run_row}</table></div>",
        when(Some(job.created_at), now),
        when(Some(job.run_at), now),
        when(job.attempted_at, now),
        when(job.finished_at, now),
        wait.unwrap_or_else(|| "–".to_owned()),
        run.unwrap_or_else(|| "–".to_owned()),
        job.attempt,
        job.max_attempts,
        job.locked_by.as_deref().map_or_else(|| "–".to_owned(), |w| format!("<code>{}</code>", escape(w))),
        when(job.lease_expires_at, now),
    ));
    let progress = job
        .progress
        .as_ref()
        .map(|p| {
            format!(
                "<h3>Progress</h3><pre class=\"json\">{}</pre>",
                escape(&pretty(p))
            )
        })
        .unwrap_or_default();
    let result = job
        .result
        .as_ref()
        .map(|p| {
            format!(
                "<h3>Result</h3><pre class=\"json\">{}</pre>",
                escape(&pretty(p))
            )
        })
        .unwrap_or_default();
    body.push_str(&format!(
        "<div class=\"panel\"><h2>Arguments</h2><pre class=\"json\">{}</pre>{progress}{result}</div></div>",
        escape(&pretty(&job.args))
    ));

    // Errors of every attempt.
    body.push_str("<div class=\"panel\"><h2>Attempts and errors</h2>");
    if job.errors.is_empty() {
        body.push_str("<p class=\"empty\">No attempt has failed.</p>");
    } else {
        body.push_str("<div class=\"table-wrap\"><table><thead><tr><th class=\"num\">attempt</th><th>at</th><th>worker</th><th>error</th></tr></thead><tbody>");
        for e in job.errors.iter().rev() {
            body.push_str(&format!(
                "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td>{}<pre class=\"error-text\">{}</pre></td></tr>",
                e.attempt,
                when(Some(e.at), now),
                escape(e.worker_id.as_deref().unwrap_or("–")),
                if e.unreadable {
                    badge("failed", "unreadable entry")
                } else {
                    String::new()
                },
                escape(&e.error)
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");

    Ok(render(Page {
        title: format!("Job #{id}"),
        nav: Some(Nav::Queue),
        csrf: Some(csrf),
        flash: Flash::from_query(raw.as_deref()),
        live_src: None,
        body,
    }))
}
