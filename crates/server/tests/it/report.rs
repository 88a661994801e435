//! Report rendering: a report computed by `analytics` from a realistic account history is
//! rendered as table, JSON, CSV and HTML; JSON and CSV give every figure a key of the
//! definitions registry, the HTML is self-contained and escapes everything it shows.

use std::collections::BTreeSet;

use analytics::{
    AccountHistory, AccountInfo, AccountMetric, Audience, DailyMetricValue, DemographicDimension,
    DemographicValue, FollowerSample, MediaProductType, MediaType, OnlineFollowersSample, Period,
    Post, PostMetrics, PostSnapshot, Report, ReportConfig, performance_report,
};
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use serde_json::Value;
use server::report::{ReportFormat, ReportSubject, render, report_json};

/// The instant the fixture's report is computed for.
pub(crate) fn fixture_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 31, 18, 0, 0).unwrap()
}

fn metrics(
    likes: i64,
    comments: i64,
    saves: i64,
    shares: i64,
    reach: i64,
    views: i64,
) -> PostMetrics {
    PostMetrics {
        likes: Some(likes),
        comments: Some(comments),
        saves: Some(saves),
        shares: Some(shares),
        reach: Some(reach),
        views: Some(views),
        total_interactions: Some(likes + comments + saves + shares),
        ..PostMetrics::default()
    }
}

/// Scales every counter by `f` (a snapshot earlier in the post's life).
fn scaled(m: &PostMetrics, f: f64) -> PostMetrics {
    let s = |v: Option<i64>| v.map(|v| (v as f64 * f).round() as i64);
    PostMetrics {
        likes: s(m.likes),
        comments: s(m.comments),
        saves: s(m.saves),
        shares: s(m.shares),
        reach: s(m.reach),
        views: s(m.views),
        total_interactions: s(m.total_interactions),
        ..PostMetrics::default()
    }
}

