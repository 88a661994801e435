//! Scheduled reports: an hourly `reports_due` tick enqueues one `deliver_report` job per
//! schedule, account and last complete period not yet delivered (unique per schedule,
//! account and period, so a period is never delivered twice); the job builds the report,
//! renders it for mail (HTML with inline CSS, figures as a table, the follower chart as an
//! inline PNG), as CSV or as a PDF, and sends it by SMTP or to a webhook signed like the alert
//! webhooks. Every attempt is recorded in the delivery history; failures retry with the
//! queue's backoff.

mod chart;
mod pdf;
mod render;
mod send;

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use store::{
    Account, AccountId, JobId, NewJob, NewReportSchedule, ReportAttempt, ReportDelivery,
    ReportSchedule, ReportScheduleId, SecretString,
};

use crate::engine::{Deps, Engine};
use crate::error::{Result, SyncError};
use crate::jobs::PRIORITY_MAINTENANCE;
use crate::plan::MAINTENANCE_QUEUE;
use ::queue::{JobArgs, JobContext, JobHandler, JobOutcome};

pub use render::{FigureRow, PeerRow, PeerSection, RenderedReport, ReportChart, render_report};

/// The kind of the hourly tick that enqueues due deliveries.
pub const KIND_REPORTS_DUE: &str = "reports_due";
/// The kind of one delivery.
pub const KIND_DELIVER_REPORT: &str = "deliver_report";
/// The tick's schedule.
pub const SCHEDULE_REPORTS: &str = "reports";
/// Hourly by default, so a new period is delivered within the hour after it ends in the
/// account's time zone.
pub const DEFAULT_REPORTS_CRON: &str = "0 5 * * * *";

/// The tick's schedule, on `cron` (`sync.reports_cron`).
pub(crate) fn schedule(cron: &str) -> store::ScheduleDef {
    store::ScheduleDef {
        name: SCHEDULE_REPORTS.to_string(),
        cron: cron.trim().to_string(),
        queue: MAINTENANCE_QUEUE.to_string(),
        kind: KIND_REPORTS_DUE.to_string(),
        args: serde_json::json!({}),
    }
}

/// How a mail server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl SmtpTls {
    pub fn parse(s: &str) -> Option<SmtpTls> {
        Some(match s {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            "none" => SmtpTls::None,
            _ => return None,
        })
    }
}

/// The `smtp.*` settings. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub from: String,
    pub tls: SmtpTls,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("tls", &self.tls)
            .finish()
    }
}

/// What a schedule delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The HTML mail with the chart as an inline image (JSON to a webhook).
    Html,
    /// The figures as CSV: attached to the plain-text mail, or the webhook's body.
    Csv,
    /// The report as a PDF: attached to the plain-text mail, or the webhook's body.
    Pdf,
}

impl ReportFormat {
    pub fn parse(s: &str) -> Option<ReportFormat> {
        Some(match s {
            "html" => ReportFormat::Html,
            "csv" => ReportFormat::Csv,
            "pdf" => ReportFormat::Pdf,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Csv => "csv",
            ReportFormat::Pdf => "pdf",
        }
    }
}

/// Where a schedule's reports go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportTarget {
    Email(String),
    Webhook(crate::WebhookUrl),
}

impl ReportTarget {
    /// An `http(s)://` URL is a webhook; anything else must be an email address.
    pub fn parse(target: &str) -> std::result::Result<ReportTarget, String> {
        let target = target.trim();
        if target.starts_with("http://") || target.starts_with("https://") {
            return crate::WebhookUrl::parse(target).map(ReportTarget::Webhook);
        }
        let valid = target.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !target.contains(char::is_whitespace)
                && !domain.contains('@')
        });
        if valid {
            Ok(ReportTarget::Email(target.to_string()))
        } else {
            Err(format!(
                "{target:?} is neither an email address nor an http(s):// webhook URL"
            ))
        }
    }

    /// For lists and logs: the address, or the webhook's origin without its credential.
    pub fn shown(&self) -> String {
        match self {
            ReportTarget::Email(a) => a.clone(),
            ReportTarget::Webhook(u) => u.to_string(),
        }
    }
}

/// A schedule's period length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Weekly,
    Monthly,
}

