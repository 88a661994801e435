//! Account insights (time series in ≤ 30-day windows, per-day totals through batches),
//! demographics and online followers, checked against the simulator's ground truth.

use std::collections::BTreeMap;

use graph::{AccountInsightsQuery, DemographicTimeframe};
use simulator::SimConfig;

use crate::support::{account_ref, client, login_of, sim_version, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_90_day_backfill_takes_a_handful_of_round_trips_and_matches_the_truth() {
    let sim = start(SimConfig::new(31, 1, 50)).await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    let truth = sim
        .ground_truth(&acc.ig_user_id, sim_version(client.version()))
        .unwrap();
    let days = &truth.account_insights;
    assert_eq!(days.len(), 91, "90 complete days and today");
    let query = AccountInsightsQuery {
        since: days.first().unwrap().date,
        until: days.last().unwrap().date,
        breakdowns: false,
    };

    sim.reset_stats();
    let before = client.stats();
    let points = client.account_insights(&account, &query).await.unwrap();
    let cost = client.stats().since(&before);

    let n_days = days.len();
    let windows = n_days.div_ceil(30) + 1; // one more when a DST change shortens a window
    assert!(
        cost.http_requests as usize <= windows + n_days.div_ceil(50),
        "{cost:?}"
    );
    assert!(cost.http_requests <= 7, "a handful: {cost:?}");
    assert_eq!(sim.stats().requests_total, cost.http_requests);
    assert!(
        cost.units as usize >= n_days,
        "every batched operation counts: {cost:?}"
    );

    let mut got: BTreeMap<(chrono::NaiveDate, String), f64> = BTreeMap::new();
    for p in &points {
        assert!(p.breakdown.is_none());
        assert!(
            got.insert((p.day, p.metric.clone()), p.value).is_none(),
            "duplicate {p:?}"
        );
    }
    let mut expected = 0;
    for day in days {
        for (metric, value) in &day.values {
            expected += 1;
            assert_eq!(
                got.get(&(day.date, metric.clone())),
                Some(&(*value as f64)),
                "{} {metric}",
                day.date
            );
        }
    }
    assert_eq!(got.len(), expected, "no value beyond the truth");

    // Ending yesterday: follower_count's limit costs one refused request, no value is lost.
    let yesterday = query.until.pred_opt().unwrap();
    let before = client.stats();
    let points = client
        .account_insights(
            &account,
            &AccountInsightsQuery {
                until: yesterday,
                ..query
            },
        )
        .await
        .unwrap();
    assert!(client.stats().since(&before).http_requests <= cost.http_requests + 1);
    let follower_days = points
        .iter()
        .filter(|p| p.metric == "follower_count")
        .count();
    let want = days
        .iter()
        .filter(|d| d.date <= yesterday && d.values.contains_key("follower_count"))
        .count();
    assert_eq!(follower_days, want);
    assert_eq!(want, 30);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakdowns_are_read_per_day_in_batches() {
    let sim = start(SimConfig::new(32, 1, 50)).await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    let truth = sim
        .ground_truth(&acc.ig_user_id, sim_version(client.version()))
        .unwrap();
    let days = &truth.account_insights[truth.account_insights.len() - 20..];
    let query = AccountInsightsQuery {
        since: days[0].date,
        until: days[days.len() - 1].date,
        breakdowns: true,
    };

    let before = client.stats();
    let points = client.account_insights(&account, &query).await.unwrap();
    let cost = client.stats().since(&before);
    assert!(
        cost.http_requests <= 1 + (20 * 5usize).div_ceil(50) as u64,
        "{cost:?}"
    );

    let mut rows = 0;
    for day in days {
        for (metric, dims) in &day.breakdowns {
            for (dim, keys) in dims {
                for (key, value) in keys {
                    rows += 1;
                    let found = points.iter().find(|p| {
                        p.day == day.date
                            && &p.metric == metric
                            && p.breakdown
                                .as_ref()
                                .is_some_and(|b| &b.dimension == dim && &b.key == key)
                    });
                    assert_eq!(
                        found.map(|p| p.value),
                        Some(*value as f64),
                        "{} {metric} {dim}={key}",
                        day.date
                    );
                }
            }
        }
    }
    assert!(rows > 0);
    assert_eq!(
        points.iter().filter(|p| p.breakdown.is_some()).count(),
        rows
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demographics_and_online_followers_match_the_truth() {
    let sim = start(SimConfig::new(33, 1, 50)).await;
    let acc = sim.accounts()[0].clone();
    assert!(
        acc.followers_count >= 100,
        "demographics need 100 followers"
    );
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    let truth = sim
        .ground_truth(&acc.ig_user_id, sim_version(client.version()))
        .unwrap();

    sim.reset_stats();
    let demo = client
        .demographics(&account, DemographicTimeframe::ThisMonth)
        .await
        .unwrap();
    assert_eq!(sim.stats().requests_total, 1, "one batch");
    let mut compared = 0;
    for t in &truth.demographics {
        // Every breakdown, the combined `age,gender` included.
        if t.timeframe.as_deref().is_some_and(|tf| tf != "this_month") {
            continue;
        }
        for row in &t.rows {
            compared += 1;
            let key = row.keys.join(",");
            let found = demo
                .iter()
                .find(|d| d.metric == t.metric && d.breakdown == t.breakdown && d.key == key);
            assert_eq!(
                found.map(|d| d.value),
                Some(row.value as f64),
                "{} {} {key}",
                t.metric,
                t.breakdown
            );
        }
    }
    assert!(compared > 0);
    assert_eq!(demo.len(), compared, "no value beyond the truth");
    assert!(demo.iter().any(|d| d.breakdown == "age,gender"));

    // A breakdown Meta refuses (code 1) is asked once more, then named; the others stay.
    sim.refuse_breakdown("follower_demographics", "city");
    sim.reset_stats();
    let read = client
        .demographics_read(&account, DemographicTimeframe::ThisMonth)
        .await
        .unwrap();
    assert_eq!(
        sim.stats().requests_total,
        2,
        "one batch and one retry of the refusal"
    );
    assert_eq!(
        read.refused,
        vec![(
            "follower_demographics".to_owned(),
            "city".to_owned(),
            "An unknown error has occurred.".to_owned()
        )]
    );
    let without_city: Vec<_> = demo
        .iter()
        .filter(|d| !(d.metric == "follower_demographics" && d.breakdown == "city"))
        .cloned()
        .collect();
    assert!(without_city.len() < demo.len());
    assert_eq!(read.values, without_city);

    let days = &truth.online_followers;
    assert!(!days.is_empty());
    let online = client
        .online_followers(&account, days[0].date, days[days.len() - 1].date)
        .await
        .unwrap();
    assert_eq!(online.len(), days.len());
    for (got, want) in online.iter().zip(days) {
        assert_eq!(got.day, want.date);
        let want: BTreeMap<u8, f64> = want
            .by_hour
            .iter()
            .map(|(h, v)| (h.parse().unwrap(), *v as f64))
            .collect();
        assert_eq!(got.by_hour, want);
    }
    sim.shutdown().await;
}
