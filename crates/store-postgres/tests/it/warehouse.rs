//! The warehouse views' shape: after migrating, the schema named by the operator holds
//! Fivetran's tables with exactly the columns and types of its Instagram Business connector
//! as `fivetran/dbt_instagram_business` v1.1.0 reads them, and `media_comment` as the
//! connector's schema documents it (docs/warehouse.md), and names that
//! are not plain identifiers are refused before any SQL runs.

use std::collections::BTreeMap;

use sqlx::Row;
use store_postgres::warehouse::WAREHOUSE_VIEWS;

use crate::fixture::{PgFixture, drop_database};

const TS: &str = "timestamp without time zone";

/// (view, [(column, type)]) in column order.
fn expected() -> BTreeMap<&'static str, Vec<(&'static str, &'static str)>> {
    let mut media_insights = vec![
        ("_fivetran_id", "text"),
        ("_fivetran_synced", TS),
        ("id", "bigint"),
    ];
    for metric in [
        "like_count",
        "comment_count",
        "carousel_album_engagement",
        "carousel_album_reach",
        "carousel_album_saved",
        "carousel_album_shares",
        "carousel_album_views",
        "story_exits",
        "story_reach",
        "story_replies",
        "story_taps_back",
        "story_taps_forward",
        "story_shares",
        "story_views",
        "video_photo_engagement",
        "video_photo_reach",
        "video_photo_saved",
        "video_photo_shares",
        "video_photo_views",
        "reel_comments",
        "reel_likes",
        "reel_reach",
        "reel_shares",
        "reel_total_interactions",
        "reel_views",
        "carousel_album_impressions",
        "carousel_album_video_views",
        "story_impressions",
        "video_photo_impressions",
        "video_views",
        "reel_plays",
    ] {
        media_insights.push((metric, "bigint"));
    }
    BTreeMap::from([
        (
            "user_history",
            vec![
                ("_fivetran_id", "text"),
                ("_fivetran_synced", TS),
                ("followers_count", "bigint"),
                ("follows_count", "bigint"),
                ("id", "bigint"),
                ("ig_id", "bigint"),
                ("media_count", "bigint"),
                ("name", "text"),
                ("username", "text"),
                ("website", "text"),
            ],
        ),
        (
            "media_history",
            vec![
                ("_fivetran_id", "text"),
                ("_fivetran_synced", TS),
                ("caption", "text"),
                ("carousel_album_id", "bigint"),
                ("created_time", TS),
                ("id", "bigint"),
                ("ig_id", "bigint"),
                ("is_comment_enabled", "boolean"),
                ("is_story", "boolean"),
                ("media_type", "text"),
                ("media_url", "text"),
                ("permalink", "text"),
                ("shortcode", "text"),
                ("thumbnail_url", "text"),
                ("user_id", "bigint"),
                ("username", "text"),
            ],
        ),
        ("media_insights", media_insights),
        (
            // Fivetran's connector schema (ERD): created_time is an Instant, which Fivetran
            // writes to PostgreSQL as timestamp with time zone.
            "media_comment",
            vec![
                ("_fivetran_id", "text"),
                ("_fivetran_synced", TS),
                ("media_id", "bigint"),
                ("created_time", "timestamp with time zone"),
                ("hidden", "boolean"),
                ("id", "bigint"),
                ("like_count", "bigint"),
                ("owner_id", "bigint"),
                ("owner_username", "text"),
                ("parent_id", "bigint"),
                ("text", "text"),
            ],
        ),
    ])
}