impl Every {
    pub fn parse(s: &str) -> Option<Every> {
        match s {
            "weekly" => Some(Every::Weekly),
            "monthly" => Some(Every::Monthly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Every::Weekly => "weekly",
            Every::Monthly => "monthly",
        }
    }

    /// The last complete period before `today`: Monday to Sunday of the previous week, or
    /// the previous calendar month.
    pub fn last_complete(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Every::Weekly => {
                let monday =
                    today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
                (monday - Duration::days(7), monday - Duration::days(1))
            }
            Every::Monthly => {
                let first = today.with_day(1).unwrap_or(today);
                let end = first - Duration::days(1);
                (end.with_day(1).unwrap_or(end), end)
            }
        }
    }
}

/// The arguments of one delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverReportArgs {
    pub schedule_id: ReportScheduleId,
    pub account_id: AccountId,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Asked for now (`igsync reports send-now`): delivered even when the period was
    /// delivered before. Deliveries queued by the hourly tick leave it out (false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

impl JobArgs for DeliverReportArgs {
    const KIND: &'static str = KIND_DELIVER_REPORT;
}

/// The accounts a schedule covers now.
async fn accounts_of(deps: &Deps, schedule: &ReportSchedule) -> Result<Vec<Account>> {
    let all = deps.store.account_list().await?;
    Ok(match schedule.schedule.account_id {
        Some(id) => all.into_iter().filter(|a| a.id == id).collect(),
        None => all,
    })
}

/// The last complete period of `every` as of `now` in the account's time zone.
fn period_for(
    account: &Account,
    every: Every,
    now: DateTime<Utc>,
) -> Result<(NaiveDate, NaiveDate)> {
    let tz = account.time_zone()?;
    Ok(every.last_complete(now.with_timezone(&tz).date_naive()))
}

fn every_of(schedule: &ReportSchedule) -> std::result::Result<Every, String> {
    Every::parse(&schedule.schedule.every).ok_or_else(|| {
        format!(
            "schedule {} has the unknown period {:?}",
            schedule.id, schedule.schedule.every
        )
    })
}

/// Enqueues the deliveries due for every schedule: the last complete period of each
/// covered account, unless delivered already. Returns how many jobs were inserted.
pub(crate) async fn enqueue_due(deps: &Deps, now: DateTime<Utc>) -> Result<usize> {
    let mut inserted = 0;
    for schedule in deps.store.report_schedule_list().await? {
        let Ok(every) = every_of(&schedule) else {
            continue;
        };
        let delivered = deps
            .store
            .report_delivery_list(Some(schedule.id), 0)
            .await?;
        for account in accounts_of(deps, &schedule).await? {
            let (start, end) = match period_for(&account, every, now) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(account = account.id.get(), error = %e, "no report period");
                    continue;
                }
            };
            if delivered.iter().any(|d| {
                d.account_id == account.id && d.period_start == start && d.delivered_at.is_some()
            }) {
                continue;
            }
            let args = DeliverReportArgs {
                schedule_id: schedule.id,
                account_id: account.id,
                period_start: start,
                period_end: end,
                force: false,
            };
            let job = NewJob {
                queue: MAINTENANCE_QUEUE.to_string(),
                account_id: Some(account.id),
                unique_key: Some(format!("report:{}:{}:{start}", schedule.id, account.id)),
                max_attempts: deps.settings.max_attempts as i32,
                priority: PRIORITY_MAINTENANCE,
                ..NewJob::typed(&args, now)?
            };
            if let ::queue::InsertOutcome::Inserted(_) = deps.store.job_insert(job).await? {
                inserted += 1;
            }
        }
    }
    if inserted > 0 {
        deps.wake.notify_one();
    }
    Ok(inserted)
}

/// Builds, renders and sends one report; records the attempt. `Ok(None)` when the period
/// was delivered already (nothing is sent again).
pub(crate) async fn deliver(
    deps: &Deps,
    args: &DeliverReportArgs,
    now: DateTime<Utc>,
    force: bool,
) -> std::result::Result<Option<ReportDelivery>, DeliveryError> {
    let store = &deps.store;
    let schedule = store
        .report_schedule_list()
        .await
        .map_err(|e| DeliveryError::Retry(e.to_string()))?
        .into_iter()
        .find(|s| s.id == args.schedule_id)
        .ok_or_else(|| {
            DeliveryError::Gone(format!("report schedule {} was removed", args.schedule_id))
        })?;
    if !force {
        let done = store
            .report_delivery_list(Some(schedule.id), 0)
            .await
            .map_err(|e| DeliveryError::Retry(e.to_string()))?
            .into_iter()
            .any(|d| {
                d.account_id == args.account_id
                    && d.period_start == args.period_start
                    && d.delivered_at.is_some()
            });
        if done {
            return Ok(None);
        }
    }
    let account = store
        .account_get(args.account_id)
        .await
        .map_err(|e| DeliveryError::Retry(e.to_string()))?
        .ok_or_else(|| DeliveryError::Gone(format!("account {} was removed", args.account_id)))?;
    let outcome = send_one(deps, &schedule, &account, args, now).await;
    let attempt = ReportAttempt {
        schedule_id: schedule.id,
        account_id: account.id,
        period_start: args.period_start,
        period_end: args.period_end,
        at: now,
        error: outcome.as_ref().err().cloned(),
    };
    let recorded = store.report_delivery_record(attempt).await;
    match (outcome, recorded) {
        (Ok(()), Ok(d)) => Ok(Some(d)),
        (Ok(()), Err(e)) => {
            // Sent, but not recorded: retrying would send it again, so only say so.
            tracing::warn!(schedule = schedule.id, error = %e, "a delivered report could not be recorded");
            Ok(None)
        }
        (Err(e), _) => Err(DeliveryError::Retry(e)),
    }
}

