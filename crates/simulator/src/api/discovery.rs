//! Business Discovery: `GET /{ig-user-id}?fields=business_discovery.username(U){...}`, the
//! public profile and newest media of another professional account, current values only,
//! read with the calling account's token (Facebook Login only) and counted against its budget.
//!
//! The nested media edge pages with `media.limit(N)` and `media.after(cursor)`; a page
//! carries its cursors and a `next` link (the same request with the `after` modifier) while
//! older media remain. A personal account is not found, as an unknown username is; an
//! age-gated account is found but no data about it is returned (only its id).

use serde_json::{Map, Value, json};

use super::nodes::{check_fields, fields_to_string, render_media, render_user};
use super::{Ctx, Params, edges, ts};
use crate::competitors::{Competitor, CompetitorKind};
use crate::error::ApiError;
use crate::fields::Field;
use crate::numbers::post_counts;
use crate::world::MediaRef;

/// Fields Business Discovery returns about another professional account.
const DISCOVERY_USER_FIELDS: &[&str] = &[
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
    "media",
];
/// Fields of the media Business Discovery returns (`view_count` is served only here).
const DISCOVERY_MEDIA_FIELDS: &[&str] = &[
    "id",
    "caption",
    "comments_count",
    "like_count",
    "media_type",
    "media_product_type",
    "media_url",
    "permalink",
    "timestamp",
    "username",
    "view_count",
];
/// Cursor namespace of competitors' media (apart from our own accounts' indices).
const COMPETITOR_CURSOR_BASE: usize = 1 << 20;

fn id_only() -> Vec<Field> {
    vec![Field {
        name: "id".into(),
        modifiers: Vec::new(),
        children: None,
    }]
}

/// `business_discovery.username(x){...}`.
pub(crate) fn business_discovery(ctx: &Ctx<'_>, f: &Field) -> Result<Value, ApiError> {
    let Some(username) = f
        .modifier("username")
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        return Err(ApiError::param(
            "business_discovery requires a username: business_discovery.username(name){fields}",
        ));
    };
    ctx.endpoint
        .set("GET /{ig-user-id}?fields=business_discovery");
    let default = id_only();
    let fields = f.children.as_deref().unwrap_or(&default);
    check_fields(fields, &[DISCOVERY_USER_FIELDS], "IGUser")?;
    let w = &ctx.st.world;
    if let Some(a) = w.accounts.iter().find(|a| a.username == username) {
        return own_account(ctx, a.idx, f, fields);
    }
    let found = ctx
        .st
        .competitors
        .iter()
        .find(|c| c.username.eq_ignore_ascii_case(username));
    match found {
        Some(c) if matches!(c.kind, CompetitorKind::Business | CompetitorKind::Creator) => {
            competitor(ctx, c, f, fields)
        }
        // Age-gated: "Data about age-gated Instagram Business IG Users will not be returned."
        Some(c) if c.kind == CompetitorKind::Restricted => Ok(json!({ "id": c.ig_user_id })),
        _ => Err(ApiError::discovery_user_not_found(username)),
    }
}

/// One of the world's own accounts, discovered by another.
fn own_account(
    ctx: &Ctx<'_>,
    acct: usize,
    outer: &Field,
    fields: &[Field],
) -> Result<Value, ApiError> {
    let w = &ctx.st.world;
    let mut m = Map::new();
    for sub in fields {
        let v = if sub.name == "media" {
            let deleted = ctx.st.read().deleted.clone();
            let keys: Vec<u64> = (w.first_visible(acct, ctx.now)..w.accounts[acct].posts.len())
                .filter(|&idx| !deleted.contains(&MediaRef::Post { acct, idx }))
                .map(|idx| idx as u64)
                .collect();
            let media_fields = sub.children.clone().unwrap_or_else(id_only);
            check_fields(&media_fields, &[DISCOVERY_MEDIA_FIELDS], "IGMedia")?;
            page(ctx, outer, sub, acct, &keys, |key| {
                let idx = key as usize;
                let plain: Vec<Field> = media_fields
                    .iter()
                    .filter(|x| x.name != "view_count")
                    .cloned()
                    .collect();
                let mut v = render_media(ctx, MediaRef::Post { acct, idx }, Some(&plain))?;
                if media_fields.iter().any(|x| x.name == "view_count") {
                    let p = &w.accounts[acct].posts[idx];
                    let c = post_counts(&p.fin, p.ts, ctx.now);
                    if let Value::Object(map) = &mut v {
                        map.insert("view_count".into(), json!(c.views));
                    }
                }
                Ok(v)
            })?
        } else {
            let plain = Field {
                name: sub.name.clone(),
                modifiers: Vec::new(),
                children: None,
            };
            let rendered = render_user(ctx, acct, false, Some(std::slice::from_ref(&plain)))?;
            match rendered.get(&sub.name) {
                Some(v) => v.clone(),
                None => continue,
            }
        };
        m.insert(sub.name.clone(), v);
    }
    Ok(Value::Object(m))
}

