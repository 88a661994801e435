//! The queue monitor's panels: throughput and wait/run-time percentiles, the jobs table with
//! its pager, connected workers and each account's Graph API usage against its budget.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, DurationRound, Utc};
use store::{AccountId, HISTOGRAM_BUCKETS, Job, JobMetricsQuery, JobState, histogram_quantile};

use crate::charts::{
    LineChart, PercentilePoint, TimeSeries, ValueFormat, escape, format_count, percentile_chart,
};
use crate::dashboard::form::query_string;
use crate::dashboard::layout::{badge, clip, csrf_field, when};
use crate::error::AppError;
use crate::state::AppState;

use super::{Filter, PAGE_SIZE, Range, WORKER_WINDOW_MINUTES};

/// Throughput and wait/run percentiles over the range, merged over kinds.
pub(super) async fn charts_panel(
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

pub(super) fn state_badge(job: &Job, now: DateTime<Utc>) -> String {
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

pub(super) fn jobs_panel(
    filter: &Filter,
    jobs: &store::JobPage,
    page_no: u32,
    accounts: &HashMap<AccountId, String>,
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

pub(super) async fn workers_panel(
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
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

pub(super) async fn usage_panel(
    state: &AppState,
    now: DateTime<Utc>,
    accounts: &HashMap<AccountId, String>,
) -> Result<String, AppError> {
    let usage = state.store.api_usage_latest().await?;
    let today = now.date_naive();
    let calls = state
        .store
        .api_calls_days(None, today - Duration::days(6), today)
        .await?;
    let mut by_account: BTreeMap<AccountId, (i64, i64, i64, i64)> = BTreeMap::new();
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
    let name = |id: Option<AccountId>| match id {
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
