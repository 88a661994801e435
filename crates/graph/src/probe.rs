//! Deprecation early warning: the account metrics the pinned version requests, asked for on
//! another version (the newest) in one request per metric family. A metric Meta refuses
//! there is recorded in that version's catalog (and so persisted with the other learned
//! decisions) and reported; a metric served on the pinned version and refused on the newest
//! one is at risk, gone at the latest when the pinned version expires (Meta's version
//! schedule, `ApiVersion::expires_on`).

use chrono::{Duration, NaiveDate};

use crate::AccountRef;
use crate::catalog::{Catalog, CatalogDecision, CatalogScope, FOLLOWER_COUNT, ONLINE_FOLLOWERS};
use crate::client::{GraphClient, PathKind, Request};
use crate::config::ApiVersion;
use crate::days::pacific_day_start;
use crate::error::{ErrorClass, GraphError};
use crate::media_insights::MediaTarget;
use crate::reads::check_id;

/// One metric Meta refused on a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricRefusal {
    pub scope: CatalogScope,
    pub metric: String,
    /// Meta's message.
    pub message: String,
}

/// What a probe of one version found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricProbe {
    pub version: ApiVersion,
    /// Metrics asked for and served.
    pub served: Vec<(CatalogScope, String)>,
    /// Metrics asked for and refused.
    pub refused: Vec<MetricRefusal>,
}

/// A metric the pinned version serves that a newer version refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricAtRisk {
    pub scope: CatalogScope,
    pub metric: String,
    /// The version that refuses it.
    pub refused_on: ApiVersion,
    /// When it is gone for good: the pinned version's expiry (`None`: not announced yet).
    pub removal_date: Option<NaiveDate>,
    /// Meta's message on the newer version.
    pub message: String,
}

/// The metrics at risk: served on the pinned version's probe, refused on the newer one's.
pub fn metrics_at_risk(pinned: &MetricProbe, newer: &MetricProbe) -> Vec<MetricAtRisk> {
    newer
        .refused
        .iter()
        .filter(|r| {
            pinned
                .served
                .iter()
                .any(|(s, m)| *s == r.scope && *m == r.metric)
        })
        .map(|r| MetricAtRisk {
            scope: r.scope,
            metric: r.metric.clone(),
            refused_on: newer.version,
            removal_date: pinned.version.expires_on(),
            message: r.message.clone(),
        })
        .collect()
}

/// The metrics at risk from learnt decisions (stored by every process): a metric a newer
/// version refused that the pinned version still requests and was not refused on.
pub fn metrics_at_risk_of(pinned: ApiVersion, decisions: &[CatalogDecision]) -> Vec<MetricAtRisk> {
    let catalog = Catalog::default();
    let mut out: Vec<MetricAtRisk> = decisions
        .iter()
        .filter(|d| d.version > pinned)
        .filter(|d| {
            catalog
                .metrics(pinned, d.scope)
                .contains(&d.metric.as_str())
                || (d.scope == CatalogScope::AccountTimeSeries && d.metric == ONLINE_FOLLOWERS)
        })
        .filter(|d| {
            !decisions
                .iter()
                .any(|p| p.version == pinned && p.scope == d.scope && p.metric == d.metric)
        })
        .map(|d| MetricAtRisk {
            scope: d.scope,
            metric: d.metric.clone(),
            refused_on: d.version,
            removal_date: pinned.expires_on(),
            message: d.reason.clone(),
        })
        .collect();
    out.sort_by(|a, b| (a.scope, &a.metric, a.refused_on).cmp(&(b.scope, &b.metric, b.refused_on)));
    // The first (oldest) version that refuses it is enough.
    out.dedup_by(|a, b| a.scope == b.scope && a.metric == b.metric);
    out
}

