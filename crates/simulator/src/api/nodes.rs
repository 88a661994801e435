//! Nodes: IG users, IG media (posts, album children, stories), Facebook Pages and Facebook
//! users, rendered with the requested fields and field expansion.

use serde_json::{Map, Value, json};

use super::{Ctx, edges, insights, ts};
use crate::error::ApiError;
use crate::fields::{self, Field};
use crate::hash::{h, hs, unit};
use crate::numbers::{post_counts, story_counts};
use crate::state::Obj;
use crate::world::{LoginKind, MediaRef, PostKind};

/// Parses an optional `fields` parameter.
pub(crate) fn parse_fields(raw: Option<&str>) -> Result<Option<Vec<Field>>, ApiError> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => fields::parse(s).map(Some),
    }
}

/// Renders a node the token may read.
pub(crate) fn render(ctx: &Ctx<'_>, obj: Obj, fields: Option<&[Field]>) -> Result<Value, ApiError> {
    match obj {
        Obj::User { acct, app_scoped } => render_user(ctx, acct, app_scoped, fields),
        Obj::Page(acct) => render_page(ctx, acct, fields),
        Obj::FbUser(acct) => render_fb_user(ctx, acct, fields),
        Obj::Media(m) => render_media(ctx, m, fields),
        Obj::LoginUser(u) => render_login_user(ctx, u, fields),
        Obj::BarePage(u) => render_bare_page(ctx, u, fields),
    }
}

const USER_FIELDS: &[&str] = &[
    "id",
    "ig_id",
    "username",
    "name",
    "biography",
    "website",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
    "has_profile_pic",
    "is_published",
    "media",
    "stories",
    "insights",
];
const IG_LOGIN_USER_FIELDS: &[&str] = &["user_id", "account_type"];

pub(crate) fn check_fields(
    fields: &[Field],
    allowed: &[&[&str]],
    node_type: &str,
) -> Result<(), ApiError> {
    for f in fields {
        if !allowed.iter().any(|list| list.contains(&f.name.as_str())) {
            return Err(ApiError::nonexisting_field(&f.name, node_type));
        }
    }
    Ok(())
}

pub(crate) fn render_user(
    ctx: &Ctx<'_>,
    acct: usize,
    app_scoped: bool,
    fields: Option<&[Field]>,
) -> Result<Value, ApiError> {
    let a = &ctx.st.world.accounts[acct];
    let id = if app_scoped {
        &a.app_scoped_id
    } else {
        &a.ig_user_id
    };
    let Some(fields) = fields else {
        return Ok(json!({ "id": id }));
    };
    let extra: &[&str] = if a.login == LoginKind::Instagram {
        IG_LOGIN_USER_FIELDS
    } else {
        &[]
    };
    // Business Discovery needs Facebook Login; with Instagram Login the field does not
    // exist on the node.
    let discovery: &[&str] = if ctx.login == LoginKind::Facebook {
        &["business_discovery"]
    } else {
        &[]
    };
    check_fields(fields, &[USER_FIELDS, extra, discovery], "IGUser")?;
    let mut m = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(id),
            "ig_id" => json!(1_000_000_000 + h(&[a.key, hs("ig_id")]) % 8_000_000_000),
            "username" => json!(a.username),
            "name" => json!(a.name),
            "biography" => json!(a.biography),
            "website" => match &a.website {
                Some(w) => json!(w),
                None => continue,
            },
            "profile_picture_url" => json!(format!(
                "https://scontent.cdninstagram.com/v/t51.2885-19/{}_n.jpg?_nc_sim=1",
                a.ig_user_id
            )),
            "followers_count" => json!(ctx.st.world.followers_at(acct, ctx.now)),
            "follows_count" => json!(a.follows_count),
            "media_count" => {
                let deleted = ctx.st.read().deleted.clone();
                json!(ctx.st.visible_media_count(acct, ctx.now, &deleted))
            }
            "has_profile_pic" => json!(true),
            "is_published" => json!(true),
            "user_id" => json!(a.ig_user_id),
            "account_type" => json!(a.account_type.as_str()),
            "media" | "stories" | "insights" => {
                let params = edges::params_from_field(ctx, f);
                edges::edge(ctx, Obj::User { acct, app_scoped }, id, &f.name, &params)?
            }
            "business_discovery" => super::discovery::business_discovery(ctx, f)?,
            _ => return Err(ApiError::nonexisting_field(&f.name, "IGUser")),
        };
        m.insert(f.name.clone(), v);
    }
    Ok(Value::Object(m))
}

