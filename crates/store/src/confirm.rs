//! Lossless history without repeated rows: the rule both dialects apply when they write
//! snapshots, and the one that turns the stored rows back into the points a read gives.
//!
//! A snapshot whose values and provenance equal the newest stored row of its series is not
//! a new row: that row's confirmation (`confirmed_at`, or `confirmed_on` for demographics)
//! moves to the new read's time. A row therefore stands for its value from its capture
//! through its confirmation, and the value as of any time is still the newest row captured
//! at or before it. Reads give a point at every time the item (post, story, account) was
//! stored as read — a capture or a confirmation of any of its series — that a row's span
//! covers, so a post's metrics still line up capture by capture; reads at which nothing of
//! the item changed are folded into the last confirmation.
//!
//! A capture older than the newest row of its series (a late, out-of-order write) is stored
//! as a row of its own, as before; only such a write that contradicts a value confirmed
//! later loses which of the folded reads came after it.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use chrono::{DateTime, Utc};

use crate::InsightSnapshot;

/// What a write does with one incoming snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotWrite<T> {
    /// Append it as a row (at the same capture time as a stored row: replace that row's
    /// values, as before).
    Insert,
    /// The newest row of its series, captured at `row`, holds the same values and
    /// provenance: confirm that row at the incoming time instead.
    Confirm { row: T },
}

/// Decides every incoming row of a batch. `newest` is the newest stored row of each series
/// the batch names (its capture time and values, provenance included); `rows` are the
/// incoming `(series, capture time, values)`. Rows of one series are taken in time order,
/// so a batch holding several captures of a series folds them as successive writes would.
pub fn plan_snapshot_writes<K, T, V>(
    mut newest: HashMap<K, (T, V)>,
    rows: &[(K, T, V)],
) -> Vec<SnapshotWrite<T>>
where
    K: Hash + Eq + Clone,
    T: Ord + Copy,
    V: PartialEq + Clone,
{
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].1);
    let mut out = vec![SnapshotWrite::Insert; rows.len()];
    for i in order {
        let (key, at, value) = &rows[i];
        match newest.get(key) {
            Some((row, stored)) if row < at && stored == value => {
                out[i] = SnapshotWrite::Confirm { row: *row };
            }
            Some((row, _)) if row > at => {}
            _ => {
                newest.insert(key.clone(), (*at, value.clone()));
            }
        }
    }
    out
}

/// The confirmations of a plan, one per stored row: `(series, row's capture time, latest
/// confirmation time)`.
pub fn confirmations<K, T>(rows: &[(K, T)], plan: &[SnapshotWrite<T>]) -> Vec<(K, T, T)>
where
    K: Hash + Eq + Clone,
    T: Ord + Copy + Hash,
{
    let mut latest: HashMap<(K, T), T> = HashMap::new();
    for ((key, at), write) in rows.iter().zip(plan) {
        if let SnapshotWrite::Confirm { row } = write {
            let slot = latest.entry((key.clone(), *row)).or_insert(*at);
            if *slot < *at {
                *slot = *at;
            }
        }
    }
    latest
        .into_iter()
        .map(|((k, row), at)| (k, row, at))
        .collect()
}

/// The points of stored rows of one item's series. `rows` holds
/// `(series, captured, confirmed, value)`; every time any of them was captured or confirmed
/// is a read of the item, and each row gives a point at every such read within its span
/// (before the next row of its series), restricted to `within` (inclusive) when given.
/// Returns `(series, time, value)` sorted by series and time.
pub fn expand_item<S, T, V>(
    mut rows: Vec<(S, T, Option<T>, V)>,
    within: Option<(T, T)>,
) -> Vec<(S, T, V)>
where
    S: Ord + Clone,
    T: Ord + Copy,
    V: Clone,
{
    rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let reads: BTreeSet<T> = rows
        .iter()
        .flat_map(|r| std::iter::once(r.1).chain(r.2))
        .collect();
    let inside = |t: &T| within.is_none_or(|(from, to)| *t >= from && *t <= to);
    let mut out = Vec::with_capacity(rows.len());
    for (i, (series, captured, confirmed, value)) in rows.iter().enumerate() {
        let next = rows.get(i + 1).filter(|n| n.0 == *series).map(|n| n.1);
        let end = confirmed.map_or(*captured, |c| c.max(*captured));
        for t in reads.range(*captured..=end) {
            if next.is_some_and(|n| *t >= n) {
                break;
            }
            if inside(t) {
                out.push((series.clone(), *t, value.clone()));
            }
        }
    }
    out
}

