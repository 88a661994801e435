//! Cron schedules (the `queue` crate's [`Scheduler`], re-exported under this path) and
//! igsync's default schedules.

pub use ::queue::schedule::{CronExpr, Scheduler, next_tick, validate_cron};

/// Full sync every 6 hours. For a daily full sync at 02:00 UTC use `0 0 2 * * *`.
pub const DEFAULT_FULL_SYNC_CRON: &str = "0 0 */6 * * *";
/// Light sync (profile, account insights, recent posts' insights, stories) every hour.
pub const DEFAULT_LIGHT_SYNC_CRON: &str = "0 0 * * * *";
/// Token refresh fan-out once a day.
pub const DEFAULT_TOKEN_REFRESH_CRON: &str = "0 30 3 * * *";
/// Retention (queue pruning, expired sessions) once a day.
pub const DEFAULT_RETENTION_CRON: &str = "0 45 3 * * *";
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        for expr in [
            DEFAULT_FULL_SYNC_CRON,
            DEFAULT_LIGHT_SYNC_CRON,
            DEFAULT_TOKEN_REFRESH_CRON,
            DEFAULT_RETENTION_CRON,
        ] {
            validate_cron(expr).unwrap();
        }
    }
}