impl GraphClient {
    /// Asks for the account metrics this client's version requests (per-day totals, the
    /// daily series, demographics) on `version`, one request per family plus one per refused
    /// metric (Meta names one refused metric at a time). Refusals are recorded in the
    /// catalog of `version`. Followers online and media metrics are probed by
    /// [`probe_version`](Self::probe_version), which needs a post of each kind.
    #[tracing::instrument(skip_all)]
    pub async fn probe_metrics(
        &self,
        account: &AccountRef,
        version: ApiVersion,
    ) -> Result<MetricProbe, GraphError> {
        check_id(&account.ig_user_id)?;
        let today = self.inner.cfg.clock.now().date_naive();
        let day = today - Duration::days(2);
        let (since, until) = (
            pacific_day_start(day).timestamp().to_string(),
            pacific_day_start(day + Duration::days(1))
                .timestamp()
                .to_string(),
        );
        let families: [(CatalogScope, Vec<(&'static str, String)>); 3] = [
            (
                CatalogScope::AccountTotalValue,
                vec![
                    ("period", "day".into()),
                    ("metric_type", "total_value".into()),
                    ("since", since.clone()),
                    ("until", until.clone()),
                ],
            ),
            (
                CatalogScope::AccountTimeSeries,
                vec![
                    ("period", "day".into()),
                    ("metric_type", "time_series".into()),
                    ("since", since),
                    ("until", until),
                ],
            ),
            (
                CatalogScope::Demographics,
                vec![
                    ("period", "lifetime".into()),
                    ("metric_type", "total_value".into()),
                    ("breakdown", "age".into()),
                    ("timeframe", "this_month".into()),
                ],
            ),
        ];
        let mut probe = MetricProbe {
            version,
            served: Vec::new(),
            refused: Vec::new(),
        };
        for (scope, params) in families {
            let mut metrics: Vec<&'static str> = self.metrics(scope);
            metrics.retain(|m| *m != ONLINE_FOLLOWERS);
            while !metrics.is_empty() {
                let mut req =
                    Request::get("metric_probe", format!("{}/insights", account.ig_user_id))
                        .for_account(account)
                        .param("metric", metrics.join(","));
                req.kind = PathKind::VersionedAt(version);
                for (k, v) in &params {
                    req = req.param(k, v.clone());
                }
                match self.call(&req, |_| Ok(())).await {
                    Ok(()) => {
                        probe
                            .served
                            .extend(metrics.iter().map(|m| (scope, (*m).to_owned())));
                        break;
                    }
                    Err(GraphError::Api(api)) if api.class() == ErrorClass::UnsupportedMetric => {
                        let names = crate::catalog::rejected_metrics(&api.message, &metrics);
                        if names.is_empty() {
                            return Err(GraphError::Api(api));
                        }
                        let now = self.inner.cfg.clock.now();
                        for name in &names {
                            self.inner
                                .catalog
                                .drop_metric(version, scope, name, &api.message, now);
                            probe.refused.push(MetricRefusal {
                                scope,
                                metric: name.clone(),
                                message: api.message.clone(),
                            });
                        }
                        metrics.retain(|m| !names.iter().any(|n| n == m));
                    }
                    // follower_count is served for the last 30 days only; it is not what
                    // a version change is about.
                    Err(GraphError::Api(_)) if metrics.contains(&FOLLOWER_COUNT) => {
                        metrics.retain(|m| *m != FOLLOWER_COUNT);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(probe)
    }

    /// The whole daily probe on `version`: the account metrics ([`probe_metrics`]), then
    /// `online_followers` over a day old enough to be served, then each media category's
    /// metrics on one sample media of that category (`samples`: one per product type the
    /// account has; a category without a sample is not probed). A sample Meta refuses for a
    /// reason of its own (too few viewers, posted before the business conversion, deleted)
    /// tells nothing about the version: its category is skipped.
    ///
    /// [`probe_metrics`]: Self::probe_metrics
    #[tracing::instrument(skip_all)]
    pub async fn probe_version(
        &self,
        account: &AccountRef,
        version: ApiVersion,
        samples: &[MediaTarget],
    ) -> Result<MetricProbe, GraphError> {
        let mut probe = self.probe_metrics(account, version).await?;
        // Meta keeps 30 days and refuses the latest ~2: a day a week back is served.
        let day = self.inner.cfg.clock.now().date_naive() - Duration::days(7);
        let online = vec![
            ("period", "lifetime".to_owned()),
            ("since", pacific_day_start(day).timestamp().to_string()),
            (
                "until",
                pacific_day_start(day + Duration::days(1))
                    .timestamp()
                    .to_string(),
            ),
        ];
        let scope = CatalogScope::AccountTimeSeries;
        // Read on its own (not in the time-series family), while the pinned version serves it.
        if !self
            .inner
            .catalog
            .is_dropped(self.version(), scope, ONLINE_FOLLOWERS)
        {
            self.probe_family(
                &mut probe,
                account.ig_user_id.clone(),
                account,
                scope,
                vec![ONLINE_FOLLOWERS],
                &online,
            )
            .await?;
        }
        let mut seen = Vec::new();
        for sample in samples {
            if seen.contains(&sample.category) {
                continue;
            }
            seen.push(sample.category);
            check_id(&sample.id)?;
            let scope = CatalogScope::Media(sample.category);
            let metrics = self.metrics(scope);
            if metrics.is_empty() {
                continue;
            }
            self.probe_family(&mut probe, sample.id.clone(), account, scope, metrics, &[])
                .await?;
        }
        Ok(probe)
    }

    /// Asks `metrics` of `object`'s insights on the probe's version until Meta serves the
    /// rest, recording each refused metric. An error that is not a metric refusal skips the
    /// family, unless it stops every request (token, throttling, network).
    async fn probe_family(
        &self,
        probe: &mut MetricProbe,
        object: String,
        account: &AccountRef,
        scope: CatalogScope,
        mut metrics: Vec<&'static str>,
        params: &[(&'static str, String)],
    ) -> Result<(), GraphError> {
        let version = probe.version;
        while !metrics.is_empty() {
            let mut req = Request::get("metric_probe", format!("{object}/insights"))
                .for_account(account)
                .param("metric", metrics.join(","));
            req.kind = PathKind::VersionedAt(version);
            for (k, v) in params {
                req = req.param(k, v.clone());
            }
            match self.call(&req, |_| Ok(())).await {
                Ok(()) => {
                    probe
                        .served
                        .extend(metrics.iter().map(|m| (scope, (*m).to_owned())));
                    return Ok(());
                }
                Err(GraphError::Api(api)) if api.class() == ErrorClass::UnsupportedMetric => {
                    let names = crate::catalog::rejected_metrics(&api.message, &metrics);
                    if names.is_empty() {
                        // A refusal of the object, not of a metric (e.g. a media type).
                        return Ok(());
                    }
                    let now = self.inner.cfg.clock.now();
                    for name in &names {
                        self.inner
                            .catalog
                            .drop_metric(version, scope, name, &api.message, now);
                        probe.refused.push(MetricRefusal {
                            scope,
                            metric: name.clone(),
                            message: api.message.clone(),
                        });
                    }
                    metrics.retain(|m| !names.iter().any(|n| n == m));
                }
                // The sample's own refusal (too few viewers, before the conversion,
                // removed) or a day not served: nothing about the version.
                Err(GraphError::Api(api)) if api.class() == ErrorClass::Permanent => {
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(version: ApiVersion, metric: &str) -> CatalogDecision {
        CatalogDecision {
            version,
            scope: CatalogScope::AccountTotalValue,
            metric: metric.to_owned(),
            reason: format!("The {metric} metric is no longer supported."),
            decided_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_metric_refused_by_a_newer_version_only_is_at_risk() {
        let decisions = [
            decision(ApiVersion::V26, "profile_views"),
            // Refused on the pinned version too: already gone, not at risk.
            decision(ApiVersion::V26, "website_clicks"),
            decision(ApiVersion::V25, "website_clicks"),
            // Not requested by the pinned version at all.
            decision(ApiVersion::V26, "impressions"),
            // Refused by an older version only.
            decision(ApiVersion::V24, "shares"),
        ];
        let at_risk = metrics_at_risk_of(ApiVersion::V25, &decisions);
        assert_eq!(at_risk.len(), 1, "{at_risk:?}");
        assert_eq!(at_risk[0].metric, "profile_views");
        assert_eq!(at_risk[0].refused_on, ApiVersion::V26);
        assert_eq!(
            at_risk[0].removal_date,
            NaiveDate::from_ymd_opt(2028, 7, 29)
        );
        assert!(metrics_at_risk_of(ApiVersion::V26, &decisions).is_empty());
    }
}