/// One stored insight row of an item: (metric, breakdown), captured, confirmed, value.
type StoredPoint = (
    (String, Option<crate::Breakdown>),
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    f64,
);

/// Insight history rows (each with its confirmation) as the snapshots a read gives: every
/// item's rows expanded by [`expand_item`], sorted by item, metric, breakdown and time.
pub fn expand_insight_history(
    rows: Vec<(InsightSnapshot, Option<DateTime<Utc>>)>,
) -> Vec<InsightSnapshot> {
    let mut by_item: HashMap<String, Vec<StoredPoint>> = HashMap::new();
    for (s, confirmed) in rows {
        by_item.entry(s.ig_media_id).or_default().push((
            (s.metric, s.breakdown),
            s.captured_at,
            confirmed,
            s.value,
        ));
    }
    let mut items: Vec<_> = by_item.into_iter().collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (item, rows) in items {
        for ((metric, breakdown), captured_at, value) in expand_item(rows, None) {
            out.push(InsightSnapshot {
                ig_media_id: item.clone(),
                metric,
                breakdown,
                captured_at,
                value,
            });
        }
    }
    out
}

/// A stored profile snapshot row: captured, confirmed, and followers, follows and media.
pub type StoredProfileRow = (DateTime<Utc>, Option<DateTime<Utc>>, (i64, i64, i64));

/// One account's profile snapshot rows as the snapshots a read of `from..=to` gives:
/// expanded by [`expand_item`], in time order.
pub fn expand_profile_history(
    account_id: crate::AccountId,
    rows: Vec<StoredProfileRow>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<crate::ProfileSnapshot> {
    let rows = rows
        .into_iter()
        .map(|(captured, confirmed, counts)| ((), captured, confirmed, counts))
        .collect();
    expand_item(rows, Some((from, to)))
        .into_iter()
        .map(
            |((), captured_at, (followers_count, follows_count, media_count))| {
                crate::ProfileSnapshot {
                    account_id,
                    captured_at,
                    followers_count,
                    follows_count,
                    media_count,
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_confirm_the_newest_row_and_changes_append() {
        let newest = HashMap::from([("a", (1, 10.0)), ("b", (1, 5.0))]);
        let rows = [("a", 2, 10.0), ("b", 2, 6.0), ("a", 3, 10.0), ("c", 2, 1.0)];
        let plan = plan_snapshot_writes(newest, &rows);
        assert_eq!(
            plan,
            vec![
                SnapshotWrite::Confirm { row: 1 },
                SnapshotWrite::Insert,
                SnapshotWrite::Confirm { row: 1 },
                SnapshotWrite::Insert,
            ]
        );
        let keys: Vec<(&str, i32)> = rows.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(confirmations(&keys, &plan), vec![("a", 1, 3)]);
    }

    #[test]
    fn a_late_or_same_time_capture_is_a_row() {
        let newest = HashMap::from([("a", (5, 10.0))]);
        let plan = plan_snapshot_writes(newest, &[("a", 5, 10.0), ("a", 3, 10.0)]);
        assert_eq!(plan, vec![SnapshotWrite::Insert, SnapshotWrite::Insert]);
    }

    #[test]
    fn an_item_read_gives_every_series_a_point_its_span_covers() {
        // Reads at 1, 2, 3: likes changed at 2, reach never did; both confirmed at 3.
        let rows = vec![
            ("likes", 1, None, 4.0),
            ("likes", 2, Some(3), 5.0),
            ("reach", 1, Some(3), 9.0),
        ];
        assert_eq!(
            expand_item(rows.clone(), None),
            vec![
                ("likes", 1, 4.0),
                ("likes", 2, 5.0),
                ("likes", 3, 5.0),
                ("reach", 1, 9.0),
                ("reach", 2, 9.0),
                ("reach", 3, 9.0),
            ]
        );
        assert_eq!(
            expand_item(rows, Some((2, 2))),
            vec![("likes", 2, 5.0), ("reach", 2, 9.0)]
        );
    }

    #[test]
    fn a_confirmation_never_outlives_the_next_row() {
        // A value confirmed at 3, then replaced at 3 by a retried read with another value.
        let rows = vec![("m", 1, Some(3), 1.0), ("m", 3, None, 2.0)];
        assert_eq!(expand_item(rows, None), vec![("m", 1, 1.0), ("m", 3, 2.0)]);
    }
}
