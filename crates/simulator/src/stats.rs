//! Call counters: requests, API calls per endpoint and account, rate-limit units, errors by
//! code and injected faults by kind.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::config::FaultKind;

/// A snapshot of the simulator's counters since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// HTTP requests to the API (control endpoints excluded).
    pub requests_total: u64,
    /// API operations: HTTP requests plus every operation inside a batch (the batch
    /// envelope itself is not an operation).
    pub calls_total: u64,
    /// Operations per endpoint, e.g. `GET /{ig-user-id}/media`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// Operations per account (`ig_user_id`), for operations made with a valid token.
    pub by_account: BTreeMap<String, u64>,
    /// Rate-limit units consumed (multi-ID ids, batch operations and expanded insights count
    /// one each).
    pub rate_limit_units_total: u64,
    /// Rate-limit units per account (`ig_user_id`).
    pub rate_limit_units_by_account: BTreeMap<String, u64>,
    /// Error responses (whole responses and per-id / per-operation errors) by Graph error code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Injected faults by kind.
    pub faults_by_kind: BTreeMap<String, u64>,
    /// Calls refused by a rate limit (80002 / 4), injected storms excluded.
    pub throttled_total: u64,
    /// Operations refused because they named a withdrawn metric, per metric (a client that
    /// learns from the refusal names it once per catalog scope, then never again).
    #[serde(default)]
    pub withdrawn_metric_refusals: BTreeMap<String, u64>,
    /// The highest usage of each account's budget seen after a charge, in percent
    /// (uncapped; throttled calls count too), per account (`ig_user_id`).
    #[serde(default)]
    pub max_usage_percent_by_account: BTreeMap<String, u64>,
    /// The most requests of each account (`ig_user_id`, by the token they carry) that were
    /// in flight at the same time: how far a client's concurrency for one account went.
    #[serde(default)]
    pub max_in_flight_by_account: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests_total: u64,
    calls_total: u64,
    by_endpoint: HashMap<&'static str, u64>,
    by_account: HashMap<usize, u64>,
    units_total: u64,
    units_by_account: HashMap<usize, u64>,
    errors_by_code: HashMap<u32, u64>,
    faults: HashMap<FaultKind, u64>,
    throttled_total: u64,
    withdrawn_refusals: HashMap<String, u64>,
    max_usage_pct: HashMap<usize, u64>,
    in_flight: HashMap<usize, u64>,
    max_in_flight: HashMap<usize, u64>,
}

impl Counters {
    pub(crate) fn withdrawn_refusal(&mut self, metric: &str) {
        *self
            .withdrawn_refusals
            .entry(metric.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn request(&mut self) {
        self.requests_total += 1;
    }

    pub(crate) fn call(&mut self, endpoint: &'static str, acct: Option<usize>) {
        self.calls_total += 1;
        *self.by_endpoint.entry(endpoint).or_default() += 1;
        if let Some(a) = acct {
            *self.by_account.entry(a).or_default() += 1;
        }
    }

    /// A batch envelope: listed per endpoint, not an operation itself.
    pub(crate) fn envelope(&mut self, endpoint: &'static str) {
        *self.by_endpoint.entry(endpoint).or_default() += 1;
    }

    pub(crate) fn units(&mut self, acct: Option<usize>, n: u64) {
        self.units_total += n;
        if let Some(a) = acct {
            *self.units_by_account.entry(a).or_default() += n;
        }
    }

    pub(crate) fn error(&mut self, code: u32) {
        *self.errors_by_code.entry(code).or_default() += 1;
    }

    pub(crate) fn fault(&mut self, kind: FaultKind) {
        *self.faults.entry(kind).or_default() += 1;
    }

    /// The account's budget usage after a charge, in percent.
    pub(crate) fn usage_seen(&mut self, acct: usize, pct: u64) {
        let max = self.max_usage_pct.entry(acct).or_default();
        *max = (*max).max(pct);
    }

    /// A request of `acct` starts being served (call [`Counters::finished`] when it ends).
    pub(crate) fn started(&mut self, acct: usize) {
        let now = self.in_flight.entry(acct).or_default();
        *now += 1;
        let now = *now;
        let max = self.max_in_flight.entry(acct).or_default();
        *max = (*max).max(now);
    }

    pub(crate) fn finished(&mut self, acct: usize) {
        if let Some(n) = self.in_flight.get_mut(&acct) {
            *n = n.saturating_sub(1);
        }
    }

    pub(crate) fn throttled(&mut self) {
        self.throttled_total += 1;
    }

    pub(crate) fn snapshot(&self, account_id: impl Fn(usize) -> String) -> SimStats {
        SimStats {
            requests_total: self.requests_total,
            calls_total: self.calls_total,
            by_endpoint: self
                .by_endpoint
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            by_account: self
                .by_account
                .iter()
                .map(|(k, v)| (account_id(*k), *v))
                .collect(),
            rate_limit_units_total: self.units_total,
            rate_limit_units_by_account: self
                .units_by_account
                .iter()
                .map(|(k, v)| (account_id(*k), *v))
                .collect(),
            errors_by_code: self
                .errors_by_code
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            faults_by_kind: self
                .faults
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect(),
            throttled_total: self.throttled_total,
            withdrawn_metric_refusals: self
                .withdrawn_refusals
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            max_usage_percent_by_account: self
                .max_usage_pct
                .iter()
                .map(|(k, v)| (account_id(*k), *v))
                .collect(),
            max_in_flight_by_account: self
                .max_in_flight
                .iter()
                .map(|(k, v)| (account_id(*k), *v))
                .collect(),
        }
    }
}
