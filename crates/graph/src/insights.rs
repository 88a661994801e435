//! Account insight reads, built for few round trips: daily time series in ≤ 30-day windows
//! plus per-day `total_value`s through batch requests of up to 50 operations, demographics
//! in one batch, and online followers (the latest days Meta does not serve yet reported as
//! such). Metrics the API rejects are dropped, remembered and the rest retried. Media
//! insights are in `media_insights.rs`.

use std::collections::{BTreeSet, VecDeque};

use chrono::{Duration, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};

use crate::catalog::{
    ACCOUNT_BREAKDOWNS, CatalogScope, DEMOGRAPHIC_BREAKDOWNS, FOLLOWER_COUNT, ONLINE_FOLLOWERS,
};
use crate::client::{GraphClient, PathKind, Request};
use crate::days::{check_range, each_day, pacific_day_ending_at, pacific_day_start, windows};
use crate::error::{ErrorClass, GraphError};
use crate::model::{
    AccountInsightPoint, DemographicTimeframe, DemographicValue, DemographicsRead, OnlineFollowers,
    OnlineFollowersRead,
};
use crate::parse;
use crate::reads::check_id;
use crate::token::AccountRef;

/// The latest complete days of `online_followers` Meta does not serve yet (a third-party
/// observation, docs/graph-api-edges.md).
const ONLINE_FOLLOWERS_GAP_DAYS: i64 = 2;

/// Objects per multi-ID request and operations per batch request (Meta's limit).
pub const MAX_IDS_PER_REQUEST: usize = 50;

/// Longest account-insights range accepted in one call (two years of days).
const MAX_RANGE_DAYS: i64 = 731;

/// Which account insights to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountInsightsQuery {
    /// First Pacific day, inclusive.
    pub since: NaiveDate,
    /// Last Pacific day, inclusive.
    pub until: NaiveDate,
    /// Also read each day's totals split by breakdown (media product type, follow type,
    /// contact button type, follower type): four more batched operations per day.
    pub breakdowns: bool,
}