/// A deterministic history of about four months: daily follower samples with gaps, daily
/// account insights, 60 posts of three types with snapshot curves (one of them clearly
/// trending), hourly online followers and demographics. Captions and a permalink carry
/// hostile text to prove escaping.
pub(crate) fn fixture_history() -> AccountHistory {
    let now = fixture_now();
    let start = now - Duration::days(120);
    let mut follower_samples = Vec::new();
    for d in 0..120 {
        // A sync gap of three days in the middle.
        if (60..63).contains(&d) {
            continue;
        }
        let at = start + Duration::days(d) + Duration::hours(6);
        let followers = 10_000 + d * 9 + (d * 7919 % 13) - 6;
        follower_samples.push(FollowerSample {
            captured_at: at,
            followers,
            follows: 310,
            media_count: 200 + d / 2,
        });
    }
    let mut daily_metrics = Vec::new();
    for d in 0..=90 {
        let day = (now - Duration::days(90 - d)).date_naive();
        let wave = d * 37 % 23;
        for (metric, value) in [
            (AccountMetric::Reach, 900 + wave * 40),
            (AccountMetric::Views, 2_500 + wave * 110),
            (AccountMetric::AccountsEngaged, 120 + wave * 3),
            (AccountMetric::TotalInteractions, 300 + wave * 9),
            (AccountMetric::ProfileViews, 80 + wave),
            (AccountMetric::WebsiteClicks, 5 + wave % 4),
            (AccountMetric::Follows, 12 + wave % 5),
        ] {
            daily_metrics.push(DailyMetricValue { day, metric, value });
        }
    }
    let mut posts = Vec::new();
    for i in 0..60i64 {
        let published_at = start + Duration::days(2 * i) + Duration::hours(8 + (i * 5) % 12);
        if published_at > now - Duration::hours(30) {
            break;
        }
        let (product_type, media_type) = match i % 4 {
            0 | 2 => (
                MediaProductType::Feed,
                if i % 8 == 0 {
                    MediaType::CarouselAlbum
                } else {
                    MediaType::Image
                },
            ),
            1 => (MediaProductType::Reels, MediaType::Video),
            _ => (MediaProductType::Story, MediaType::Image),
        };
        let base = 100 + (i * 7919 % 37);
        // Post 54 (a feed post twelve days old) does ten times as well as usual.
        let boost = if i == 54 { 10 } else { 1 };
        let likes = base * boost;
        let reach = (base * 14 + i * 3) * if boost > 1 { 4 } else { 1 };
        let latest = metrics(likes, likes / 12, likes / 9, likes / 20, reach, reach * 2);
        let snapshots = [(1, 0.15), (6, 0.45), (24, 0.8), (48, 0.92), (168, 1.0)]
            .into_iter()
            .map(|(h, f)| (published_at + Duration::hours(h), f))
            .filter(|(at, _)| *at <= now)
            .map(|(captured_at, f)| PostSnapshot {
                captured_at,
                metrics: scaled(&latest, f),
            })
            .collect::<Vec<_>>();
        let caption = match i {
            3 => "Launch day <script>alert('x')</script> & friends".to_owned(),
            5 => "=HYPERLINK(\"http://evil.example\")".to_owned(),
            _ => format!("Post number {i} about #coffee and mornings"),
        };
        let permalink = if i == 7 {
            "javascript:alert(1)".to_owned()
        } else {
            format!("https://www.instagram.com/p/FIXTURE{i}/")
        };
        posts.push(Post {
            ig_media_id: format!("1790000000000{i:03}"),
            product_type,
            media_type,
            published_at,
            caption: Some(caption),
            permalink: Some(permalink),
            deleted: i == 11,
            metrics: snapshots.last().map_or(latest, |s| s.metrics),
            snapshots,
        });
    }
    let online_followers = (0..14 * 24)
        .map(|h| {
            let hour_start = now - Duration::hours(14 * 24 - h);
            let local = hour_start.hour() as i64;
            OnlineFollowersSample {
                hour_start,
                followers_online: 200 + 40 * (12 - (local - 12).abs()),
            }
        })
        .collect();
    let mut demographics = Vec::new();
    for (dimension, entries) in [
        (
            DemographicDimension::Age,
            vec![
                ("18-24", 1200),
                ("25-34", 4100),
                ("35-44", 2600),
                ("45-54", 900),
            ],
        ),
        (
            DemographicDimension::Gender,
            vec![("F", 5600), ("M", 3100), ("U", 300)],
        ),
        (
            DemographicDimension::Country,
            vec![("DE", 5200), ("AT", 1400), ("CH", 900), ("US", 600)],
        ),
        (
            DemographicDimension::City,
            vec![
                ("Berlin, Berlin", 2100),
                ("Hamburg, Hamburg", 900),
                ("<b>Wien</b>", 700),
            ],
        ),
    ] {
        for (key, value) in entries {
            demographics.push(DemographicValue {
                audience: Audience::Followers,
                dimension,
                key: key.to_owned(),
                value,
            });
        }
    }
    AccountHistory {
        account: AccountInfo {
            time_zone: chrono_tz::Europe::Berlin,
            followers_now: follower_samples.last().map(|s| s.followers),
        },
        posts,
        follower_samples,
        daily_metrics,
        online_followers,
        demographics,
    }
}

pub(crate) fn fixture_report() -> Report {
    let history = fixture_history();
    let period = Period::last_days(fixture_now(), history.account.time_zone, 30).unwrap();
    performance_report(&history, period, fixture_now(), &ReportConfig::default())
}

pub(crate) fn fixture_subject() -> ReportSubject {
    ReportSubject {
        account_id: store::AccountId::new(7),
        username: "cafe_<b>morning</b>".to_owned(),
        name: Some("Café & Co".to_owned()),
        stories: Some(
            "3 of 4 stories have final numbers (<b>2</b> webhook, 1 final read)".to_owned(),
        ),
        conversations: Some(
            "5 comments and 1 mentions received through Meta's webhooks".to_owned(),
        ),
    }
}

