//! From what the Graph client answered to the store's missing-value reasons: which refusal
//! means what, so a value Meta does not give is stored with its reason, never as 0.

use graph::{ItemError, ItemErrorKind};
use store::MissingReason;

/// The reason behind one object's error, or `None` for a passing failure (the object is
/// asked again on the next run and nothing is recorded).
pub(crate) fn reason_of_item(e: &ItemError) -> Option<MissingReason> {
    Some(match e.kind {
        ItemErrorKind::PostedBeforeBusinessConversion => MissingReason::BeforeConversion,
        ItemErrorKind::NotFound => MissingReason::Deleted,
        ItemErrorKind::NotEnoughViewers => MissingReason::NotEnoughViewers,
        ItemErrorKind::AlbumChild => MissingReason::AlbumChild,
        ItemErrorKind::StoryExpired => MissingReason::StoryExpired,
        ItemErrorKind::PermissionDenied => MissingReason::PermissionDenied,
        ItemErrorKind::Missing => return None,
        _ => MissingReason::Other,
    })
}

/// The reason for an account value requested and absent from a successful answer: below
/// Meta's 100-follower threshold when the account has fewer followers, else not produced
/// yet.
pub(crate) fn reason_of_absence(followers: Option<i64>) -> MissingReason {
    if followers.is_some_and(|f| f < 100) {
        MissingReason::BelowThreshold
    } else {
        MissingReason::NoDataYet
    }
}
