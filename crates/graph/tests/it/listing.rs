//! Media listing: 100 per page, carousel children by field expansion, the stop condition of
//! incremental syncs, stories, profile and account discovery.

use std::collections::HashSet;

use graph::{LoginKind, MediaType};
use simulator::SimConfig;

use crate::support::{account_ref, client, login_of, start};

/// A simulator whose single account has exactly 1,000 posts (seed 12, size 1049).
pub(crate) async fn thousand_post_sim() -> simulator::SimServer {
    let sim = start(SimConfig::new(12, 1, 1049)).await;
    assert_eq!(sim.accounts()[0].media_count, 1000, "seeded world changed");
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_1000_posts_in_ten_requests_with_children() {
    let sim = thousand_post_sim().await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    sim.reset_stats();

    let listing = client.list_media(&account, |_| false).await.unwrap();

    assert!(listing.complete);
    assert_eq!(listing.items.len(), 1000);
    assert!(listing.pages <= 10, "{} pages", listing.pages);
    assert_eq!(
        client.stats().by_endpoint["media"],
        u64::from(listing.pages)
    );
    assert_eq!(sim.stats().requests_total, u64::from(listing.pages));
    let ids: HashSet<_> = listing.items.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), 1000, "no duplicates across pages");
    assert!(
        listing
            .items
            .windows(2)
            .all(|w| w[0].timestamp >= w[1].timestamp),
        "newest first"
    );

    let truth = sim
        .ground_truth(
            &acc.ig_user_id,
            crate::support::sim_version(client.version()),
        )
        .unwrap();
    assert_eq!(truth.media.len(), 1000);
    for (item, t) in listing.items.iter().zip(&truth.media) {
        assert_eq!(item.id, t.id);
        assert_eq!(item.media_type.as_str(), t.media_type);
        assert_eq!(item.media_product_type.as_str(), t.media_product_type);
        assert_eq!(item.like_count, Some(t.like_count));
        assert_eq!(item.comments_count, Some(t.comments_count));
        assert_eq!(item.caption, t.caption);
        let children: Vec<_> = item.children.iter().map(|c| c.id.clone()).collect();
        assert_eq!(children, t.children, "children of {}", t.id);
    }
    assert!(
        listing
            .items
            .iter()
            .any(|m| m.media_type == MediaType::CarouselAlbum && !m.children.is_empty())
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_condition_ends_an_incremental_listing_early() {
    let sim = start(SimConfig::new(3, 1, 400)).await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    let full = client.list_media(&account, |_| false).await.unwrap();
    assert!(full.items.len() > 150);
    // Everything from the 151st post on is already stored and settled.
    let known: HashSet<String> = full.items[150..].iter().map(|m| m.id.clone()).collect();

    let before = client.stats();
    let inc = client
        .list_media(&account, |m| known.contains(&m.id))
        .await
        .unwrap();

    assert!(!inc.complete);
    assert_eq!(inc.items.len(), 150);
    assert_eq!(inc.items, full.items[..150]);
    assert_eq!(
        client.stats().since(&before).http_requests,
        2,
        "stops on the second page"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_profile_stories_and_discovers_accounts_for_both_logins() {
    let sim = start(SimConfig::new(5, 6, 30)).await;
    let accounts = sim.accounts();
    for login in [LoginKind::Facebook, LoginKind::Instagram] {
        let Some(acc) = accounts.iter().find(|a| login_of(a) == login) else {
            continue;
        };
        let client = client(&sim, login);
        let account = account_ref(acc);
        let truth = sim
            .ground_truth(
                &acc.ig_user_id,
                crate::support::sim_version(client.version()),
            )
            .unwrap();

        let profile = client.profile(&account).await.unwrap();
        assert_eq!(profile.id, truth.profile.id);
        assert_eq!(
            profile.username.as_deref(),
            Some(truth.profile.username.as_str())
        );
        assert_eq!(profile.followers_count, Some(truth.profile.followers_count));
        assert_eq!(profile.media_count, Some(truth.profile.media_count));

        let stories = client.stories(&account).await.unwrap();
        let ids: Vec<_> = stories.iter().map(|s| s.id.clone()).collect();
        let truth_ids: Vec<_> = truth.stories.iter().map(|s| s.id.clone()).collect();
        assert_eq!(ids, truth_ids);

        let found = client.discover_accounts(&account.token).await.unwrap();
        assert!(
            found.iter().any(|d| d.ig_user_id == acc.ig_user_id),
            "{login:?}: {found:?}"
        );
    }
    sim.shutdown().await;
}
