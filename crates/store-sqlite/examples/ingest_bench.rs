//! Measures bulk ingest of media insight snapshots into a SQLite file: rows per second of
//! `media_insights_apply` at several batch sizes.
//!
//! Run with `cargo run --release -p store-sqlite --example ingest_bench [total_rows]`.

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use store::{
    AccountType, EncryptedToken, InsightBatch, InsightSnapshot, LoginKind, MediaBatch, MediaRecord,
    MediaType, NewAccount, ProductType, Store,
};
use store_sqlite::SqliteStore;

const METRICS: [&str; 10] = [
    "reach",
    "views",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "follows",
    "profile_visits",
    "profile_activity",
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 400_000,
    };
    let path = std::env::temp_dir().join(format!("igsync-ingest-bench-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::open(&url).await?;
    store.migrate().await?;

    let t0 = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .ok_or("bad start time")?;
    let account = store
        .account_upsert(NewAccount {
            ig_user_id: "bench".into(),
            username: "bench".into(),
            name: None,
            account_type: AccountType::Business,
            login: LoginKind::Facebook,
            page_id: None,
            timezone: None,
            token: EncryptedToken(vec![0; 48]),
            token_expires_at: None,
            now: t0,
        })
        .await?;
    let media: Vec<String> = (0..10_000).map(|i| format!("1790000000{i:06}")).collect();
    store
        .media_apply(MediaBatch {
            account_id: account.id,
            seen_at: t0,
            upserts: media
                .iter()
                .enumerate()
                .map(|(i, id)| MediaRecord {
                    ig_media_id: id.clone(),
                    media_type: MediaType::Image,
                    product_type: ProductType::Feed,
                    published_at: t0 - Duration::hours(i as i64),
                    caption: None,
                    permalink: None,
                    media_url: None,
                    thumbnail_url: None,
                    shortcode: None,
                    like_count: Some(1),
                    comments_count: Some(0),
                    children: vec![],
                })
                .collect(),
            deleted: vec![],
        })
        .await?;

    println!(
        "SQLite ingest of media insight snapshots, {total} rows per batch size ({})",
        path.display()
    );
    let mut capture = 0i64;
    for batch_rows in [1_000usize, 10_000, 50_000] {
        let batches = total.div_ceil(batch_rows);
        let mut written = 0u64;
        let started = Instant::now();
        for _ in 0..batches {
            capture += 1;
            let captured_at = t0 + Duration::minutes(capture);
            let rows: Vec<InsightSnapshot> = (0..batch_rows)
                .map(|n| InsightSnapshot {
                    ig_media_id: media[(n / METRICS.len()) % media.len()].clone(),
                    metric: METRICS[n % METRICS.len()].to_owned(),
                    breakdown: None,
                    captured_at,
                    value: (n * 7 % 1_000) as f64,
                })
                .collect();
            written += store
                .media_insights_apply(InsightBatch {
                    account_id: account.id,
                    captured_at,
                    rows,
                    errors: vec![],
                    origin: store::Origin::poll("v23.0"),
                })
                .await?;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "batches of {batch_rows:>6} rows: {written:>8} rows in {secs:>6.2} s = {:>9.0} rows/s",
            written as f64 / secs
        );
    }
    let totals = store.totals().await?;
    println!("stored snapshots: {}", totals.media_insight_snapshots);
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    Ok(())
}
