//! Follower growth over a period from the follower counter history.
//!
//! The follower count is a stock, so the difference between two samples is the exact net
//! growth between them however many syncs were missed in between. Growth over a period is
//! therefore measured between two real samples: the last one at or before the period start
//! (else the first one inside the period) and the last one inside the period. Nothing is
//! interpolated: when the start sample is older than the period start, the growth covers the
//! extra time and the figure's note says so. The daily series has one point per local day
//! that has a sample (the last sample of that day); days without a sync have no point, and
//! each point says how many days its change spans.
//!
//! Until the counter has two samples to measure between (an account's first sync), the
//! growth is taken from Meta's own daily follower changes (the account insight
//! `follower_count`, [`crate::AccountMetric::NetNewFollowers`]) over the period's days that
//! have one, and the figure says so; without those it stays missing.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::definition as def;
use crate::engagement::FollowerTimeline;
use crate::figure::Figure;
use crate::input::FollowerSample;
use crate::period::{Period, local_date};

/// How the period-start sample was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartSampleChoice {
    /// The last sample at or before the period start (normal case).
    AtOrBeforeStart,
    /// No sample before the period: the first sample inside it.
    FirstInPeriod,
}

/// Followers at the last sample of one local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyFollowers {
    /// Local day (account time zone).
    pub day: NaiveDate,
    /// Followers at the day's last sample (`followers_daily`).
    pub followers: i64,
    /// When that sample was taken.
    pub captured_at: DateTime<Utc>,
    /// Change since the previous point (or, for the first day, since the last sample before
    /// the period); `None` when there is no earlier sample.
    pub change: Option<i64>,
    /// Number of local days the change spans (1 = consecutive days; more = sync gap).
    pub days_spanned: Option<i64>,
}

/// Follower growth over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowerGrowth {
    /// `followers_at_period_start`.
    pub start: Figure,
    /// `followers_at_period_end`.
    pub end: Figure,
    /// The sample used as the start, and how it was chosen.
    pub start_sample: Option<(FollowerSample, StartSampleChoice)>,
    /// The sample used as the end.
    pub end_sample: Option<FollowerSample>,
    /// `follower_growth_abs`.
    pub growth_abs: Figure,
    /// `follower_growth_pct`.
    pub growth_pct: Figure,
    /// `followers_daily`: one point per local day with a sample.
    pub daily: Vec<DailyFollowers>,
    /// Days in the period.
    pub days_in_period: i64,
    /// Days of the period with at least one sample.
    pub days_with_samples: usize,
    /// Longest run of consecutive period days without a sample.
    pub longest_gap_days: i64,
    /// Where `growth_abs` comes from.
    pub source: GrowthSource,
}

/// What the follower growth was measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrowthSource {
    /// Two samples of the follower counter (or none: the growth is missing).
    Samples,
    /// The sum of Meta's daily follower changes over this many days of the period (fewer
    /// than two counter samples to measure between).
    ApiDailyChanges { days: usize },
}

impl FollowerGrowth {
    /// When the counter samples cannot give the growth, the sum of Meta's daily follower
    /// changes (`(day, change)` of the period's days that have one) gives it, noted as
    /// such; the rate stays missing (it needs the counter at the period start). A growth
    /// measured from samples, or no daily changes at all, leaves everything as it is.
    pub fn or_api_daily_changes(mut self, changes: &[(NaiveDate, i64)]) -> FollowerGrowth {
        if self.growth_abs.value.is_some() || changes.is_empty() {
            return self;
        }
        let why = self
            .growth_abs
            .note
            .clone()
            .unwrap_or_else(|| "no follower samples".to_owned());
        let sum: i128 = changes.iter().map(|it| i128::from(it.1)).sum();
        let days = changes.len();
        let mut note = format!(
            "sum of Meta's daily follower changes ({why}: the counter cannot be measured yet)"
        );
        if (days as i64) < self.days_in_period {
            note.push_str(&format!(
                "; data for {days} of {} day(s)",
                self.days_in_period
            ));
        }
        self.growth_abs = Figure::new(&def::FOLLOWER_GROWTH_ABS, Some(sum as f64)).with_note(note);
        self.growth_pct = Figure::missing(
            &def::FOLLOWER_GROWTH_PCT,
            format!("{why}: the followers at the period start are not known"),
        );
        self.source = GrowthSource::ApiDailyChanges { days };
        self
    }
}

