//! The warehouse views' shape: after migrating, the schema named by the operator holds
//! Fivetran's tables with exactly the columns and types of its Instagram Business connector
//! as `fivetran/dbt_instagram_business` v1.1.0 reads them (docs/warehouse.md), and names that
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
