//! Business Discovery: another professional account's current public counters and newest
//! media, read through one of our accounts on Facebook Login (`GET /{own-ig-id}?fields=
//! business_discovery.username(U){…,media.limit(N){…}}`), the nested media paged with
//! `media.after(cursor)`. Every page is one call on the via account's budget and throttle.
//!
//! Meta's refusals become [`DiscoveryError`] variants with a stable [`DiscoveryError::reason`]:
//! a username no professional account has (unknown, personal or renamed: Meta answers all
//! three alike), an age-gated account (found, but no data returned), and a via account on
//! Instagram Login, refused before any request.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::client::{GraphClient, Request};
use crate::config::LoginKind;
use crate::error::{ErrorClass, GraphError};
use crate::model::{MediaProductType, MediaType};
use crate::parse::{count, json, malformed, object, string, time};
use crate::reads::check_id;
use crate::token::AccountRef;

/// Fields of the discovered account read.
const USER_FIELDS: &str = "id,username,name,followers_count,follows_count,media_count";
/// Fields of each discovered post read.
const MEDIA_FIELDS: &str =
    "id,timestamp,media_type,media_product_type,like_count,comments_count,permalink";
/// Largest page of nested media asked for.
pub const DISCOVERY_PAGE_SIZE: usize = 100;
/// Pages read at most for one account (a safety stop for paging that does not end).
const MAX_PAGES: usize = 100;

/// Another account's public profile and newest media, as Meta gave them at `read_at`.
#[derive(Clone, Debug, PartialEq)]
pub struct CompetitorProfile {
    /// Its Instagram user id.
    pub ig_user_id: String,
    /// Its username as Meta spells it.
    pub username: Option<String>,
    /// Profile name.
    pub name: Option<String>,
    /// Followers (absent when Meta did not give it).
    pub followers_count: Option<u64>,
    /// Accounts it follows.
    pub follows_count: Option<u64>,
    /// Published posts.
    pub media_count: Option<u64>,
    /// The newest posts read, newest first.
    pub media: Vec<CompetitorMedia>,
    /// Whether every post Meta lists was read (`false` when `max_media` stopped paging).
    pub media_complete: bool,
    /// Requests made.
    pub pages: usize,
}

/// One post of another account.
#[derive(Clone, Debug, PartialEq)]
pub struct CompetitorMedia {
    /// Media id.
    pub id: String,
    /// Publication time.
    pub timestamp: DateTime<Utc>,
    /// `media_type`.
    pub media_type: MediaType,
    /// `media_product_type` (absent: Meta did not say).
    pub media_product_type: Option<MediaProductType>,
    /// Likes (absent when the owner hides them).
    pub like_count: Option<u64>,
    /// Comments.
    pub comments_count: Option<u64>,
    /// Public link.
    pub permalink: Option<String>,
}

/// Why a Business Discovery read did not give an account's numbers.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The username is not a valid Instagram username (nothing was asked).
    #[error("invalid Instagram username {0:?}: 1 to 30 letters, digits, periods or underscores")]
    InvalidUsername(String),
    /// No professional account has this username.
    #[error(
        "no Instagram business or creator account has the username {0:?} (it does not exist, is a personal account, or was renamed)"
    )]
    NotFound(String),
    /// The account exists but Meta returns no data about it.
    #[error("Business Discovery returns no data about {0:?} (age-gated or restricted account)")]
    Restricted(String),
    /// The via account is on Instagram Login (nothing was asked).
    #[error(
        "the account reading competitors is connected with Instagram Login, which has no Business Discovery; connect it with Facebook Login"
    )]
    InstagramLogin,
    /// Any other failure of the call (rate limit, token, transient …).
    #[error(transparent)]
    Graph(#[from] GraphError),
}

impl DiscoveryError {
    /// A stable key for the reason, stored and shown beside the message.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidUsername(_) => "invalid_username",
            Self::NotFound(_) => "not_found",
            Self::Restricted(_) => "restricted",
            Self::InstagramLogin => "instagram_login",
            Self::Graph(e) => match e.class() {
                ErrorClass::RateLimited => "rate_limited",
                ErrorClass::Auth => "token_invalid",
                ErrorClass::Transient => "temporary",
                ErrorClass::UnsupportedMetric | ErrorClass::Permanent => "refused",
            },
        }
    }

    /// Worth asking again later (rate limits and temporary failures).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Graph(e) if e.is_retryable())
    }
}