#[tokio::test]
async fn warehouse_views_have_fivetrans_columns_and_types() {
    let f = PgFixture::new().await;
    f.store.warehouse_views("bi_views").await.unwrap();
    // Idempotent, and it keeps privileges: a second run replaces the views in place.
    f.store.warehouse_views("bi_views").await.unwrap();
    let pool = sqlx::PgPool::connect(&f.url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d \
         FROM information_schema.columns WHERE table_schema = 'bi_views' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut actual: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in rows {
        actual
            .entry(r.get("t"))
            .or_default()
            .push((r.get("c"), r.get("d")));
    }
    let names: Vec<&str> = actual.keys().map(String::as_str).collect();
    let mut wanted: Vec<&str> = WAREHOUSE_VIEWS.iter().map(|(n, _)| *n).collect();
    wanted.sort();
    assert_eq!(names, wanted);
    for (view, columns) in expected() {
        let got: Vec<(&str, &str)> = actual[view]
            .iter()
            .map(|(c, d)| (c.as_str(), d.as_str()))
            .collect();
        assert_eq!(got, columns, "{view}");
    }
    // The two tables beyond the package's three: keys and their long/daily shape.
    let lifetime: Vec<&str> = actual["user_lifetime_insights"]
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    for c in [
        "_fivetran_id",
        "_fivetran_synced",
        "id",
        "date",
        "metric",
        "key",
        "value",
    ] {
        assert!(lifetime.contains(&c), "user_lifetime_insights lacks {c}");
    }
    let daily: Vec<&str> = actual["user_insights"]
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    for c in [
        "_fivetran_id",
        "_fivetran_synced",
        "id",
        "date",
        "reach",
        "follower_count",
    ] {
        assert!(daily.contains(&c), "user_insights lacks {c}");
    }
    // An empty database gives empty views, and the package's key tests pass on them.
    assert!(
        f.store
            .warehouse_posts("bi_views")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .warehouse_check("bi_views")
            .await
            .unwrap()
            .is_empty()
    );
    pool.close().await;
    f.store.close().await;
    drop_database(&f.name).await;
}

#[tokio::test]
async fn warehouse_names_must_be_plain_identifiers_and_not_igsyncs_schema() {
    let f = PgFixture::new().await;
    for bad in ["", "Bi", "a;drop", "pg_temp", "9x", "\"public\""] {
        let e = f.store.warehouse_views(bad).await.unwrap_err().to_string();
        assert!(e.contains("invalid warehouse schema"), "{bad}: {e}");
        let e = f.store.warehouse_grant("bi", bad, None).await.unwrap_err();
        assert!(e.to_string().contains("invalid"), "{bad}: {e}");
    }
    let e = f
        .store
        .warehouse_views("public")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("igsync's own schema"), "{e}");
    let e = f
        .store
        .warehouse_grant("not_there", "some_reader", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("igsync migrate"), "{e}");
    assert!(
        !f.store
            .warehouse_revoke("no_such_reader_role")
            .await
            .unwrap()
    );
    f.store.close().await;
    drop_database(&f.name).await;
}

fn comment(a: store::AccountId, id: &str, minute: i64, text: Option<&str>) -> store::CommentRecord {
    store::CommentRecord {
        account_id: a,
        ig_comment_id: id.to_owned(),
        ig_media_id: Some("17900000000000001".into()),
        media_product_type: Some("FEED".into()),
        parent_id: None,
        from_id: Some("25000000000000042".into()),
        from_username: Some("ana.k".into()),
        text: text.map(str::to_owned),
        commented_at: at(minute),
    }
}

fn at(minute: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_780_000_000 + minute * 60, 0).unwrap()
}

