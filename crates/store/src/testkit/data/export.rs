//! Conformance case for the export reads: columns and values as stored, the key order,
//! keyset paging that neither repeats nor skips a row, the time bounds and one account only.

use super::*;
use crate::{ExportPageQuery, ExportTable, ExportValue, export_key};

async fn all_pages(
    store: &DynStore,
    table: ExportTable,
    account_id: AccountId,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: u32,
) -> Vec<Vec<ExportValue>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let rows = store
            .export_page(ExportPageQuery {
                table,
                account_id,
                after: after.take(),
                since,
                until,
                limit,
            })
            .await
            .unwrap();
        for row in &rows {
            assert_eq!(row.len(), table.columns().len(), "{}", table.name());
        }
        let full = rows.len() == limit as usize;
        if let Some(last) = rows.last() {
            after = Some(export_key(table, last));
        }
        out.extend(rows);
        if !full {
            return out;
        }
    }
}

pub async fn export_pages_follow_the_key_order(store: DynStore) {
    let a = account(&store, "9901").await.id;
    let other = account(&store, "9902").await.id;
    add_media(
        &store,
        a,
        vec![
            record("x1", at(-120), ProductType::Feed),
            record("x2", at(-100), ProductType::Reels),
        ],
    )
    .await;
    add_media(
        &store,
        other,
        vec![record("y1", at(-90), ProductType::Feed)],
    )
    .await;
    for minutes in [0, 60] {
        store
            .media_insights_apply(insights(
                a,
                at(minutes),
                vec![
                    snap("x2", "reach", "", at(minutes), 100.0 + minutes as f64),
                    // Values that change (a repeated value confirms the previous row).
                    snap("x1", "reach", "", at(minutes), 0.1 + 0.2 + minutes as f64),
                    snap("x1", "likes", "", at(minutes), 3.0 + minutes as f64),
                ],
            ))
            .await
            .unwrap();
    }
    store
        .media_insights_apply(insights(
            other,
            at(0),
            vec![snap("y1", "reach", "", at(0), 7.0)],
        ))
        .await
        .unwrap();

    let table = ExportTable::MediaInsightSnapshots;
    let whole = all_pages(&store, table, a, None, None, 1000).await;
    assert_eq!(whole.len(), 6, "only the account's rows: {whole:?}");
    assert_eq!(
        whole[0][1],
        ExportValue::Time(at(0)),
        "oldest capture first"
    );
    assert_eq!(whole[5][1], ExportValue::Time(at(60)));
    for row in &whole {
        assert_eq!(row[0], ExportValue::Int(a.get()));
    }
    let x1_reach = whole
        .iter()
        .find(|r| {
            r[3] == ExportValue::Text("reach".into()) && r[5] == ExportValue::Text("x1".into())
        })
        .expect("x1 reach");
    assert_eq!(
        x1_reach[6],
        ExportValue::Float(0.1 + 0.2),
        "values exactly as stored"
    );
    // Pages of one and of two rows give the same rows in the same order.
    assert_eq!(all_pages(&store, table, a, None, None, 1).await, whole);
    assert_eq!(all_pages(&store, table, a, None, None, 2).await, whole);
    // Time bounds are inclusive.
    let late = all_pages(&store, table, a, Some(at(60)), None, 2).await;
    assert_eq!(late, whole[3..].to_vec());
    let early = all_pages(&store, table, a, None, Some(at(0)), 2).await;
    assert_eq!(early, whole[..3].to_vec());

    // Every table reads, in its declared columns, for both accounts.
    for table in ExportTable::ALL {
        let rows = all_pages(&store, table, other, None, None, 1).await;
        for row in &rows {
            assert_eq!(row[0], ExportValue::Int(other.get()), "{}", table.name());
        }
    }
    let media = all_pages(&store, ExportTable::Media, a, None, None, 1).await;
    assert_eq!(
        media.iter().map(|r| r[3].clone()).collect::<Vec<_>>(),
        vec![
            ExportValue::Text("x1".into()),
            ExportValue::Text("x2".into())
        ],
        "media by publication time"
    );
    let accounts = all_pages(&store, ExportTable::Accounts, a, None, None, 5).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0][1], ExportValue::Text("9901".into()));

    // A malformed key is refused, not a panic.
    let bad = store
        .export_page(ExportPageQuery {
            table,
            account_id: a,
            after: Some(vec![ExportValue::Int(1)]),
            since: None,
            until: None,
            limit: 5,
        })
        .await;
    assert!(
        matches!(bad, Err(StoreError::InvalidInput { .. })),
        "{bad:?}"
    );
}

