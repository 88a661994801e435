//! Business Discovery through the client: nested media paging equal to the simulator's
//! truth, and every refusal with its reason (Instagram Login before any request).

use graph::{DiscoveryError, LoginKind};
use simulator::{CompetitorKind, SimConfig};

use crate::support::{account_ref, client, start};

fn of_kind(sim: &simulator::SimServer, kind: CompetitorKind) -> simulator::CompetitorTruth {
    sim.competitors()
        .into_iter()
        .find(|c| c.kind == kind)
        .unwrap()
}

#[tokio::test]
async fn a_competitor_is_read_page_by_page_and_equals_the_truth() {
    let sim = start(SimConfig::new(511, 2, 10)).await;
    let fb = sim
        .accounts()
        .into_iter()
        .find(|a| a.login == simulator::LoginKind::Facebook)
        .unwrap();
    let c = client(&sim, LoginKind::Facebook);
    let target = sim
        .competitors()
        .into_iter()
        .filter(|c| c.followers_count.is_some())
        .max_by_key(|c| c.media.len())
        .unwrap();
    assert!(target.media.len() > 105, "{}", target.media.len());
    sim.reset_stats();
    let p = c
        .business_discovery(&account_ref(&fb), &target.username, 105)
        .await
        .unwrap();
    let truth = sim.competitor_truth(&target.username).unwrap();
    assert_eq!(p.pages, 2);
    assert_eq!(sim.stats().rate_limit_units_by_account[&fb.ig_user_id], 2);
    assert_eq!(p.ig_user_id, truth.ig_user_id);
    assert_eq!(p.followers_count, truth.followers_count);
    assert_eq!(p.media_count, truth.media_count);
    assert_eq!(p.follows_count, truth.follows_count);
    assert_eq!(p.media.len(), 105);
    assert!(!p.media_complete);
    for (got, want) in p.media.iter().zip(&truth.media) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.like_count, Some(want.like_count));
        assert_eq!(got.comments_count, Some(want.comments_count));
        assert_eq!(
            got.media_product_type
                .as_ref()
                .map(|m| m.as_str().to_owned()),
            Some(want.media_product_type.clone())
        );
    }
    // Asking for more than it has reads everything and says so.
    let all = c
        .business_discovery(&account_ref(&fb), &target.username, 10_000)
        .await
        .unwrap();
    assert!(all.media_complete);
    assert_eq!(all.media.len(), truth.media.len());
}

#[tokio::test]
async fn refusals_carry_their_reason() {
    let sim = start(SimConfig::new(512, 2, 10)).await;
    let accounts = sim.accounts();
    let fb = accounts
        .iter()
        .find(|a| a.login == simulator::LoginKind::Facebook)
        .unwrap();
    let ig = accounts
        .iter()
        .find(|a| a.login == simulator::LoginKind::Instagram)
        .unwrap();
    let c = client(&sim, LoginKind::Facebook);
    let via = account_ref(fb);
    let personal = of_kind(&sim, CompetitorKind::Personal).username;
    for name in ["nobody_has_this_name", personal.as_str()] {
        let e = c.business_discovery(&via, name, 10).await.unwrap_err();
        assert!(matches!(e, DiscoveryError::NotFound(_)), "{e}");
        assert_eq!(e.reason(), "not_found");
        assert!(e.to_string().contains("personal account"));
    }
    let gated = of_kind(&sim, CompetitorKind::Restricted).username;
    let e = c.business_discovery(&via, &gated, 10).await.unwrap_err();
    assert_eq!(e.reason(), "restricted");
    let e = c
        .business_discovery(&via, "bad){name", 10)
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "invalid_username");

    // Instagram Login: refused before any request.
    sim.reset_stats();
    let ig_client = client(&sim, LoginKind::Instagram);
    let e = ig_client
        .business_discovery(&account_ref(ig), &personal, 10)
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "instagram_login");
    assert_eq!(sim.stats().requests_total, 0);
}
