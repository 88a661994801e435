//! The queue monitor: live counts by state and queue with the age of the oldest due job,
//! throughput and wait/run-time p50/p95/p99 over days from the persisted metrics, jobs with
//! search and bulk retry / cancel / delete (by selection or by the current filter), the job
//! detail page, connected workers and each account's Graph API usage against its budget.

mod actions;
mod detail;
mod panels;

pub(crate) use actions::{bulk, job_action};
pub(crate) use detail::job_page;
use panels::{charts_panel, jobs_panel, usage_panel, workers_panel};

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use store::{AccountId, JobQuery, JobState, QueueSnapshot, Resolution, RunId};

use crate::access::Access;
use crate::auth::RequireSession;
use crate::charts::escape;
use crate::dashboard::form::{FormData, encode, query_string};
use crate::dashboard::layout::{Flash, Nav, Page, PageError, PageResult, human_duration, render};
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
    account: Option<AccountId>,
    run: Option<RunId>,
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
            account: form.get_id(&key("account"))?,
            run: form.get_id(&key("run"))?,
            search: text("q")?,
        })
    }

    /// The store query, narrowed to the key's accounts.
    fn query(&self, access: &Access, limit: u32, offset: u32) -> JobQuery {
        JobQuery {
            states: self.state.into_iter().collect(),
            queue: self.queue.clone(),
            kind: self.kind.clone(),
            account_id: self.account,
            run_id: self.run,
            search: self.search.clone(),
            ids: Vec::new(),
            accounts: access.account_set(),
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

/// `GET /queue/live`: the live counts as JSON, polled by the pages (a key of one
/// workspace: its accounts' jobs).
pub(crate) async fn live(
    State(state): State<AppState>,
    RequireSession(_): RequireSession,
    access: Access,
) -> Result<impl IntoResponse, PageError> {
    let now = state.clock.now();
    let only = access.account_set();
    let snapshot = state.store.job_snapshot(now, only.as_deref()).await?;
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

/// `GET /queue`. A key of one workspace sees its accounts' jobs and counts; the charts,
/// workers and Graph API usage, which cover the whole installation, are left out for it.
pub(crate) async fn page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: Access,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let now = state.clock.now();
    let form = FormData::parse_str(raw.as_deref().unwrap_or_default())?;
    let filter = Filter::from_form(&form, "", true)?;
    let range = Range::parse(form.get("range"))?;
    let page_no = form.get_i64("page")?.unwrap_or(1).clamp(1, 100_000) as u32;
    let only = access.account_set();
    let snapshot = state.store.job_snapshot(now, only.as_deref()).await?;
    let values = live_values(&snapshot, now);
    let jobs = state
        .store
        .job_list(filter.query(&access, PAGE_SIZE, (page_no - 1) * PAGE_SIZE))
        .await?;
    let accounts: HashMap<AccountId, String> = state
        .store
        .account_list()
        .await?
        .into_iter()
        .filter(|a| access.sees(a.id))
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

    if access.workspace.is_none() {
        // Charts over the range.
        body.push_str(&charts_panel(&state, now, range, filter.queue.as_deref()).await?);

        // Workers and API usage.
        body.push_str(&usage_panel(&state, now, &accounts).await?);
        body.push_str(&workers_panel(&state, now).await?);
    }

    Ok(render(Page {
        title: "Queue".to_owned(),
        nav: Some(Nav::Queue),
        csrf: Some(csrf),
        flash: Flash::from_query(raw.as_deref()),
        live_src: Some("/queue/live"),
        body,
    }))
}