/// Every page `Store::export_batch` gives for a read of `limit` rows a page, as rows.
async fn all_batches(
    store: &DynStore,
    table: ExportTable,
    account_id: AccountId,
    since: Option<DateTime<Utc>>,
    limit: u32,
) -> Vec<Vec<ExportValue>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let batch = store
            .export_batch(ExportPageQuery {
                table,
                account_id,
                after: after.take(),
                since,
                until: None,
                limit,
            })
            .await
            .unwrap();
        assert_eq!(batch.table, table);
        assert!(
            batch.len() <= limit as usize,
            "{}: a page over its limit",
            table.name()
        );
        for column in &batch.columns {
            assert_eq!(
                column.len(),
                batch.len(),
                "{}: a column of another length",
                table.name()
            );
        }
        out.extend((0..batch.len()).map(|i| batch.row(i).expect("values in range")));
        if !batch.more_after(limit) {
            return out;
        }
        after = batch.key(batch.len() - 1);
    }
}

pub async fn export_batches_equal_the_pages(store: DynStore) {
    let a = account(&store, "9911").await.id;
    let other = account(&store, "9912").await.id;
    add_media(
        &store,
        a,
        vec![
            record("z1", at(-120), ProductType::Feed),
            record("z2", at(-100), ProductType::Reels),
            record("z3", at(-100), ProductType::Feed),
        ],
    )
    .await;
    add_media(
        &store,
        other,
        vec![record("w1", at(-90), ProductType::Feed)],
    )
    .await;
    // Written in an order that is neither the key order nor the primary key's. Every read
    // changes every value, so each is a row of its own (a read equal to the row before it
    // would only confirm that row).
    for minutes in [60, 0, 1500] {
        let m = minutes as f64;
        store
            .media_insights_apply(insights(
                a,
                at(minutes),
                vec![
                    snap("z3", "reach", "", at(minutes), 30.0 + m),
                    snap("z1", "views", "", at(minutes), 2.5 + m),
                    snap("z2", "reach", "", at(minutes), 100.0 + m),
                    snap("z1", "reach", "", at(minutes), 0.1 + 0.2 + m),
                    snap("z1", "likes", "", at(minutes), 3.0 + m),
                ],
            ))
            .await
            .unwrap();
    }
    store
        .media_insights_apply(insights(
            other,
            at(0),
            vec![snap("w1", "reach", "", at(0), 7.0)],
        ))
        .await
        .unwrap();

    // Pages of every size give the rows of `export_page`, in the same (key) order: a read
    // that fits one page and one that does not, from the start and from a time.
    for table in ExportTable::ALL {
        for account in [a, other] {
            for since in [None, Some(at(30))] {
                let want = all_pages(&store, table, account, since, None, 1000).await;
                for limit in [1, 2, 4, 15, 16, 1000] {
                    let got = all_batches(&store, table, account, since, limit).await;
                    assert_eq!(
                        got,
                        want,
                        "{} by pages of {limit} from {since:?}",
                        table.name()
                    );
                }
            }
        }
    }
    let rows = all_batches(&store, ExportTable::MediaInsightSnapshots, a, None, 1000).await;
    assert_eq!(rows.len(), 15);
    let columns = ExportTable::MediaInsightSnapshots.columns();
    let named = |row: &Vec<ExportValue>, name: &str| {
        let i = columns.iter().position(|c| c.name == name).unwrap();
        row[i].clone()
    };
    for row in &rows {
        assert_eq!(named(row, "account_id"), ExportValue::Int(a.get()));
        assert_eq!(named(row, "api_version"), ExportValue::Text("v23.0".into()));
        assert_eq!(named(row, "source"), ExportValue::Text("poll".into()));
    }
    assert_eq!(
        rows.iter()
            .map(|r| named(r, "ig_media_id"))
            .filter(|v| *v == ExportValue::Text("z1".into()))
            .count(),
        9,
        "each snapshot names its post"
    );
    // The snapshot tables of measured values carry their provenance.
    for table in [
        ExportTable::ProfileSnapshots,
        ExportTable::MediaInsightSnapshots,
        ExportTable::StoryInsightSnapshots,
        ExportTable::AccountInsightDays,
        ExportTable::DemographicSnapshots,
    ] {
        let names: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
        assert!(
            names.ends_with(&["api_version", "source"]),
            "{}: {names:?}",
            table.name()
        );
    }
    // An account without posts exports no snapshot.
    let none = account(&store, "9913").await.id;
    assert!(
        all_batches(&store, ExportTable::MediaInsightSnapshots, none, None, 5)
            .await
            .is_empty()
    );
}