const PAGE_FIELDS: &[&str] = &[
    "id",
    "name",
    "category",
    "access_token",
    "instagram_business_account",
    "tasks",
];

fn render_page(ctx: &Ctx<'_>, acct: usize, fields: Option<&[Field]>) -> Result<Value, ApiError> {
    let a = &ctx.st.world.accounts[acct];
    let Some(fields) = fields else {
        return Ok(json!({ "id": a.page_id, "name": a.page_name }));
    };
    check_fields(fields, &[PAGE_FIELDS], "Page")?;
    let mut m = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(a.page_id),
            "name" => json!(a.page_name),
            "category" => json!(category(a.account_type)),
            "access_token" => json!(ctx.st.page_token(acct).unwrap_or_default()),
            "tasks" => json!([
                "ANALYZE",
                "ADVERTISE",
                "MODERATE",
                "CREATE_CONTENT",
                "MANAGE"
            ]),
            "instagram_business_account" => {
                let sub = f.children.as_deref();
                render_user(
                    ctx,
                    acct,
                    false,
                    Some(sub.unwrap_or(&[Field {
                        name: "id".into(),
                        modifiers: Vec::new(),
                        children: None,
                    }])),
                )?
            }
            _ => return Err(ApiError::nonexisting_field(&f.name, "Page")),
        };
        m.insert(f.name.clone(), v);
    }
    Ok(Value::Object(m))
}

fn category(t: crate::world::AccountType) -> &'static str {
    match t {
        crate::world::AccountType::Business => "Local business",
        crate::world::AccountType::MediaCreator => "Digital creator",
    }
}

/// The default fields `/me/accounts` returns for each page.
pub(crate) fn page_summary(ctx: &Ctx<'_>, acct: usize) -> Value {
    let a = &ctx.st.world.accounts[acct];
    json!({
        "id": a.page_id,
        "name": a.page_name,
        "category": category(a.account_type),
        "access_token": ctx.st.page_token(acct).unwrap_or_default(),
        "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
    })
}

const FB_USER_FIELDS: &[&str] = &["id", "name", "accounts"];

fn render_login_user(ctx: &Ctx<'_>, u: usize, fields: Option<&[Field]>) -> Result<Value, ApiError> {
    let user = &ctx.st.logins.facebook[u];
    let Some(fields) = fields else {
        return Ok(json!({ "id": user.id, "name": user.name }));
    };
    check_fields(fields, &[FB_USER_FIELDS, &["permissions"]], "User")?;
    let mut m = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(user.id),
            "name" => json!(user.name),
            "accounts" | "permissions" => {
                let params = edges::params_from_field(ctx, f);
                edges::edge(ctx, Obj::LoginUser(u), &user.id, &f.name, &params)?
            }
            _ => return Err(ApiError::nonexisting_field(&f.name, "User")),
        };
        m.insert(f.name.clone(), v);
    }
    Ok(Value::Object(m))
}

const BARE_PAGE_FIELDS: &[&str] = &[
    "id",
    "name",
    "category",
    "access_token",
    "instagram_business_account",
    "tasks",
];

/// A Page without an Instagram account: `instagram_business_account` is absent.
pub(crate) fn render_bare_page(
    ctx: &Ctx<'_>,
    u: usize,
    fields: Option<&[Field]>,
) -> Result<Value, ApiError> {
    let Some(p) = ctx.st.logins.facebook[u].bare_page.as_ref() else {
        return Err(ApiError::no_object("get", "page"));
    };
    let Some(fields) = fields else {
        return Ok(json!({ "id": p.id, "name": p.name }));
    };
    check_fields(fields, &[BARE_PAGE_FIELDS], "Page")?;
    let mut m = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(p.id),
            "name" => json!(p.name),
            "category" => json!("Personal blog"),
            "access_token" => json!(p.token),
            "tasks" => json!([
                "ANALYZE",
                "ADVERTISE",
                "MODERATE",
                "CREATE_CONTENT",
                "MANAGE"
            ]),
            _ => continue,
        };
        m.insert(f.name.clone(), v);
    }
    Ok(Value::Object(m))
}