/// Whether `u` is a valid Instagram username.
pub fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 30
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

impl GraphClient {
    /// Reads `username`'s public counters and up to `max_media` of its newest posts through
    /// `via` (one of our accounts on Facebook Login), paging the nested media.
    #[tracing::instrument(skip_all)]
    pub async fn business_discovery(
        &self,
        via: &AccountRef,
        username: &str,
        max_media: usize,
    ) -> Result<CompetitorProfile, DiscoveryError> {
        if self.login() == LoginKind::Instagram {
            return Err(DiscoveryError::InstagramLogin);
        }
        let username = username.trim().trim_start_matches('@');
        if !valid_username(username) {
            return Err(DiscoveryError::InvalidUsername(username.to_owned()));
        }
        check_id(&via.ig_user_id)?;
        let mut out: Option<CompetitorProfile> = None;
        let mut after: Option<String> = None;
        loop {
            let want = max_media
                .saturating_sub(out.as_ref().map_or(0, |p| p.media.len()))
                .clamp(1, DISCOVERY_PAGE_SIZE);
            let media = match &after {
                Some(c) => format!("media.after({c}).limit({want}){{{MEDIA_FIELDS}}}"),
                None => format!("media.limit({want}){{{MEDIA_FIELDS}}}"),
            };
            let fields =
                format!("business_discovery.username({username}){{{USER_FIELDS},{media}}}");
            let req = Request::get("business_discovery", via.ig_user_id.clone())
                .for_account(via)
                .param("fields", fields);
            let page = match self.call(&req, parse_page).await {
                Ok(p) => p,
                Err(e) => return Err(refusal(username, e)),
            };
            let Some(page) = page else {
                return Err(DiscoveryError::Restricted(username.to_owned()));
            };
            let next = page.next_after.clone();
            let p = out.get_or_insert_with(|| CompetitorProfile {
                media: Vec::new(),
                pages: 0,
                ..page.profile.clone()
            });
            p.pages += 1;
            p.media.extend(page.profile.media);
            if p.media.len() >= max_media {
                p.media.truncate(max_media);
                p.media_complete = next.is_none() && p.media.len() == max_media;
                break;
            }
            match next {
                Some(c) if p.pages < MAX_PAGES && after.as_deref() != Some(c.as_str()) => {
                    after = Some(c);
                }
                Some(_) => {
                    return Err(GraphError::Malformed {
                        context: "business_discovery",
                        detail: "paging does not advance".to_owned(),
                    }
                    .into());
                }
                None => {
                    p.media_complete = true;
                    break;
                }
            }
        }
        Ok(out.unwrap_or_else(|| unreachable_profile(username)))
    }
}

fn unreachable_profile(username: &str) -> CompetitorProfile {
    // The loop above always reads at least one page before it ends.
    CompetitorProfile {
        ig_user_id: String::new(),
        username: Some(username.to_owned()),
        name: None,
        followers_count: None,
        follows_count: None,
        media_count: None,
        media: Vec::new(),
        media_complete: false,
        pages: 0,
    }
}

/// Maps Meta's answers that mean "no such professional account" or "no Business Discovery
/// for this login" to their reasons.
fn refusal(username: &str, e: GraphError) -> DiscoveryError {
    let not_found = e.code() == Some(110) || e.subcode() == Some(2_207_013);
    if not_found {
        return DiscoveryError::NotFound(username.to_owned());
    }
    if let GraphError::Api(api) = &e
        && api.code == 100
        && api
            .message
            .contains("nonexisting field (business_discovery)")
    {
        return DiscoveryError::InstagramLogin;
    }
    DiscoveryError::Graph(e)
}

/// One page: the profile with this page's media, and the cursor of the next page.
struct DiscoveryPage {
    profile: CompetitorProfile,
    next_after: Option<String>,
}