/// A public account that is not ours.
fn competitor(
    ctx: &Ctx<'_>,
    c: &Competitor,
    outer: &Field,
    fields: &[Field],
) -> Result<Value, ApiError> {
    let now = ctx.now;
    let mut m = Map::new();
    for sub in fields {
        let v = match sub.name.as_str() {
            "id" => json!(c.ig_user_id),
            "ig_id" => json!(c.ig_user_id.trim_start_matches("1784")),
            "username" => json!(c.username),
            "name" => json!(c.name),
            "biography" => json!(format!("{} — posts about what we make.", c.name)),
            "website" => continue,
            "profile_picture_url" => json!(format!(
                "https://scontent.cdninstagram.com/v/t51.2885-19/{}_n.jpg?_nc_sim=1",
                c.ig_user_id
            )),
            "followers_count" => json!(c.followers_at(now)),
            "follows_count" => json!(c.follows_count),
            "media_count" => json!(c.media_count(now)),
            "media" => {
                let keys: Vec<u64> = (c.first_visible(now)..c.posts.len())
                    .map(|i| i as u64)
                    .collect();
                let media_fields = sub.children.clone().unwrap_or_else(id_only);
                check_fields(&media_fields, &[DISCOVERY_MEDIA_FIELDS], "IGMedia")?;
                page(
                    ctx,
                    outer,
                    sub,
                    COMPETITOR_CURSOR_BASE + c.idx,
                    &keys,
                    |key| Ok(competitor_media(c, key as usize, &media_fields, now)),
                )?
            }
            other => return Err(ApiError::nonexisting_field(other, "IGUser")),
        };
        m.insert(sub.name.clone(), v);
    }
    Ok(Value::Object(m))
}

fn competitor_media(c: &Competitor, idx: usize, fields: &[Field], now: i64) -> Value {
    let p = &c.posts[idx];
    let (likes, comments) = c.counts(p, now);
    let mut m = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(p.id),
            "comments_count" => json!(comments),
            "like_count" => json!(likes),
            "media_type" => json!(p.media_type),
            "media_product_type" => json!(p.product),
            "permalink" => json!(Competitor::permalink(p)),
            "timestamp" => ts(p.ts),
            "username" => json!(c.username),
            "view_count" if p.product == "REELS" => json!(likes * 12 + comments * 40),
            "media_url" if p.media_type != "VIDEO" => json!(format!(
                "https://scontent.cdninstagram.com/v/t51.29350-15/{}_n.jpg",
                p.id
            )),
            _ => continue,
        };
        m.insert(f.name.clone(), v);
    }
    Value::Object(m)
}

/// One page of the nested media edge over `keys` (newest first, ascending keys), with
/// `limit` and `after` read from the media field's modifiers.
fn page(
    ctx: &Ctx<'_>,
    outer: &Field,
    media: &Field,
    cursor_acct: usize,
    keys: &[u64],
    mut render: impl FnMut(u64) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let w = &ctx.st.world;
    let limit = match media.modifier("limit") {
        None => edges::DEFAULT_LIMIT,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n.min(edges::MAX_LIMIT),
            _ => {
                return Err(ApiError::param(format!(
                    "Param limit must be a positive integer, got '{raw}'"
                )));
            }
        },
    };
    let start = match media.modifier("after") {
        Some(raw) => {
            let after = edges::decode_cursor(w, cursor_acct, raw.trim(), "after")?;
            keys.partition_point(|k| *k <= after)
        }
        None => 0,
    };
    let end = (start + limit).min(keys.len());
    let mut data = Vec::with_capacity(end - start);
    for &k in &keys[start..end] {
        data.push(render(k)?);
    }
    let mut body = Map::new();
    body.insert("data".into(), Value::Array(data));
    if start < end {
        let before = edges::cursor(w, cursor_acct, keys[start]);
        let after = edges::cursor(w, cursor_acct, keys[end - 1]);
        let mut paging = Map::new();
        paging.insert(
            "cursors".into(),
            json!({ "before": before, "after": after }),
        );
        if end < keys.len() {
            paging.insert("next".into(), json!(next_link(ctx, outer, &after)));
        }
        body.insert("paging".into(), Value::Object(paging));
    }
    Ok(Value::Object(body))
}

/// The same Business Discovery request for the page after `after`.
fn next_link(ctx: &Ctx<'_>, outer: &Field, after: &str) -> String {
    let mut outer = outer.clone();
    if let Some(children) = outer.children.as_mut() {
        for c in children.iter_mut().filter(|c| c.name == "media") {
            c.modifiers.retain(|(m, _)| m != "after");
            c.modifiers.push(("after".into(), after.to_owned()));
        }
    }
    let own = &ctx.st.world.accounts[ctx.acct].ig_user_id;
    let mut params = Params::default();
    params.set("fields", fields_to_string(std::slice::from_ref(&outer)));
    params.set("access_token", ctx.token.clone());
    ctx.url(own, &params)
}