/// The default fields `/me/accounts` returns for a Page without Instagram.
pub(crate) fn bare_page_summary(ctx: &Ctx<'_>, u: usize) -> Option<Value> {
    let p = ctx.st.logins.facebook[u].bare_page.as_ref()?;
    Some(json!({
        "id": p.id,
        "name": p.name,
        "category": "Personal blog",
        "access_token": p.token,
        "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
    }))
}

fn render_fb_user(ctx: &Ctx<'_>, acct: usize, fields: Option<&[Field]>) -> Result<Value, ApiError> {
    let a = &ctx.st.world.accounts[acct];
    let Some(fields) = fields else {
        return Ok(json!({ "id": a.fb_user_id, "name": a.name }));
    };
    check_fields(fields, &[FB_USER_FIELDS], "User")?;
    let mut m = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(a.fb_user_id),
            "name" => json!(a.name),
            "accounts" => {
                let params = edges::params_from_field(ctx, f);
                edges::edge(ctx, Obj::FbUser(acct), &a.fb_user_id, "accounts", &params)?
            }
            _ => return Err(ApiError::nonexisting_field(&f.name, "User")),
        };
        m.insert(f.name.clone(), v);
    }
    Ok(Value::Object(m))
}

const MEDIA_FIELDS: &[&str] = &[
    "id",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "thumbnail_url",
    "permalink",
    "shortcode",
    "timestamp",
    "username",
    "like_count",
    "comments_count",
    "is_comment_enabled",
    "is_shared_to_feed",
    "owner",
    "children",
    "insights",
    "alt_text",
    "media_audio_type",
    "view_count",
];
/// Media count fields added 22 Apr 2026, Facebook Login only.
const FB_COUNT_FIELDS: &[&str] = &[
    "saved_count",
    "shares_count",
    "reposts_count",
    "total_like_count",
    "total_comments_count",
    "total_views_count",
];

fn fb_count_fields_available(ctx: &Ctx<'_>) -> bool {
    ctx.login == LoginKind::Facebook && ctx.now >= crate::catalog::apr_2026_ts()
}

fn default_id_field() -> Vec<Field> {
    vec![Field {
        name: "id".into(),
        modifiers: Vec::new(),
        children: None,
    }]
}

