//! Scheduled reports: what to deliver (an account or all, weekly or monthly, to an email
//! address or a webhook, as HTML or CSV) and the history of each period's delivery.

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::AccountId;

pub type ReportScheduleId = i64;

/// A report schedule to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReportSchedule {
    /// None: every account.
    pub account_id: Option<AccountId>,
    /// `weekly` or `monthly`: the report covers the last complete week or month.
    pub every: String,
    /// An email address or an `http(s)://` webhook URL.
    pub target: String,
    /// `html`, `csv` or `pdf`.
    pub format: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSchedule {
    pub id: ReportScheduleId,
    pub schedule: NewReportSchedule,
}

/// One attempt at delivering a schedule's report of one account and period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAttempt {
    pub schedule_id: ReportScheduleId,
    pub account_id: AccountId,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub at: DateTime<Utc>,
    /// None when the report was delivered.
    pub error: Option<String>,
}

/// Where the delivery of one schedule's report of one account and period stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDelivery {
    pub id: i64,
    pub schedule_id: ReportScheduleId,
    pub account_id: AccountId,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Attempts so far, failed ones included.
    pub attempts: i32,
    /// The error of the last failed attempt (kept after a later success).
    pub last_error: Option<String>,
    pub last_attempt_at: DateTime<Utc>,
    /// Set by the first successful attempt; a delivered period stays delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}