/// Parses a Business Discovery answer; `None` when Meta found the account but returned no
/// data about it (only its id).
fn parse_page(body: &[u8]) -> Result<Option<DiscoveryPage>, GraphError> {
    const CTX: &str = "business_discovery";
    let v = json(body, CTX)?;
    let o = object(&v, CTX)?;
    let d = o
        .get("business_discovery")
        .ok_or_else(|| malformed(CTX, "missing business_discovery"))?;
    let d = object(d, CTX)?;
    let ig_user_id = string(d.get("id")).ok_or_else(|| malformed(CTX, "missing id"))?;
    let has_data = ["username", "followers_count", "media_count", "media"]
        .iter()
        .any(|k| d.contains_key(*k));
    if !has_data {
        return Ok(None);
    }
    let media_obj = d.get("media").and_then(Value::as_object);
    let media = match media_obj.and_then(|m| m.get("data")) {
        Some(Value::Array(items)) => items.iter().filter_map(media_item).collect(),
        Some(_) => return Err(malformed(CTX, "media.data is not an array")),
        None => Vec::new(),
    };
    let paging = media_obj
        .and_then(|m| m.get("paging"))
        .and_then(Value::as_object);
    let next_after = match paging.and_then(|p| p.get("next")) {
        None | Some(Value::Null) => None,
        Some(_) => Some(
            paging
                .and_then(|p| p.get("cursors"))
                .and_then(|c| c.get("after"))
                .and_then(Value::as_str)
                .filter(|c| {
                    !c.is_empty() && c.len() <= 512 && !c.contains(['{', '}', '(', ')', ','])
                })
                .map(str::to_owned)
                .ok_or_else(|| malformed(CTX, "media paging.next without a usable after cursor"))?,
        ),
    };
    Ok(Some(DiscoveryPage {
        profile: CompetitorProfile {
            ig_user_id,
            username: string(d.get("username")),
            name: string(d.get("name")),
            followers_count: count(d.get("followers_count")),
            follows_count: count(d.get("follows_count")),
            media_count: count(d.get("media_count")),
            media,
            media_complete: false,
            pages: 0,
        },
        next_after,
    }))
}

/// One discovered post; an item without an id or a readable timestamp is skipped.
fn media_item(v: &Value) -> Option<CompetitorMedia> {
    let o = v.as_object()?;
    Some(CompetitorMedia {
        id: string(o.get("id"))?,
        timestamp: time(o.get("timestamp"))?,
        media_type: MediaType::parse(&string(o.get("media_type")).unwrap_or_default()),
        media_product_type: string(o.get("media_product_type"))
            .map(|s| MediaProductType::parse(&s)),
        like_count: count(o.get("like_count")),
        comments_count: count(o.get("comments_count")),
        permalink: string(o.get("permalink")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked_before_they_reach_the_fields_syntax() {
        assert!(valid_username("peer_abc.def_1"));
        assert!(!valid_username(""));
        assert!(!valid_username("a){id}"));
        assert!(!valid_username(&"a".repeat(31)));
    }

    #[test]
    fn an_answer_with_only_the_id_is_restricted_and_bad_bodies_are_errors() {
        let gated = br#"{"business_discovery":{"id":"1784"},"id":"1"}"#;
        assert!(parse_page(gated).unwrap().is_none());
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"business_discovery":5}"#,
            b"not json",
            br#"{"business_discovery":{"id":"1","media":{"data":{}}}}"#,
            br#"{"business_discovery":{"id":"1","media":{"data":[],"paging":{"next":"x"}}}}"#,
        ] {
            assert!(parse_page(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let ok = br#"{"business_discovery":{"id":"1","followers_count":"12","media":{"data":[
            {"id":"a","timestamp":"2026-01-01T00:00:00+0000","like_count":3},
            {"id":"b"}, 7]}}}"#;
        let p = parse_page(ok).unwrap().unwrap();
        assert_eq!(p.profile.followers_count, Some(12));
        assert_eq!(p.profile.media_count, None);
        assert_eq!(p.profile.media.len(), 1);
        assert_eq!(p.profile.media[0].comments_count, None);
        assert!(p.next_after.is_none());
    }
}
