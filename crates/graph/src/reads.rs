//! Plain reads: profile, the media list (cursor pagination, carousel children by field
//! expansion, a stop condition for incremental syncs), stories and account discovery.

use crate::client::{GraphClient, Request};
use crate::config::LoginKind;
use crate::error::GraphError;
use crate::model::{DiscoveredAccount, MediaItem, MediaListing, Profile, Story};
use crate::parse;
use crate::token::{AccessToken, AccountRef};

/// Profile fields read.
const PROFILE_FIELDS: &str = "id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count";

/// Profile fields read with Instagram Login, whose user node also has the professional
/// account's id (`id` is app-scoped there) and whether it is a business or a creator account.
const PROFILE_FIELDS_IG_LOGIN: &str = "id,user_id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count,account_type";

/// Media fields read, carousel children included.
pub(crate) const MEDIA_FIELDS: &str = "id,caption,media_type,media_product_type,media_url,thumbnail_url,permalink,shortcode,timestamp,like_count,comments_count,children{id,media_type,media_url,thumbnail_url,permalink,timestamp}";

/// Story fields read.
const STORY_FIELDS: &str =
    "id,media_type,media_product_type,media_url,thumbnail_url,permalink,caption,timestamp";

/// Page size of the media list and stories (Meta's default is 25).
pub const PAGE_SIZE: u32 = 100;

/// Upper bound of pages read from one edge (the media edge returns at most 10,000 items).
const MAX_PAGES: u32 = 1_000;

pub(crate) fn check_id(id: &str) -> Result<(), GraphError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(GraphError::InvalidRequest(format!(
            "invalid Graph object id {id:?}"
        )));
    }
    Ok(())
}

impl GraphClient {
    /// The account's profile (current counters).
    #[tracing::instrument(skip_all)]
    pub async fn profile(&self, account: &AccountRef) -> Result<Profile, GraphError> {
        self.profile_with(account, PROFILE_FIELDS).await
    }

    /// The profile as read when an account is registered: with Instagram Login also the
    /// professional account's id (`user_id`) and its type (`account_type`).
    #[tracing::instrument(skip_all)]
    pub async fn registration_profile(&self, account: &AccountRef) -> Result<Profile, GraphError> {
        let fields = match self.login() {
            LoginKind::Instagram => PROFILE_FIELDS_IG_LOGIN,
            LoginKind::Facebook => PROFILE_FIELDS,
        };
        self.profile_with(account, fields).await
    }

    async fn profile_with(
        &self,
        account: &AccountRef,
        fields: &'static str,
    ) -> Result<Profile, GraphError> {
        check_id(&account.ig_user_id)?;
        let req = Request::get("profile", account.ig_user_id.clone())
            .for_account(account)
            .param("fields", fields);
        self.call(&req, parse::profile).await
    }

    /// Lists the account's media, newest first, 100 per page, with carousel children.
    ///
    /// `stop` is asked about every item in order; when it returns `true` (e.g. the item is
    /// already stored and its numbers have settled) listing stops before that item and the
    /// result says it is not complete. Pass `|_| false` for a full listing.
    #[tracing::instrument(skip_all)]
    pub async fn list_media(
        &self,
        account: &AccountRef,
        stop: impl FnMut(&MediaItem) -> bool,
    ) -> Result<MediaListing, GraphError> {
        self.list_media_with(account, Some(PAGE_SIZE), stop).await
    }

    pub(crate) async fn list_media_with(
        &self,
        account: &AccountRef,
        page_size: Option<u32>,
        mut stop: impl FnMut(&MediaItem) -> bool,
    ) -> Result<MediaListing, GraphError> {
        check_id(&account.ig_user_id)?;
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut req = Request::get("media", format!("{}/media", account.ig_user_id))
                .for_account(account)
                .param("fields", MEDIA_FIELDS);
            if let Some(limit) = page_size {
                req = req.param("limit", limit.to_string());
            }
            if let Some(cursor) = &after {
                req = req.param("after", cursor.clone());
            }
            let (page, next) = self.call(&req, parse::media_page).await?;
            pages += 1;
            for item in page {
                if stop(&item) {
                    return Ok(MediaListing {
                        items,
                        complete: false,
                        pages,
                    });
                }
                items.push(item);
            }
            match next {
                Some(cursor) if pages < MAX_PAGES && after.as_deref() != Some(cursor.as_str()) => {
                    after = Some(cursor);
                }
                Some(_) => {
                    return Err(GraphError::Malformed {
                        context: "media",
                        detail: "paging does not advance".to_owned(),
                    });
                }
                None => {
                    return Ok(MediaListing {
                        items,
                        complete: true,
                        pages,
                    });
                }
            }
        }
    }

    /// The account's live stories (stories disappear after 24 h).
    #[tracing::instrument(skip_all)]
    pub async fn stories(&self, account: &AccountRef) -> Result<Vec<Story>, GraphError> {
        check_id(&account.ig_user_id)?;
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut req = Request::get("stories", format!("{}/stories", account.ig_user_id))
                .for_account(account)
                .param("fields", STORY_FIELDS)
                .param("limit", PAGE_SIZE.to_string());
            if let Some(cursor) = &after {
                req = req.param("after", cursor.clone());
            }
            let (page, next) = self.call(&req, parse::story_page).await?;
            out.extend(page);
            match next {
                Some(cursor) if after.as_deref() != Some(cursor.as_str()) => after = Some(cursor),
                Some(_) => {
                    return Err(GraphError::Malformed {
                        context: "stories",
                        detail: "paging does not advance".to_owned(),
                    });
                }
                None => return Ok(out),
            }
        }
        Ok(out)
    }

    /// The professional accounts a token can read: the Pages' connected Instagram accounts
    /// (`/me/accounts`, Facebook Login) or the token's own account (`/me`, Instagram Login).
    #[tracing::instrument(skip_all)]
    pub async fn discover_accounts(
        &self,
        token: &AccessToken,
    ) -> Result<Vec<DiscoveredAccount>, GraphError> {
        match self.login() {
            LoginKind::Instagram => {
                let mut req = Request::get("accounts", "me").param("fields", "user_id,username");
                req.token = Some(token);
                Ok(vec![self.call(&req, parse::me).await?])
            }
            LoginKind::Facebook => {
                let mut out = Vec::new();
                let mut after: Option<String> = None;
                for _ in 0..MAX_PAGES {
                    let mut req = Request::get("accounts", "me/accounts")
                        .param("fields", "id,name,instagram_business_account{id,username}")
                        .param("limit", PAGE_SIZE.to_string());
                    req.token = Some(token);
                    if let Some(cursor) = &after {
                        req = req.param("after", cursor.clone());
                    }
                    let (page, next) = self.call(&req, parse::accounts_page).await?;
                    out.extend(page);
                    match next {
                        Some(cursor) if after.as_deref() != Some(cursor.as_str()) => {
                            after = Some(cursor)
                        }
                        _ => break,
                    }
                }
                Ok(out)
            }
        }
    }
}
