//! The `ingest` scenario: bulk upsert of media insight snapshots, rows/s.

use std::time::Instant;

use chrono::Utc;
use serde_json::{Value, json};
use store::{
    AccountType, Cipher, InsightBatch, InsightSnapshot, LoginKind, MediaBatch, MediaRecord,
    MediaType, NewAccount, ProductType, SecretKey, SecretString,
};

use crate::cli::BenchArgs;

use super::{db::*, fleet::*, *};

// ----- ingest -----

pub(crate) async fn ingest_scenario(args: &BenchArgs) -> anyhow::Result<Value> {
    let mut out = Vec::new();
    let mut targets = vec![BenchDb::sqlite("ingest").await?];
    if !args.sqlite_only {
        targets.push(BenchDb::postgres(&postgres_url(args)?).await?);
    }
    for db in targets {
        let store = db.open().await?;
        let key = SecretKey::generate()?;
        let account = store
            .account_upsert(NewAccount {
                ig_user_id: "17841400000000001".into(),
                username: "bench".into(),
                name: None,
                account_type: AccountType::Business,
                login: LoginKind::Facebook,
                page_id: None,
                timezone: None,
                token: Cipher::new(&key).encrypt(&SecretString::new("t"))?,
                token_expires_at: None,
                now: Utc::now(),
            })
            .await?;
        let n_media = 2_000usize;
        let base = Utc::now() - chrono::Duration::days(400);
        let media: Vec<MediaRecord> = (0..n_media)
            .map(|i| MediaRecord {
                ig_media_id: format!("1790000{i:010}"),
                media_type: MediaType::Image,
                product_type: ProductType::Feed,
                published_at: base + chrono::Duration::hours(i as i64 * 4),
                caption: None,
                permalink: None,
                media_url: None,
                thumbnail_url: None,
                shortcode: None,
                like_count: Some(1),
                comments_count: Some(1),
                children: vec![],
            })
            .collect();
        store
            .media_apply(MediaBatch {
                account_id: account.id,
                seen_at: Utc::now(),
                upserts: media,
                deleted: vec![],
            })
            .await?;
        let metrics = [
            "reach",
            "views",
            "likes",
            "comments",
            "saved",
            "shares",
            "total_interactions",
            "follows",
            "profile_visits",
            "reposts",
        ];
        let batches = 20usize;
        let mut rows_total = 0u64;
        let started = Instant::now();
        for b in 0..batches {
            let captured_at = Utc::now() - chrono::Duration::hours((batches - b) as i64);
            let rows: Vec<InsightSnapshot> = (0..n_media)
                .flat_map(|i| {
                    metrics.iter().map(move |m| InsightSnapshot {
                        ig_media_id: format!("1790000{i:010}"),
                        metric: (*m).to_string(),
                        breakdown: None,
                        captured_at,
                        value: (i * 7 + b) as f64,
                    })
                })
                .collect();
            rows_total += rows.len() as u64;
            store
                .media_insights_apply(InsightBatch {
                    account_id: account.id,
                    captured_at,
                    rows,
                    errors: vec![],
                    origin: store::Origin::poll("v23.0"),
                })
                .await?;
        }
        let wall = started.elapsed();
        let rate = rows_total as f64 / wall.as_secs_f64();
        println!(
            "ingest {:<9} {:>9} rows in {:>6.2} s = {:>9.0} rows/s (batches of {} rows, one transaction each)",
            store.dialect(),
            rows_total,
            wall.as_secs_f64(),
            rate,
            n_media * metrics.len()
        );
        out.push(json!({ "database": store.dialect(), "rows": rows_total, "batch_rows": n_media * metrics.len(),
                         "wall_s": round2(wall.as_secs_f64()), "rows_per_s": rate.round() }));
        db.drop_db().await;
    }
    Ok(json!({ "runs": out }))
}