/// Computes follower growth over `period` (local dates in `tz`).
pub fn follower_growth(timeline: &FollowerTimeline, period: &Period, tz: Tz) -> FollowerGrowth {
    let (from, to) = period.utc_bounds(tz);
    let samples = timeline.samples();
    let first_in = samples.partition_point(|it| it.captured_at < from);
    let end_in = samples.partition_point(|it| it.captured_at < to);
    let inside = &samples[first_in..end_in.max(first_in)];

    let before = timeline.last_at_or_before(from).copied();
    let start_sample = match before {
        Some(it) => Some((it, StartSampleChoice::AtOrBeforeStart)),
        None => inside
            .first()
            .map(|it| (*it, StartSampleChoice::FirstInPeriod)),
    };
    let end_sample = inside.last().copied();

    let daily = daily_points(inside, samples[..first_in].last().copied(), tz);
    let days_in_period = period.n_days();
    let days_with_samples = daily.len();
    let longest_gap_days = longest_gap(period, &daily);

    let start = match start_sample {
        Some((it, choice)) => {
            let note = start_note(&it, choice, from, tz);
            Figure::new(&def::FOLLOWERS_AT_PERIOD_START, Some(it.followers as f64))
                .with_optional_note(note)
        }
        None => Figure::missing(&def::FOLLOWERS_AT_PERIOD_START, "no follower sample"),
    };
    let end = match end_sample {
        Some(it) => {
            Figure::new(&def::FOLLOWERS_AT_PERIOD_END, Some(it.followers as f64)).with_note(
                format!("sample of {}", it.captured_at.format("%Y-%m-%d %H:%M UTC")),
            )
        }
        None => Figure::missing(
            &def::FOLLOWERS_AT_PERIOD_END,
            "no follower sample in the period",
        ),
    };

    let (growth_abs, growth_pct) = match (start_sample, end_sample) {
        (_, None) => (
            Figure::missing(
                &def::FOLLOWER_GROWTH_ABS,
                "no follower sample in the period",
            ),
            Figure::missing(
                &def::FOLLOWER_GROWTH_PCT,
                "no follower sample in the period",
            ),
        ),
        (Some((s, _)), Some(e)) if s.captured_at >= e.captured_at => (
            Figure::missing(&def::FOLLOWER_GROWTH_ABS, "only one follower sample"),
            Figure::missing(&def::FOLLOWER_GROWTH_PCT, "only one follower sample"),
        ),
        (Some((s, choice)), Some(e)) => {
            let abs = e.followers.saturating_sub(s.followers);
            let mut notes = Vec::new();
            if let Some(it) = start_note(&s, choice, from, tz) {
                notes.push(it);
            }
            let end_day = local_date(tz, e.captured_at);
            if end_day < period.end() {
                notes.push(format!(
                    "last sample in the period is from {end_day}; later days are not covered"
                ));
            }
            if longest_gap_days > 0 {
                notes.push(format!(
                    "{} of {days_in_period} day(s) without a sync (longest gap {longest_gap_days} \
                     day(s)); growth is exact between the two samples",
                    days_in_period - days_with_samples as i64
                ));
            }
            let note = (!notes.is_empty()).then(|| notes.join("; "));
            let abs_figure = Figure::new(&def::FOLLOWER_GROWTH_ABS, Some(abs as f64))
                .with_optional_note(note.clone());
            let pct_figure = if s.followers > 0 {
                Figure::new(
                    &def::FOLLOWER_GROWTH_PCT,
                    Some(abs as f64 / s.followers as f64 * 100.0),
                )
                .with_optional_note(note)
            } else {
                Figure::missing(
                    &def::FOLLOWER_GROWTH_PCT,
                    "followers at the start sample is 0",
                )
            };
            (abs_figure, pct_figure)
        }
        // An end sample exists, so a start sample exists too.
        (None, Some(_)) => (
            Figure::missing(&def::FOLLOWER_GROWTH_ABS, "no follower sample"),
            Figure::missing(&def::FOLLOWER_GROWTH_PCT, "no follower sample"),
        ),
    };

    FollowerGrowth {
        start,
        end,
        start_sample,
        end_sample,
        growth_abs,
        growth_pct,
        daily,
        days_in_period,
        days_with_samples,
        longest_gap_days,
        source: GrowthSource::Samples,
    }
}

fn start_note(
    sample: &FollowerSample,
    choice: StartSampleChoice,
    from: DateTime<Utc>,
    tz: Tz,
) -> Option<String> {
    match choice {
        StartSampleChoice::FirstInPeriod => Some(format!(
            "no sample before the period; measured from the first sample, {}",
            sample.captured_at.format("%Y-%m-%d %H:%M UTC")
        )),
        StartSampleChoice::AtOrBeforeStart => {
            let days = (local_date(tz, from) - local_date(tz, sample.captured_at)).num_days();
            (days > 1).then(|| {
                format!(
                    "start sample taken {days} days before the period start ({}); growth includes \
                     those days",
                    sample.captured_at.format("%Y-%m-%d %H:%M UTC")
                )
            })
        }
    }
}

fn daily_points(
    inside: &[FollowerSample],
    before: Option<FollowerSample>,
    tz: Tz,
) -> Vec<DailyFollowers> {
    let mut res: Vec<DailyFollowers> = Vec::new();
    for sample in inside {
        let day = local_date(tz, sample.captured_at);
        match res.last_mut() {
            Some(last) if last.day == day => {
                last.followers = sample.followers;
                last.captured_at = sample.captured_at;
            }
            _ => res.push(DailyFollowers {
                day,
                followers: sample.followers,
                captured_at: sample.captured_at,
                change: None,
                days_spanned: None,
            }),
        }
    }
    let mut previous = before.map(|it| (local_date(tz, it.captured_at), it.followers));
    for point in &mut res {
        if let Some((day, followers)) = previous {
            point.change = Some(point.followers.saturating_sub(followers));
            point.days_spanned = Some((point.day - day).num_days());
        }
        previous = Some((point.day, point.followers));
    }
    res
}

fn longest_gap(period: &Period, daily: &[DailyFollowers]) -> i64 {
    let mut longest = 0;
    let mut run = 0;
    let mut points = daily.iter().map(|it| it.day).peekable();
    for day in period.days() {
        while points.next_if(|it| *it < day).is_some() {}
        if points.next_if_eq(&day).is_some() {
            run = 0;
        } else {
            run += 1;
            longest = longest.max(run);
        }
    }
    longest
}

#[cfg(test)]
mod tests;