fn known_keys() -> BTreeSet<&'static str> {
    analytics::definitions().iter().map(|d| d.key).collect()
}

/// Every object with a `key` in a JSON tree, with its path.
fn keyed_objects<'a>(
    value: &'a Value,
    path: String,
    out: &mut Vec<(String, &'a serde_json::Map<String, Value>)>,
) {
    match value {
        Value::Object(map) => {
            if map.contains_key("key") {
                out.push((path.clone(), map));
            }
            for (k, v) in map {
                keyed_objects(v, format!("{path}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                keyed_objects(v, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_fixture_exercises_every_section() {
    let report = fixture_report();
    assert!(
        report.content.posts.len() >= 10,
        "posts in the period: {}",
        report.content.posts.len()
    );
    assert!(
        !report.trends.trending_rows.is_empty(),
        "the boosted post trends: {:?}",
        report.trends.summary
    );
    assert!(!report.best_times.recommendations.is_empty());
    assert!(!report.audience.is_empty());
    assert!(!report.comparison.is_empty());
    assert!(report.content.overall.by_reach.pooled.value.is_some());
}

#[test]
fn json_gives_every_figure_a_known_definition_key() {
    let report = fixture_report();
    let text = render(&report, &fixture_subject(), ReportFormat::Json);
    let json: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(json, report_json(&report, &fixture_subject()));

    let known = known_keys();
    let mut objects = Vec::new();
    keyed_objects(&json, "$".to_owned(), &mut objects);
    assert!(objects.len() > 500, "figures everywhere: {}", objects.len());
    for (path, obj) in &objects {
        let key = obj["key"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: key is a string"));
        assert!(
            known.contains(key),
            "{path}: unknown definition key {key:?}"
        );
        let def = analytics::definition(key).unwrap();
        assert_eq!(
            obj["definition"].as_str(),
            Some(def.definition),
            "{path}: definition text of {key}"
        );
        assert!(
            obj.contains_key("value")
                || obj.contains_key("points")
                || obj.contains_key("current")
                || path.starts_with("$.definitions"),
            "{path}: a figure carries a value"
        );
    }

    // The headline rate is there with the analytics value, and per-post rates are keyed.
    let pooled = &json["content"]["overall"]["engagement_rate_by_reach"]["pooled"];
    assert_eq!(pooled["key"], "engagement_rate_by_reach_pooled");
    assert_eq!(
        pooled["value"].as_f64(),
        report.content.overall.by_reach.pooled.value
    );
    assert_eq!(pooled["unit"], "percent");
    let first_post = &json["posts"][0];
    let rate = first_post["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "engagement_rate_by_reach")
        .expect("per-post engagement rate by reach");
    assert_eq!(
        rate["value"].as_f64(),
        report.content.posts[0].engagement.rate_by_reach.value
    );
    // Missing values are null with a reason, never 0.
    let net_new = &json["followers"]["net_new_followers_api"];
    assert!(net_new["value"].is_null());
    assert!(net_new["note"].as_str().unwrap().contains("no API"));
    // Reach is never summed over the period.
    let reach = json["account_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "reach")
        .unwrap();
    assert!(reach["period_total"].is_null());
    assert_eq!(reach["daily"]["key"], "account_reach_daily");
    assert_eq!(reach["daily"]["points"].as_array().unwrap().len(), 30);
    // Trending posts come with their explanation.
    let trending = json["trending"]["posts"].as_array().unwrap();
    assert!(!trending.is_empty());
    assert_eq!(trending[0]["verdict"], "trending");
    assert!(!trending[0]["why"].as_str().unwrap().is_empty());
    assert_eq!(json["best_times"]["cells"].as_array().unwrap().len(), 168);
    assert_eq!(json["account"]["username"], "cafe_<b>morning</b>");
}

/// A minimal RFC 4180 reader for the assertions.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[test]
fn csv_has_one_keyed_row_per_figure() {
    let report = fixture_report();
    let text = render(&report, &fixture_subject(), ReportFormat::Csv);
    let rows = parse_csv(&text);
    assert_eq!(
        rows[0],
        [
            "section", "item", "date", "key", "label", "value", "unit", "note"
        ]
    );
    let known = known_keys();
    for (i, row) in rows.iter().enumerate().skip(1) {
        assert_eq!(row.len(), 8, "row {i}: {row:?}");
        assert!(
            known.contains(row[3].as_str()),
            "row {i}: unknown key {:?}",
            row[3]
        );
        if !row[5].is_empty() {
            row[5]
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("row {i}: value {:?} is a number", row[5]));
        }
    }
    // Every post of the period has its keyed rate row with the analytics value.
    for post in &report.content.posts {
        let row = rows
            .iter()
            .find(|r| {
                r[0] == "post" && r[1] == post.ig_media_id && r[3] == "engagement_rate_by_reach"
            })
            .unwrap_or_else(|| panic!("rate row of {}", post.ig_media_id));
        match post.engagement.rate_by_reach.value {
            Some(v) => assert!((row[5].parse::<f64>().unwrap() - v).abs() < 1e-5),
            None => assert!(
                row[5].is_empty() && !row[7].is_empty(),
                "missing value explained"
            ),
        }
    }
    // Daily series are rows too, and reach has no period total.
    assert_eq!(
        rows.iter()
            .filter(|r| r[3] == "account_reach_daily")
            .count(),
        30
    );
    assert!(!rows.iter().any(|r| r[3] == "account_reach_period_total"));
    assert!(rows.iter().any(|r| r[3] == "account_views_period_total"));
    // A caption is never a spreadsheet formula (captions are not in the CSV at all, and no
    // text cell starts with a formula character).
    for row in &rows {
        for (c, cell) in row.iter().enumerate() {
            if c != 5 {
                assert!(
                    !cell.starts_with(['=', '+', '@']),
                    "formula-like cell {cell:?}"
                );
            }
        }
    }
}

#[test]
fn table_is_aligned_text_with_keys_and_definitions() {
    let report = fixture_report();
    let text = render(&report, &fixture_subject(), ReportFormat::Table);
    for needle in [
        "igsync report: @cafe_<b>morning</b> (Café & Co), account 7",
        "FOLLOWERS",
        "ACCOUNT METRICS",
        "ENGAGEMENT RATES",
        "TRENDING POSTS",
        "BEST POSTING TIMES (EUROPE/BERLIN)",
        "engagement_rate_by_reach_pooled",
        "not additive",
        "DEFINITIONS",
        analytics::definition::ENGAGEMENT_RATE_BY_REACH_POOLED.definition,
    ] {
        assert!(text.contains(needle), "table lacks {needle:?}:\n{text}");
    }
    let followers = report.account.followers_now.value.unwrap();
    assert!(
        text.contains(&server::charts::format_count(followers)),
        "followers now shown"
    );
    assert!(!text.contains("NaN") && !text.contains("inf"));
}

#[test]
fn html_is_self_contained_escaped_and_shows_definitions() {
    let report = fixture_report();
    let html = render(&report, &fixture_subject(), ReportFormat::Html);
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<style>") && html.contains("</html>"));
    // Nothing is fetched: no scripts, stylesheets, images, frames, imports or CSS urls.
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "src=", "@import", "url(",
    ] {
        assert!(!html.contains(forbidden), "HTML contains {forbidden:?}");
    }
    // The only absolute URLs are the href of links.
    for scheme in ["http://", "https://"] {
        for (pos, _) in html.match_indices(scheme) {
            let before = &html[pos.saturating_sub(9)..pos];
            assert!(
                before.ends_with("<a href=\""),
                "{scheme} outside a link: …{}…",
                &html[pos.saturating_sub(60)..pos + 40]
            );
        }
    }
    assert!(html.contains("href=\"https://www.instagram.com/p/"));
    assert!(
        !html.contains("javascript:"),
        "unsafe permalinks are not linked"
    );
    // Charts: follower growth, reach and views, types, heatmaps, audience.
    assert!(
        html.matches("<svg").count() >= 7,
        "charts: {}",
        html.matches("<svg").count()
    );
    assert!(html.contains("Followers per day") && html.contains("Reach and views per day"));
    // Data is escaped.
    assert!(!html.contains("<b>morning</b>") && html.contains("@cafe_&lt;b&gt;morning&lt;/b&gt;"));
    assert!(!html.contains("<b>Wien</b>") && html.contains("&lt;b&gt;Wien&lt;/b&gt;"));
    assert!(!html.contains("<script>alert"));
    // Definitions next to numbers.
    let pooled = &analytics::definition::ENGAGEMENT_RATE_BY_REACH_POOLED;
    assert!(html.contains(&format!(
        "<code>{}</code> {}",
        pooled.key,
        server::charts::escape(pooled.definition)
    )));
    let value = server::report::format_figure(&report.content.overall.by_reach.pooled);
    assert!(html.contains(&value), "the pooled rate {value} is shown");
    for d in analytics::definitions() {
        if html.contains(&format!("<dt id=\"def-{}\">", d.key)) {
            assert!(html.contains(&server::charts::escape(d.definition)));
        }
    }
    assert!(html.contains("<dt id=\"def-engagement_rate_by_reach\">"));
}

#[test]
fn an_empty_history_renders_in_every_format_without_made_up_numbers() {
    let history = AccountHistory::default();
    let now = fixture_now();
    let period = Period::last_days(now, history.account.time_zone, 7).unwrap();
    let report = performance_report(&history, period, now, &ReportConfig::default());
    let subject = ReportSubject {
        account_id: store::AccountId::new(1),
        username: "empty".into(),
        name: None,
        stories: None,
        conversations: None,
    };
    for format in ReportFormat::ALL {
        let out = render(&report, &subject, format);
        assert!(!out.is_empty());
        assert!(!out.contains("NaN"), "{format}");
    }
    let html = render(&report, &subject, ReportFormat::Html);
    assert!(html.contains("No data for this period"));
    assert!(html.contains("No demographics stored yet"));
    let json = report_json(&report, &subject);
    assert!(json["followers"]["now"]["value"].is_null());
    assert_eq!(json["followers"]["now"]["note"], "no profile sync yet");
}

#[tokio::test]
async fn reports_of_an_account_synced_from_the_simulator_render_in_every_format() {
    let env = crate::dashboard::synced_app_over(3).await;
    let store = &env.app.store;
    let (id, _) = &env.synced[0];
    let account = store.account_get(*id).await.unwrap().unwrap();
    let now = env.engine.clock().now();
    let history = sync::load_account_history(&**store, *id, sync::HistoryWindow::trailing(now, 60))
        .await
        .unwrap();
    assert!(!history.posts.is_empty() && !history.follower_samples.is_empty());
    let period = Period::last_days(now, history.account.time_zone, 30).unwrap();
    let report = performance_report(&history, period, now, &ReportConfig::default());
    let subject = ReportSubject::from(&account);

    let json = report_json(&report, &subject);
    let known = known_keys();
    let mut objects = Vec::new();
    keyed_objects(&json, "$".to_owned(), &mut objects);
    for (path, obj) in &objects {
        assert!(
            known.contains(obj["key"].as_str().unwrap()),
            "{path}: unknown key"
        );
    }
    assert_eq!(
        json["followers"]["now"]["value"].as_f64(),
        account.followers_count.map(|f| f as f64),
        "followers now is the stored counter"
    );
    assert!(json["posts"].as_array().unwrap().len() == report.content.posts.len());

    let csv = parse_csv(&render(&report, &subject, ReportFormat::Csv));
    assert!(csv.len() > 100, "rows for every figure: {}", csv.len());
    assert!(
        csv.iter()
            .skip(1)
            .all(|r| r.len() == 8 && known.contains(r[3].as_str()))
    );

    let table = render(&report, &subject, ReportFormat::Table);
    assert!(table.contains(&format!("@{}", account.username)));

    let html = render(&report, &subject, ReportFormat::Html);
    assert!(html.matches("<svg").count() >= 5);
    assert!(!html.contains("<script"));
    for token in &env.tokens {
        assert!(!html.contains(token.as_str()));
    }
}

#[test]
fn the_follower_chart_shows_the_forecast_band_and_its_sentence() {
    let report = fixture_report();
    let outlook = report.account.follower_outlook.as_ref().unwrap();
    let html = render(&report, &fixture_subject(), ReportFormat::Html);
    let section = &html[html.find("<h2>Follower growth</h2>").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert_eq!(section.matches("class=\"band\"").count(), 1, "{section}");
    assert!(section.contains("<title>80 % prediction interval</title>"));
    assert!(section.contains(&format!(
        "Forecast ({})",
        outlook.forecast.method.key().replace('_', " ")
    )));
    // About 11,000 followers growing by 9 a day: 20,000 is beyond the 90 days, so the
    // sentence gives the 90-day value with its interval instead of a milestone.
    assert_eq!(outlook.milestone, None);
    let p = outlook.forecast.at(90).unwrap();
    assert!(
        section.contains(&format!(
            "In 90 days: about {} followers (80 %: {} – {})",
            server::report::format_value(p.value, analytics::Unit::Count),
            server::report::format_value(p.low, analytics::Unit::Count),
            server::report::format_value(p.high, analytics::Unit::Count)
        )),
        "{section}"
    );
    assert!(section.contains("<code>forecast_value</code>"));
    assert!(section.contains("by backtest"), "{section}");
}

/// The table and the HTML report state how complete the period's story numbers are,
/// escaped like every other value.
#[test]
fn reports_state_story_completeness() {
    let report = fixture_report();
    let subject = fixture_subject();
    let table = server::report::render(&report, &subject, ReportFormat::Table);
    assert!(
        table.contains(
            "Stories: 3 of 4 stories have final numbers (<b>2</b> webhook, 1 final read)"
        ),
        "{table}"
    );
    let html = server::report::render(&report, &subject, ReportFormat::Html);
    assert!(
        html.contains("Stories: 3 of 4 stories have final numbers (&lt;b&gt;2&lt;/b&gt; webhook, 1 final read)."),
        "story completeness in the HTML report"
    );
    assert!(table.contains("Conversations: 5 comments and 1 mentions received"));
    let none = ReportSubject {
        stories: None,
        conversations: None,
        ..fixture_subject()
    };
    assert!(!server::report::render(&report, &none, ReportFormat::Table).contains("Stories:"));
}

/// [`fixture_report`] with a peer benchmark: one figure ranked, the others missing.
pub(crate) fn fixture_report_with_peers() -> Report {
    let mut report = fixture_report();
    let ours = analytics::competitors::PeerAccount {
        name: "us".into(),
        followers: vec![],
        posts: vec![],
    };
    let window = analytics::competitors::Window {
        from: fixture_now() - Duration::days(30),
        to: fixture_now(),
    };
    let mut ranks = analytics::competitors::peer_benchmark(&ours, &[], window);
    let mut ranked = ranks[0].clone();
    ranked.ours.value = Some(3.5);
    ranked.rank = Some(2);
    ranked.of = 3;
    ranked.peer_median = Some(1.25);
    ranks.push(ranked);
    report.peers = Some(analytics::competitors::PeerBenchmark {
        competitors: 2,
        ranks,
    });
    report
}