/// A business account `@shop` on Facebook Login.
async fn shop(f: &PgFixture, ig_user_id: &str) -> store::AccountId {
    use store::{AccountType, Cipher, LoginKind, NewAccount, SecretKey, SecretString, Store};
    f.store
        .account_upsert(NewAccount {
            ig_user_id: ig_user_id.into(),
            username: "shop".into(),
            name: None,
            account_type: AccountType::Business,
            login: LoginKind::Facebook,
            page_id: None,
            timezone: None,
            token: Cipher::new(&SecretKey::generate().unwrap())
                .encrypt(&SecretString::new("t"))
                .unwrap(),
            token_expires_at: None,
            now: at(0),
        })
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn media_comment_has_a_row_per_version_of_each_comment() {
    use store::{NewWebhookEvent, Store, WebhookApply};
    let f = PgFixture::new().await;
    let a = shop(&f, "17841400000000001").await;
    let (event_id, _) = f
        .store
        .webhook_event_insert(NewWebhookEvent {
            delivery_key: "k1".into(),
            body: "{}".into(),
            received_at: at(0),
        })
        .await
        .unwrap();
    let mut reply = comment(a, "18100000000000003", 4, Some("Thanks!"));
    reply.parent_id = Some("18100000000000001".into());
    f.store
        .webhook_apply(WebhookApply {
            event_id,
            processed_at: at(5),
            comments: vec![
                comment(a, "18100000000000001", 1, Some("first")),
                comment(a, "18100000000000001", 3, Some("edited")),
                comment(a, "18100000000000002", 2, None),
                reply,
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    f.store.warehouse_views("bi_views").await.unwrap();
    let pool = sqlx::PgPool::connect(&f.url).await.unwrap();
    let rows = sqlx::query(
        "SELECT _fivetran_id, _fivetran_synced, media_id, created_time, hidden, id, like_count, \
         owner_id, owner_username, parent_id, text FROM bi_views.media_comment \
         ORDER BY id, _fivetran_synced",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    type Line = (i64, chrono::NaiveDateTime, chrono::DateTime<chrono::Utc>);
    let got: Vec<(Line, Option<i64>, Option<String>)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.get::<Option<i64>, _>("media_id"), Some(17900000000000001));
            assert_eq!(r.get::<Option<i64>, _>("owner_id"), Some(25000000000000042));
            assert_eq!(
                r.get::<Option<String>, _>("owner_username").as_deref(),
                Some("ana.k")
            );
            // Meta's notifications do not say these: missing, never false or 0.
            assert_eq!(r.get::<Option<bool>, _>("hidden"), None);
            assert_eq!(r.get::<Option<i64>, _>("like_count"), None);
            (
                (
                    r.get("id"),
                    r.get("_fivetran_synced"),
                    r.get("created_time"),
                ),
                r.get("parent_id"),
                r.get("text"),
            )
        })
        .collect();
    let naive = |m: i64| at(m).naive_utc();
    assert_eq!(
        got,
        vec![
            // The edited comment: one row per text, both created at the first notification.
            (
                (18100000000000001, naive(1), at(1)),
                None,
                Some("first".into())
            ),
            (
                (18100000000000001, naive(3), at(1)),
                None,
                Some("edited".into())
            ),
            // No text in any notification: one row, its text missing.
            ((18100000000000002, naive(5), at(2)), None, None),
            (
                (18100000000000003, naive(4), at(4)),
                Some(18100000000000001),
                Some("Thanks!".into())
            ),
        ]
    );
    assert!(
        f.store
            .warehouse_check("bi_views")
            .await
            .unwrap()
            .is_empty()
    );
    pool.close().await;
    f.store.close().await;
    drop_database(&f.name).await;
}

/// Reads folded into a confirmation still give the warehouse a full row per read of a post:
/// a capture where only `reach` changed carries the `likes` it confirmed, and the last read
/// is a row of its own, as when every read was appended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_insights_keep_a_full_row_per_read_when_repeats_are_folded() {
    use store::{
        InsightBatch, InsightSnapshot, MediaBatch, MediaRecord, MediaType, ProductType, Store,
    };
    let f = PgFixture::new().await;
    let a = shop(&f, "17841400000000002").await;
    f.store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(0),
            upserts: vec![MediaRecord {
                ig_media_id: "17900000000000009".into(),
                media_type: MediaType::Image,
                product_type: ProductType::Feed,
                published_at: at(0),
                caption: None,
                permalink: None,
                media_url: None,
                thumbnail_url: None,
                shortcode: None,
                like_count: None,
                comments_count: None,
                children: vec![],
            }],
            deleted: vec![],
        })
        .await
        .unwrap();
    // Reads at 10, 20, 30, 40: reach changes at 30, likes never.
    for (minute, reach) in [(10, 100.0), (20, 100.0), (30, 120.0), (40, 120.0)] {
        let snap = |metric: &str, value: f64| InsightSnapshot {
            ig_media_id: "17900000000000009".into(),
            metric: metric.into(),
            breakdown: None,
            captured_at: at(minute),
            value,
        };
        f.store
            .media_insights_apply(InsightBatch {
                account_id: a,
                captured_at: at(minute),
                rows: vec![snap("reach", reach), snap("likes", 7.0)],
                errors: vec![],
                origin: store::Origin::poll("v23.0"),
            })
            .await
            .unwrap();
    }
    let pool = sqlx::PgPool::connect(&f.url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM media_insight_snapshots")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 3, "reach twice, likes once");
    let rows = sqlx::query(
        "SELECT _fivetran_synced, like_count, video_photo_reach FROM fivetran_media_insights \
         ORDER BY _fivetran_synced",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let got: Vec<(chrono::NaiveDateTime, Option<i64>, Option<i64>)> = rows
        .iter()
        .map(|r| {
            (
                r.get("_fivetran_synced"),
                r.get("like_count"),
                r.get("video_photo_reach"),
            )
        })
        .collect();
    let naive = |m| at(m).naive_utc();
    assert_eq!(
        got,
        vec![
            (naive(10), Some(7), Some(100)),
            (naive(20), Some(7), Some(100)),
            (naive(30), Some(7), Some(120)),
            (naive(40), Some(7), Some(120)),
        ]
    );
    pool.close().await;
    drop_database(&f.name).await;
}