/// Why a delivery did not happen.
#[derive(Debug)]
pub(crate) enum DeliveryError {
    /// Worth another attempt (the server refused, the network failed).
    Retry(String),
    /// The schedule or the account is gone.
    Gone(String),
}

async fn send_one(
    deps: &Deps,
    schedule: &ReportSchedule,
    account: &Account,
    args: &DeliverReportArgs,
    now: DateTime<Utc>,
) -> std::result::Result<(), String> {
    let period =
        analytics::Period::new(args.period_start, args.period_end).map_err(|e| e.to_string())?;
    let report = crate::build_report(deps.store.as_ref(), account, period, now)
        .await
        .map_err(|e| format!("cannot build the report: {e}"))?;
    let every = every_of(schedule)?;
    let rendered = render_report(&report, account, every, deps.settings.public_url.as_deref());
    let target = ReportTarget::parse(&schedule.schedule.target)?;
    let format = ReportFormat::parse(&schedule.schedule.format).ok_or_else(|| {
        format!(
            "the schedule's format {:?} is not html, csv or pdf",
            schedule.schedule.format
        )
    })?;
    match target {
        ReportTarget::Email(to) => {
            let smtp = deps.settings.smtp.as_ref().ok_or_else(|| {
                "the report goes by email but smtp.host is not configured".to_string()
            })?;
            send::email(smtp, &to, &rendered, format).await
        }
        ReportTarget::Webhook(url) => {
            send::webhook(deps, &url, schedule, account, &rendered, format).await
        }
    }
}

/// The hourly tick.
pub(crate) struct ReportsDue {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for ReportsDue {
    fn kind(&self) -> &str {
        KIND_REPORTS_DUE
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        match enqueue_due(&self.deps, ctx.now()).await {
            Ok(n) => JobOutcome::Complete {
                result: Some(serde_json::json!({ "enqueued": n })),
                next: Vec::new(),
            },
            Err(e) => JobOutcome::retry(e.to_string()),
        }
    }
}

/// One delivery.
pub(crate) struct DeliverReport {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for DeliverReport {
    fn kind(&self) -> &str {
        KIND_DELIVER_REPORT
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let args: DeliverReportArgs = match ctx.args() {
            Ok(args) => args,
            Err(e) => return JobOutcome::discard(e.to_string()),
        };
        match deliver(&self.deps, &args, ctx.now(), args.force).await {
            Ok(d) => JobOutcome::Complete {
                result: Some(serde_json::json!({
                    "delivered": d.is_some(),
                    "period_start": args.period_start.to_string(),
                })),
                next: Vec::new(),
            },
            Err(DeliveryError::Retry(e)) => JobOutcome::retry(e),
            Err(DeliveryError::Gone(e)) => JobOutcome::discard(e),
        }
    }
}

impl Engine {
    /// Creates a report schedule. An email target is refused while `smtp.host` is unset.
    pub async fn report_schedule_create(
        &self,
        account_id: Option<AccountId>,
        every: Every,
        target: &str,
        format: ReportFormat,
    ) -> Result<ReportSchedule> {
        let deps = &self.deps;
        let parsed = ReportTarget::parse(target).map_err(SyncError::Invalid)?;
        if matches!(parsed, ReportTarget::Email(_)) && deps.settings.smtp.is_none() {
            return Err(SyncError::Invalid(
                "reports by email need a mail server: set smtp.host (and smtp.from) first"
                    .to_string(),
            ));
        }
        if let Some(id) = account_id
            && deps.store.account_get(id).await?.is_none()
        {
            return Err(SyncError::UnknownAccount(id));
        }
        Ok(deps
            .store
            .report_schedule_insert(NewReportSchedule {
                account_id,
                every: every.as_str().to_string(),
                target: target.trim().to_string(),
                format: format.as_str().to_string(),
                created_at: deps.clock.now(),
            })
            .await?)
    }