/// A `total_value` batch operation: its day and breakdown dimension.
type DayOp = (NaiveDate, Option<&'static str>);

impl GraphClient {
    /// Account insights for an inclusive range of Pacific days: `reach` (and `follower_count`
    /// over the range's last 30 days) as daily time series in ≤ 30-day windows, and every
    /// `total_value` metric per day through batch requests (≤ 50 operations each). A backfill
    /// of 90 complete days and today costs 4–5 time-series requests (a window over a DST
    /// change is a day shorter) and 2 batch requests (9 with breakdowns). Pass `until` = the current Pacific day:
    /// with an earlier `until`, one request is spent finding `follower_count`'s limit.
    #[tracing::instrument(skip_all)]
    pub async fn account_insights(
        &self,
        account: &AccountRef,
        query: &AccountInsightsQuery,
    ) -> Result<Vec<AccountInsightPoint>, GraphError> {
        check_id(&account.ig_user_id)?;
        check_range(query.since, query.until)?;
        if (query.until - query.since).num_days() >= MAX_RANGE_DAYS {
            return Err(GraphError::InvalidRequest(format!(
                "account insights: at most {MAX_RANGE_DAYS} days per call"
            )));
        }
        let mut points = self
            .account_time_series(account, query.since, query.until)
            .await?;
        points.extend(self.account_total_values(account, query).await?);
        Ok(points)
    }

    async fn account_time_series(
        &self,
        account: &AccountRef,
        since: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<AccountInsightPoint>, GraphError> {
        // Meta serves follower_count for the last 30 days excluding the current day. The 31
        // days ending at `until` get windows with follower_count (so `until` = today yields
        // all 30); a day the API refuses it for moves to the windows without it.
        let recent_start = (until - Duration::days(30)).max(since);
        let mut reach_only: BTreeSet<NaiveDate> = each_day(since, until)
            .filter(|d| *d < recent_start)
            .collect();
        let mut points = Vec::new();
        for (d0, d1) in windows(recent_start, until) {
            let mut start = d0;
            while start <= d1 {
                match self.time_series_window(account, start, d1, true).await? {
                    Some(mut p) => {
                        points.append(&mut p);
                        break;
                    }
                    None => {
                        reach_only.insert(start);
                        start += Duration::days(1);
                    }
                }
            }
        }
        let days: Vec<NaiveDate> = reach_only.into_iter().collect();
        for run in days.chunk_by(|a, b| *a + Duration::days(1) == *b) {
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                continue;
            };
            for (d0, d1) in windows(*first, *last) {
                if let Some(mut p) = self.time_series_window(account, d0, d1, false).await? {
                    points.append(&mut p);
                }
            }
        }
        Ok(points)
    }

    /// One time-series request over `d0..=d1`. `None` when `follower_count` was asked for and
    /// the API refused it for this range.
    async fn time_series_window(
        &self,
        account: &AccountRef,
        d0: NaiveDate,
        d1: NaiveDate,
        with_follower_count: bool,
    ) -> Result<Option<Vec<AccountInsightPoint>>, GraphError> {
        let scope = CatalogScope::AccountTimeSeries;
        let mut metrics = self.metrics(scope);
        if !with_follower_count {
            metrics.retain(|m| *m != FOLLOWER_COUNT);
        }
        while !metrics.is_empty() {
            let req = Request::get(
                "account_insights",
                format!("{}/insights", account.ig_user_id),
            )
            .for_account(account)
            .param("metric", metrics.join(","))
            .param("period", "day")
            .param("metric_type", "time_series")
            .param("since", pacific_day_start(d0).timestamp().to_string())
            .param(
                "until",
                pacific_day_start(d1 + Duration::days(1))
                    .timestamp()
                    .to_string(),
            );
            match self.call(&req, parse::time_series).await {
                Ok(rows) => {
                    return Ok(Some(
                        rows.into_iter()
                            .map(|(metric, end, value)| AccountInsightPoint {
                                metric,
                                day: pacific_day_ending_at(end),
                                breakdown: None,
                                value,
                            })
                            .filter(|p| p.day >= d0 && p.day <= d1)
                            .collect(),
                    ));
                }
                Err(GraphError::Api(api)) if api.class() == ErrorClass::UnsupportedMetric => {
                    let names = self.drop_rejected(scope, &api, &metrics);
                    if names.is_empty() {
                        return Err(GraphError::Api(api));
                    }
                    metrics.retain(|m| !names.iter().any(|n| n == m));
                }
                Err(GraphError::Api(api))
                    if api.code == 100
                        && metrics.contains(&FOLLOWER_COUNT)
                        && api.message.contains(FOLLOWER_COUNT) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Some(Vec::new()))
    }

    async fn account_total_values(
        &self,
        account: &AccountRef,
        query: &AccountInsightsQuery,
    ) -> Result<Vec<AccountInsightPoint>, GraphError> {
        let scope = CatalogScope::AccountTotalValue;
        let plain = self.metrics(scope);
        let series = self.metrics(CatalogScope::AccountTimeSeries);
        let mut jobs: Vec<(DayOp, Vec<&'static str>)> = Vec::new();
        for day in each_day(query.since, query.until) {
            if !plain.is_empty() {
                jobs.push(((day, None), plain.clone()));
            }
            if query.breakdowns {
                for (dimension, metrics) in ACCOUNT_BREAKDOWNS {
                    let available: Vec<&'static str> = metrics
                        .iter()
                        .copied()
                        .filter(|m| plain.contains(m) || series.contains(m))
                        .collect();
                    if !available.is_empty() {
                        jobs.push(((day, Some(*dimension)), available));
                    }
                }
            }
        }
        let ig = account.ig_user_id.clone();
        let url = |(day, dimension): &DayOp, metrics: &[&'static str]| {
            let mut u = format!(
                "{ig}/insights?metric={}&period=day&metric_type=total_value&since={}&until={}",
                metrics.join(","),
                pacific_day_start(*day).timestamp(),
                pacific_day_start(*day + Duration::days(1)).timestamp()
            );
            if let Some(d) = dimension {
                u.push_str("&breakdown=");
                u.push_str(d);
            }
            u
        };
        let parse = |(day, dimension): &DayOp,
                     body: &[u8]|
         -> Result<Vec<AccountInsightPoint>, GraphError> {
            Ok(parse::total_values(body)?
                .into_iter()
                // A breakdown operation also repeats the day's totals: keep only its rows.
                .filter(|(_, b, _)| b.is_some() == dimension.is_some())
                .map(|(metric, breakdown, value)| AccountInsightPoint {
                    metric,
                    day: *day,
                    breakdown,
                    value,
                })
                .collect())
        };
        let (points, _) = self
            .run_batch(account, scope, jobs, url, parse, |_| false)
            .await?;
        Ok(points)
    }

    /// Audience demographics (follower, engaged and reached audience by age, gender,
    /// country, city and the combined age and gender) in one batch request. Accounts below
    /// Meta's thresholds (100 followers / engagements) get no rows. The values of a
    /// breakdown Meta refuses are left out; see [`demographics_read`](Self::demographics_read).
    #[tracing::instrument(skip_all)]
    pub async fn demographics(
        &self,
        account: &AccountRef,
        timeframe: DemographicTimeframe,
    ) -> Result<Vec<DemographicValue>, GraphError> {
        Ok(self.demographics_read(account, timeframe).await?.values)
    }

    /// Like [`demographics`](Self::demographics), and names the breakdowns Meta refused.
    /// Each metric × breakdown is its own operation of the batch, so a breakdown Meta
    /// answers with its generic code 1 ("An unknown error has occurred.", what an
    /// incompatible breakdown gets) fails only itself: it is asked once more (code 1 is also
    /// Meta's transient error) and then reported in [`DemographicsRead::refused`].
    #[tracing::instrument(skip_all)]
    pub async fn demographics_read(
        &self,
        account: &AccountRef,
        timeframe: DemographicTimeframe,
    ) -> Result<DemographicsRead, GraphError> {
        check_id(&account.ig_user_id)?;
        let scope = CatalogScope::Demographics;
        let jobs: Vec<((&'static str, &'static str), Vec<&'static str>)> = self
            .metrics(scope)
            .into_iter()
            .flat_map(|metric| {
                DEMOGRAPHIC_BREAKDOWNS
                    .iter()
                    .map(move |dim| ((metric, *dim), vec![metric]))
            })
            .collect();
        let ig = account.ig_user_id.clone();
        let url = |(_, dim): &(&'static str, &'static str), metrics: &[&'static str]| {
            format!(
                "{ig}/insights?metric={}&period=lifetime&metric_type=total_value&breakdown={dim}&timeframe={}",
                metrics.join(","),
                timeframe.as_str()
            )
        };
        let parse = |(_, dim): &(&'static str, &'static str),
                     body: &[u8]|
         -> Result<Vec<DemographicValue>, GraphError> {
            Ok(parse::total_values(body)?
                .into_iter()
                .filter_map(|(metric, b, value)| {
                    let b = b?;
                    Some(DemographicValue {
                        metric,
                        breakdown: if b.dimension.is_empty() {
                            (*dim).to_owned()
                        } else {
                            b.dimension
                        },
                        timeframe,
                        key: b.key,
                        value,
                    })
                })
                .collect())
        };
        let refused_breakdown = |e: &GraphError| e.code() == Some(1);
        let (values, failed) = self
            .run_batch(account, scope, jobs, url, parse, refused_breakdown)
            .await?;
        let refused = failed
            .into_iter()
            .map(|((metric, dim), e)| {
                let message = match &e {
                    GraphError::Api(api) => api.message.clone(),
                    e => e.to_string(),
                };
                (metric.to_owned(), dim.to_owned(), message)
            })
            .collect();
        Ok(DemographicsRead { values, refused })
    }

    /// Followers online per hour for each Pacific day of the range (Meta keeps the last 30
    /// days only), in ≤ 30-day windows. Empty when the API does not serve the metric.
    #[tracing::instrument(skip_all)]
    pub async fn online_followers(
        &self,
        account: &AccountRef,
        since: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<OnlineFollowers>, GraphError> {
        Ok(self
            .online_followers_read(account, since, until)
            .await?
            .days)
    }

    /// Like [`online_followers`](Self::online_followers), and tells which days Meta does
    /// not serve yet: a window that includes one of the latest two days fails as a whole
    /// (docs/graph-api-edges.md), so it is asked again without them and they are reported
    /// in [`OnlineFollowersRead::not_ready`].
    #[tracing::instrument(skip_all)]
    pub async fn online_followers_read(
        &self,
        account: &AccountRef,
        since: NaiveDate,
        until: NaiveDate,
    ) -> Result<OnlineFollowersRead, GraphError> {
        check_id(&account.ig_user_id)?;
        check_range(since, until)?;
        let scope = CatalogScope::AccountTimeSeries;
        let mut out = OnlineFollowersRead::default();
        'windows: for (d0, mut d1) in windows(since, until) {
            // Days cut from the end of this window because Meta refused them.
            let mut cut = false;
            loop {
                if self
                    .inner
                    .catalog
                    .is_dropped(self.version(), scope, ONLINE_FOLLOWERS)
                {
                    break 'windows;
                }
                let req = Request::get(
                    "account_insights",
                    format!("{}/insights", account.ig_user_id),
                )
                .for_account(account)
                .param("metric", ONLINE_FOLLOWERS)
                .param("period", "lifetime")
                .param("since", pacific_day_start(d0).timestamp().to_string())
                .param(
                    "until",
                    pacific_day_start(d1 + Duration::days(1))
                        .timestamp()
                        .to_string(),
                );
                match self.call(&req, parse::online_followers).await {
                    Ok(days) => {
                        out.days
                            .extend(days.into_iter().filter(|d| d.day >= d0 && d.day <= d1));
                        break;
                    }
                    Err(GraphError::Api(api)) if api.class() == ErrorClass::UnsupportedMetric => {
                        self.drop_rejected(scope, &api, &[ONLINE_FOLLOWERS]);
                        break 'windows;
                    }
                    // A refusal of the window's latest days: ask once more without them.
                    Err(GraphError::Api(api))
                        if !cut && api.class() == ErrorClass::Permanent && api.code == 100 =>
                    {
                        cut = true;
                        let keep_until = d1 - Duration::days(ONLINE_FOLLOWERS_GAP_DAYS);
                        let mut d = (keep_until + Duration::days(1)).max(d0);
                        while d <= d1 {
                            out.not_ready.push(d);
                            d += Duration::days(1);
                        }
                        if keep_until < d0 {
                            break;
                        }
                        d1 = keep_until;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        out.days.sort_by_key(|d| d.day);
        out.not_ready.sort();
        out.not_ready.dedup();
        Ok(out)
    }

    /// Runs operations through batch requests of ≤ 50, re-queueing unfinished and transient
    /// operations and re-issuing operations without metrics the API rejected. An operation
    /// whose failure `isolate` accepts is asked once more, then returned with its error
    /// instead of failing the others.
    #[allow(clippy::type_complexity)]
    async fn run_batch<T, R>(
        &self,
        account: &AccountRef,
        scope: CatalogScope,
        jobs: Vec<(T, Vec<&'static str>)>,
        url: impl Fn(&T, &[&'static str]) -> String,
        parse: impl Fn(&T, &[u8]) -> Result<Vec<R>, GraphError>,
        isolate: impl Fn(&GraphError) -> bool,
    ) -> Result<(Vec<R>, Vec<(T, GraphError)>), GraphError> {
        let max_attempts = self.inner.cfg.retry.max_attempts;
        let version = self.version();
        let mut queue: VecDeque<(T, Vec<&'static str>, u32)> =
            jobs.into_iter().map(|(t, m)| (t, m, 0)).collect();
        let mut out = Vec::new();
        let mut failed = Vec::new();
        let mut round = 0;
        while !queue.is_empty() {
            let take = queue.len().min(MAX_IDS_PER_REQUEST);
            let mut chunk: Vec<(T, Vec<&'static str>, u32)> = queue.drain(..take).collect();
            for (_, metrics, _) in &mut chunk {
                metrics.retain(|m| !self.inner.catalog.is_dropped(version, scope, m));
            }
            chunk.retain(|(_, metrics, _)| !metrics.is_empty());
            if chunk.is_empty() {
                continue;
            }
            let ops: Vec<Value> = chunk
                .iter()
                .map(
                    |(tag, metrics, _)| json!({"method": "GET", "relative_url": url(tag, metrics)}),
                )
                .collect();
            let n = ops.len();
            let req = Request {
                method: Method::POST,
                kind: PathKind::Versioned,
                form: Some(vec![
                    ("batch", Value::Array(ops).to_string()),
                    ("include_headers", "false".to_owned()),
                ]),
                units: n as u64,
                ..Request::get("batch", "").for_account(account)
            };
            let items = self.call(&req, |b| parse::batch(b, n)).await?;
            let mut retry_later = false;
            for ((tag, mut metrics, attempts), item) in chunk.into_iter().zip(items) {
                let failure = match item {
                    None => GraphError::Malformed {
                        context: "batch",
                        detail: "operation not completed".to_owned(),
                    },
                    Some((status, body)) if (200..300).contains(&status) => {
                        match parse(&tag, body.as_bytes()) {
                            Ok(rows) => {
                                out.extend(rows);
                                continue;
                            }
                            Err(e) => e,
                        }
                    }
                    Some((status, body)) => match parse::api_error(status, body.as_bytes()) {
                        Some(mut api) => {
                            api.message = crate::error::scrub(&api.message, account.token.expose());
                            GraphError::Api(Box::new(api))
                        }
                        None => GraphError::Http {
                            status,
                            snippet: body.chars().take(200).collect(),
                        },
                    },
                };
                self.inner
                    .stats
                    .error(&failure.label(), Some(&account.ig_user_id));
                match failure {
                    GraphError::Api(api) if api.class() == ErrorClass::UnsupportedMetric => {
                        let names = self.drop_rejected(scope, &api, &metrics);
                        if names.is_empty() {
                            return Err(GraphError::Api(api));
                        }
                        metrics.retain(|m| !names.iter().any(|n| n == m));
                        if !metrics.is_empty() {
                            queue.push_back((tag, metrics, attempts));
                        }
                    }
                    GraphError::Api(api) if api.class() == ErrorClass::RateLimited => {
                        return Err(self.api_error(Some(&account.ig_user_id), *api, None));
                    }
                    e if isolate(&e) && attempts >= 1.min(max_attempts.saturating_sub(1)) => {
                        failed.push((tag, e));
                    }
                    e if e.class() == ErrorClass::Transient && attempts + 1 < max_attempts => {
                        retry_later = true;
                        self.inner.stats.operation_retry();
                        queue.push_back((tag, metrics, attempts + 1));
                    }
                    e => return Err(e),
                }
            }
            if retry_later {
                round += 1;
                tokio::time::sleep(self.backoff(round)).await;
            }
        }
        Ok((out, failed))
    }
}
