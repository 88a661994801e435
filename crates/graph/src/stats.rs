//! The client's own call accounting: HTTP requests, rate-limit units (one per id of a
//! multi-ID read and per batched operation), retries, fail-fast refusals and errors by code,
//! in total, per endpoint and per account. Snapshots subtract, so a caller can measure the
//! cost of one sync step.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Per-account counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountCallStats {
    /// HTTP requests sent for this account.
    pub http_requests: u64,
    /// Rate-limit units spent.
    pub units: u64,
    /// Failed requests (after which the client may have retried).
    pub errors: u64,
}

impl AccountCallStats {
    /// `self − earlier`: what the account spent between two readings.
    pub fn since(&self, earlier: &AccountCallStats) -> AccountCallStats {
        AccountCallStats {
            http_requests: self.http_requests.saturating_sub(earlier.http_requests),
            units: self.units.saturating_sub(earlier.units),
            errors: self.errors.saturating_sub(earlier.errors),
        }
    }
}

/// A snapshot of the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    /// HTTP requests sent (every attempt counts).
    pub http_requests: u64,
    /// Rate-limit units spent (ids + batched operations; 1 for a plain call).
    pub units: u64,
    /// Attempts that were retries of a transient failure.
    pub retries: u64,
    /// Calls refused without a request because the account or app was paused.
    pub failed_fast: u64,
    /// Failed attempts by [`GraphError::label`](crate::GraphError::label) (Meta code,
    /// `http_503`, `timeout`, …); batch items and per-id errors included.
    pub errors_by_code: BTreeMap<String, u64>,
    /// HTTP requests per endpoint family (`profile`, `media`, `stories`, `media_insights`,
    /// `account_insights`, `batch`, `token`, `accounts`).
    pub by_endpoint: BTreeMap<String, u64>,
    /// Per IG user id.
    pub accounts: BTreeMap<String, AccountCallStats>,
}

impl CallStats {
    /// `self − earlier`: what happened between two snapshots.
    pub fn since(&self, earlier: &CallStats) -> CallStats {
        fn sub_map(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
            a.iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(b.get(k).copied().unwrap_or(0))))
                .filter(|(_, v)| *v > 0)
                .collect()
        }
        CallStats {
            http_requests: self.http_requests.saturating_sub(earlier.http_requests),
            units: self.units.saturating_sub(earlier.units),
            retries: self.retries.saturating_sub(earlier.retries),
            failed_fast: self.failed_fast.saturating_sub(earlier.failed_fast),
            errors_by_code: sub_map(&self.errors_by_code, &earlier.errors_by_code),
            by_endpoint: sub_map(&self.by_endpoint, &earlier.by_endpoint),
            accounts: self
                .accounts
                .iter()
                .filter_map(|(k, a)| {
                    let d = a.since(&earlier.accounts.get(k).copied().unwrap_or_default());
                    (d != AccountCallStats::default()).then(|| (k.clone(), d))
                })
                .collect(),
        }
    }
}

#[derive(Default)]
pub(crate) struct Stats {
    inner: Mutex<CallStats>,
}

impl Stats {
    fn with(&self, f: impl FnOnce(&mut CallStats)) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
    }

    /// One operation of a batch asked again after a transient failure: a retry, carried by
    /// the next batch request rather than by a request of its own.
    pub(crate) fn operation_retry(&self) {
        self.with(|s| s.retries += 1);
    }

    pub(crate) fn request(&self, endpoint: &str, account: Option<&str>, units: u64, retry: bool) {
        self.with(|s| {
            s.http_requests += 1;
            s.units += units;
            if retry {
                s.retries += 1;
            }
            *counter(&mut s.by_endpoint, endpoint) += 1;
            if let Some(id) = account {
                let a = counter(&mut s.accounts, id);
                a.http_requests += 1;
                a.units += units;
            }
        });
    }

    pub(crate) fn error(&self, label: &str, account: Option<&str>) {
        self.with(|s| {
            *counter(&mut s.errors_by_code, label) += 1;
            if let Some(id) = account {
                counter(&mut s.accounts, id).errors += 1;
            }
        });
    }

    pub(crate) fn failed_fast(&self) {
        self.with(|s| s.failed_fast += 1);
    }

    pub(crate) fn snapshot(&self) -> CallStats {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One account's counters: a copy of three numbers, however many accounts the client
    /// serves (a whole snapshot copies every account's).
    pub(crate) fn account(&self, id: &str) -> AccountCallStats {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.accounts.get(id).copied().unwrap_or_default()
    }
}

/// The counter under `key`, added at 0 the first time: the key is copied only then, not at
/// every request.
fn counter<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_subtract() {
        let s = Stats::default();
        s.request("media", Some("a"), 1, false);
        let before = s.snapshot();
        s.request("batch", Some("a"), 50, false);
        s.request("batch", Some("b"), 3, true);
        s.error("2", Some("b"));
        let d = s.snapshot().since(&before);
        assert_eq!(d.http_requests, 2);
        assert_eq!(d.units, 53);
        assert_eq!(d.retries, 1);
        assert_eq!(d.by_endpoint.get("batch"), Some(&2));
        assert!(!d.by_endpoint.contains_key("media"));
        assert_eq!(d.accounts["a"].units, 50);
        assert_eq!(d.accounts["b"].errors, 1);
        assert_eq!(d.errors_by_code["2"], 1);
    }

    #[test]
    fn one_accounts_counters_are_its_entry_of_the_snapshot() {
        let s = Stats::default();
        s.request("media", Some("a"), 1, false);
        s.request("batch", Some("b"), 3, false);
        s.error("4", Some("a"));
        let snapshot = s.snapshot();
        assert_eq!(s.account("a"), snapshot.accounts["a"]);
        assert_eq!(s.account("b"), snapshot.accounts["b"]);
        assert_eq!(s.account("unknown"), AccountCallStats::default());
        let before = s.account("a");
        s.request("media", Some("a"), 2, true);
        let d = s.account("a").since(&before);
        assert_eq!((d.http_requests, d.units, d.errors), (1, 2, 0));
        assert_eq!(s.snapshot().by_endpoint["media"], 2);
    }
}