    /// The problems that keep schedules from delivering, one sentence each (an email target
    /// while `smtp.host` is unset): `serve` reports them at start.
    pub async fn report_problems(&self) -> Result<Vec<String>> {
        let deps = &self.deps;
        let mut out = Vec::new();
        for s in deps.store.report_schedule_list().await? {
            if matches!(
                ReportTarget::parse(&s.schedule.target),
                Ok(ReportTarget::Email(_))
            ) && deps.settings.smtp.is_none()
            {
                out.push(format!(
                    "report schedule {} sends email but smtp.host is not configured: it will \
                     fail until it is",
                    s.id
                ));
            }
        }
        Ok(out)
    }

    /// Enqueues the deliveries that are due now (what the hourly tick does).
    pub async fn enqueue_due_reports(&self) -> Result<usize> {
        enqueue_due(&self.deps, self.deps.clock.now()).await
    }

    /// Queues a delivery of a schedule's report of the last complete period for each
    /// account it covers, whether or not that period was delivered before: the same job as
    /// a scheduled delivery (retries with the queue's backoff, every attempt in the delivery
    /// history). A request while one for the same schedule, account and period is queued
    /// joins it. Returns each account's job.
    pub async fn report_send_now(&self, id: ReportScheduleId) -> Result<Vec<(AccountId, JobId)>> {
        let deps = &self.deps;
        let now = deps.clock.now();
        let schedule = deps
            .store
            .report_schedule_list()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| SyncError::Invalid(format!("report schedule {id} does not exist")))?;
        let every = every_of(&schedule).map_err(SyncError::Invalid)?;
        let mut out = Vec::new();
        for account in accounts_of(deps, &schedule).await? {
            let (start, end) = period_for(&account, every, now)?;
            let args = DeliverReportArgs {
                schedule_id: id,
                account_id: account.id,
                period_start: start,
                period_end: end,
                force: true,
            };
            let job = NewJob {
                queue: MAINTENANCE_QUEUE.to_string(),
                account_id: Some(account.id),
                unique_key: Some(format!("report-now:{id}:{}:{start}", account.id)),
                max_attempts: deps.settings.max_attempts as i32,
                priority: PRIORITY_MAINTENANCE,
                ..NewJob::typed(&args, now)?
            };
            let job_id = match deps.store.job_insert(job).await? {
                ::queue::InsertOutcome::Inserted(j) | ::queue::InsertOutcome::Merged(j) => j,
            };
            out.push((account.id, job_id));
        }
        if !out.is_empty() {
            deps.wake.notify_one();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn last_complete_periods() {
        // 2026-03-11 is a Wednesday.
        assert_eq!(
            Every::Weekly.last_complete(d(2026, 3, 11)),
            (d(2026, 3, 2), d(2026, 3, 8))
        );
        // On a Monday the week that ended yesterday is complete.
        assert_eq!(
            Every::Weekly.last_complete(d(2026, 3, 9)),
            (d(2026, 3, 2), d(2026, 3, 8))
        );
        assert_eq!(
            Every::Monthly.last_complete(d(2026, 3, 1)),
            (d(2026, 2, 1), d(2026, 2, 28))
        );
        assert_eq!(
            Every::Monthly.last_complete(d(2026, 1, 31)),
            (d(2025, 12, 1), d(2025, 12, 31))
        );
    }

    #[test]
    fn targets_are_email_addresses_or_webhooks() {
        assert_eq!(
            ReportTarget::parse(" team@example.com ").unwrap(),
            ReportTarget::Email("team@example.com".into())
        );
        let hook = ReportTarget::parse("https://hooks.example.com/T/XXsecret").unwrap();
        assert_eq!(hook.shown(), "https://hooks.example.com/…");
        for bad in [
            "team",
            "team@",
            "@example.com",
            "a b@example.com",
            "a@example",
            "ftp://x",
        ] {
            assert!(ReportTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_debug_hides_the_password() {
        let s = SmtpSettings {
            host: "mail.example.com".into(),
            port: 587,
            username: Some("me".into()),
            password: Some(SecretString::new("hunter2")),
            from: "igsync@example.com".into(),
            tls: SmtpTls::StartTls,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