/// Renders a post, album child or story.
pub(crate) fn render_media(
    ctx: &Ctx<'_>,
    m: MediaRef,
    fields: Option<&[Field]>,
) -> Result<Value, ApiError> {
    let st = ctx.st;
    let w = &st.world;
    let id = match m {
        MediaRef::Post { acct, idx } => w.post_id(acct, idx),
        MediaRef::Child { acct, post, child } => w.child_id(acct, post, child),
        MediaRef::Story { acct, slot, n } => w.story_id(acct, slot, n),
    };
    let Some(fields) = fields else {
        return Ok(json!({ "id": id }));
    };
    let fb_fields: &[&str] = if fb_count_fields_available(ctx) {
        FB_COUNT_FIELDS
    } else {
        &[]
    };
    check_fields(fields, &[MEDIA_FIELDS, fb_fields], "IGMedia")?;
    if fields.iter().any(|f| f.name == "view_count") {
        return Err(ApiError::view_count());
    }
    let acct = match m {
        MediaRef::Post { acct, .. }
        | MediaRef::Child { acct, .. }
        | MediaRef::Story { acct, .. } => acct,
    };
    let a = &w.accounts[acct];
    // What the media is, for every field below.
    let (media_type, product, ts_, post, story) = match m {
        MediaRef::Post { idx, .. } => {
            let p = &a.posts[idx];
            (
                p.kind.media_type(),
                p.kind.surface().as_str(),
                p.ts,
                Some((idx, p)),
                None,
            )
        }
        MediaRef::Child { post, child, .. } => {
            let p = &a.posts[post];
            let t = if p.child_videos & (1 << child) != 0 {
                "VIDEO"
            } else {
                "IMAGE"
            };
            (t, "FEED", p.ts, None, None)
        }
        MediaRef::Story { slot, n, .. } => {
            let s = w
                .story(acct, slot, n)
                .ok_or_else(|| ApiError::no_object("get", &id))?;
            let t = if s.video { "VIDEO" } else { "IMAGE" };
            (t, "STORY", s.ts, None, Some(s))
        }
    };
    let shortcode = w.shortcode(&id);
    let is_video = media_type == "VIDEO";
    let counts = post.map(|(_, p)| post_counts(&p.fin, p.ts, ctx.now));
    let mut out = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(id),
            "caption" => match m {
                MediaRef::Post { idx, .. } => match w.caption(acct, idx) {
                    Some(c) => json!(c),
                    None => continue,
                },
                _ => continue,
            },
            "media_type" => json!(media_type),
            "media_product_type" => json!(product),
            "media_url" => {
                let ext = if is_video { "mp4" } else { "jpg" };
                json!(format!(
                    "https://scontent.cdninstagram.com/v/t51.29350-15/{id}_n.{ext}?_nc_sim={}",
                    w.seed % 1000
                ))
            }
            "thumbnail_url" if is_video => json!(format!(
                "https://scontent.cdninstagram.com/v/t51.29350-15/{id}_thumb.jpg?_nc_sim={}",
                w.seed % 1000
            )),
            "thumbnail_url" => continue,
            "permalink" => json!(match m {
                MediaRef::Post { idx, .. } => permalink(a.posts[idx].kind, &shortcode),
                MediaRef::Child { post, child, .. } => format!(
                    "{}?img_index={}",
                    permalink(a.posts[post].kind, &w.shortcode(&w.post_id(acct, post))),
                    child + 1
                ),
                MediaRef::Story { .. } =>
                    format!("https://www.instagram.com/stories/{}/{id}/", a.username),
            }),
            "shortcode" => json!(shortcode),
            "timestamp" => ts(ts_),
            "username" => json!(a.username),
            "like_count" => match counts {
                Some(c) => json!(c.likes),
                None => continue,
            },
            "comments_count" => match counts {
                Some(c) => json!(c.comments),
                None => continue,
            },
            "is_comment_enabled" => match post {
                Some((idx, _)) => json!(unit(h(&[a.key, hs("comments-on"), idx as u64])) > 0.05),
                None => continue,
            },
            "is_shared_to_feed" => match post {
                Some((idx, p)) if p.kind == PostKind::Reel => {
                    json!(unit(h(&[a.key, hs("shared-to-feed"), idx as u64])) < 0.8)
                }
                _ => continue,
            },
            "owner" => json!({ "id": a.ig_user_id }),
            "alt_text" | "media_audio_type" => continue,
            "children" => match post {
                Some((idx, p)) if p.kind == PostKind::Carousel => {
                    let sub = f.children.clone().unwrap_or_else(default_id_field);
                    let data = (0..p.children)
                        .map(|c| {
                            render_media(
                                ctx,
                                MediaRef::Child {
                                    acct,
                                    post: idx,
                                    child: c,
                                },
                                Some(&sub),
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    json!({ "data": data })
                }
                _ => continue,
            },
            "insights" => insights::media_insights(
                ctx,
                m,
                &id,
                f.modifier("metric"),
                f.modifier("breakdown"),
            )?,
            name => match (post, &story) {
                (Some((idx, _)), _) => {
                    let c = counts.unwrap_or_default();
                    let boost = insights::boost(a.key, idx);
                    match name {
                        "saved_count" => json!(c.saved),
                        "shares_count" => json!(c.shares),
                        "reposts_count" => json!(c.reposts),
                        "total_like_count" => json!(insights::boosted(c.likes, boost)),
                        "total_comments_count" => json!(insights::boosted(c.comments, boost)),
                        "total_views_count" => {
                            json!(insights::boosted(c.views, boost) + u64::from(c.fb_views))
                        }
                        _ => continue,
                    }
                }
                (None, Some(s)) if name == "total_views_count" => {
                    let c = story_counts(s, ctx.now);
                    json!(u64::from(c.views) + u64::from(c.fb_views))
                }
                _ => continue,
            },
        };
        out.insert(f.name.clone(), v);
    }
    Ok(Value::Object(out))
}

fn permalink(kind: PostKind, shortcode: &str) -> String {
    match kind {
        PostKind::Reel => format!("https://www.instagram.com/reel/{shortcode}/"),
        _ => format!("https://www.instagram.com/p/{shortcode}/"),
    }
}

/// Serializes fields back to the `fields` syntax (for paging links of expanded edges).
pub(crate) fn fields_to_string(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| {
            let mut s = f.name.clone();
            for (m, arg) in &f.modifiers {
                s.push_str(&format!(".{m}({arg})"));
            }
            if let Some(c) = &f.children {
                s.push('{');
                s.push_str(&fields_to_string(c));
                s.push('}');
            }
            s
        })
        .collect::<Vec<_>>()
        .join(",")
}
