//! The tiered refresh policy of media insights: how often a post's insights are captured
//! again, by its age. Young posts move fast (hourly while under 48 h, when Meta's numbers are
//! still settling), then every 6 h to 7 days, daily to 30 days and weekly after that, so
//! velocity can be computed without spending the rate-limit budget on old posts. A post last
//! read before its numbers settled is read once more right after.

use chrono::{DateTime, Duration, Utc};

/// How long after the last capture a post of age `age` is due again.
pub fn refresh_interval(age: Duration) -> Duration {
    if age < Duration::hours(48) {
        Duration::hours(1)
    } else if age < Duration::days(7) {
        Duration::hours(6)
    } else if age < Duration::days(30) {
        Duration::days(1)
    } else {
        Duration::days(7)
    }
}

/// Whether a post published at `published_at` whose insights were last captured at
/// `last_captured` (None: never) is due at `now`. A tenth of the interval is forgiven, so an
/// hourly schedule that runs a little early still refreshes hourly posts every hour.
pub fn insights_due(
    published_at: DateTime<Utc>,
    last_captured: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    let Some(last) = last_captured else {
        return true;
    };
    let age = (now - published_at).max(Duration::zero());
    // Meta's numbers settle within 48 h: a post last read before it settled is read once
    // more as soon as it has, so its final numbers are kept.
    if age >= SETTLED && last - published_at < SETTLED {
        return true;
    }
    let interval = refresh_interval(age);
    now - last >= interval - interval / 10
}

/// Age after which Meta's numbers of a post no longer change much.
pub const SETTLED: Duration = Duration::hours(48);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    #[test]
    fn intervals_decay_with_age() {
        assert_eq!(refresh_interval(Duration::zero()), Duration::hours(1));
        assert_eq!(refresh_interval(Duration::hours(47)), Duration::hours(1));
        assert_eq!(refresh_interval(Duration::hours(48)), Duration::hours(6));
        assert_eq!(
            refresh_interval(Duration::days(7) - Duration::seconds(1)),
            Duration::hours(6)
        );
        assert_eq!(refresh_interval(Duration::days(7)), Duration::days(1));
        assert_eq!(refresh_interval(Duration::days(29)), Duration::days(1));
        assert_eq!(refresh_interval(Duration::days(30)), Duration::days(7));
        assert_eq!(refresh_interval(Duration::days(3000)), Duration::days(7));
    }

    #[test]
    fn never_captured_is_always_due() {
        assert!(insights_due(now() - Duration::days(900), None, now()));
        assert!(insights_due(now(), None, now()));
    }

    #[test]
    fn young_posts_are_due_hourly() {
        let published = now() - Duration::hours(5);
        assert!(!insights_due(
            published,
            Some(now() - Duration::minutes(30)),
            now()
        ));
        assert!(!insights_due(
            published,
            Some(now() - Duration::minutes(53)),
            now()
        ));
        // An hourly run that comes a few minutes early still refreshes.
        assert!(insights_due(
            published,
            Some(now() - Duration::minutes(55)),
            now()
        ));
        assert!(insights_due(
            published,
            Some(now() - Duration::hours(2)),
            now()
        ));
    }

    #[test]
    fn a_post_read_before_it_settled_is_read_once_after() {
        let published = now() - Duration::hours(49);
        // Last read at 47 h: read again now that the numbers have settled.
        assert!(insights_due(
            published,
            Some(published + Duration::hours(47)),
            now()
        ));
        // Last read at 48 h 30 min: settled already, the 6-hour cadence applies.
        assert!(!insights_due(
            published,
            Some(published + Duration::minutes(48 * 60 + 30)),
            now()
        ));
    }

    #[test]
    fn older_posts_wait_longer() {
        let three_days = now() - Duration::days(3);
        assert!(!insights_due(
            three_days,
            Some(now() - Duration::hours(2)),
            now()
        ));
        assert!(insights_due(
            three_days,
            Some(now() - Duration::hours(6)),
            now()
        ));
        let two_weeks = now() - Duration::days(14);
        assert!(!insights_due(
            two_weeks,
            Some(now() - Duration::hours(12)),
            now()
        ));
        assert!(insights_due(
            two_weeks,
            Some(now() - Duration::hours(23)),
            now()
        ));
        let a_year = now() - Duration::days(365);
        assert!(!insights_due(
            a_year,
            Some(now() - Duration::days(5)),
            now()
        ));
        assert!(insights_due(a_year, Some(now() - Duration::days(7)), now()));
        // A post published "in the future" (clock skew) counts as brand new.
        assert!(insights_due(
            now() + Duration::hours(1),
            Some(now() - Duration::hours(1)),
            now()
        ));
    }
}
