//! Edges: `/{ig-user-id}/media`, `/stories`, `/insights`, `/{ig-media-id}/children`,
//! `/insights`, `/me/accounts`, with cursor pagination (`limit` ≤ 100, default 25, opaque
//! `before`/`after` cursors, `next` absent on the last page).

use serde_json::{Map, Value, json};

use super::{Ctx, Params, Scope, insights, nodes};
use crate::error::ApiError;
use crate::fields::Field;
use crate::hash::{h, hs, mix};
use crate::state::Obj;
use crate::world::{MediaRef, PostKind, World};

/// Default page size.
pub(crate) const DEFAULT_LIMIT: usize = 25;
/// Largest page size; larger limits are capped.
pub(crate) const MAX_LIMIT: usize = 100;

/// Parameters of an edge expanded as a field: `media.limit(5){id,caption}`.
pub(crate) fn params_from_field(ctx: &Ctx<'_>, f: &Field) -> Params {
    let mut p = Params::default();
    p.set("access_token", ctx.token.clone());
    for (k, v) in &f.modifiers {
        p.set(k, v.clone());
    }
    if let Some(c) = &f.children {
        p.set("fields", nodes::fields_to_string(c));
    }
    p
}

/// Runs an edge of an object.
pub(crate) fn edge(
    ctx: &Ctx<'_>,
    obj: Obj,
    id: &str,
    edge: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    match (obj, edge) {
        (Obj::User { acct, .. }, "media") => list_media(ctx, acct, id, params),
        (Obj::User { acct, .. }, "stories") => list_stories(ctx, acct, id, params),
        (Obj::User { acct, .. }, "insights") => insights::user_insights(ctx, acct, id, params),
        (Obj::Media(m), "insights") => {
            insights::media_insights(ctx, m, id, params.get("metric"), params.get("breakdown"))
        }
        (Obj::Media(m), "children") => list_children(ctx, m, params),
        (Obj::FbUser(acct), "accounts") => list_accounts(ctx, acct, params),
        (Obj::LoginUser(u), "accounts") => list_user_pages(ctx, u, params),
        (Obj::FbUser(_) | Obj::LoginUser(_), "permissions") => Ok(permissions(ctx)),
        (obj, _) => Err(ApiError::nonexisting_field(
            edge,
            match obj {
                Obj::User { .. } => "IGUser",
                Obj::Media(_) => "IGMedia",
                Obj::Page(_) | Obj::BarePage(_) => "Page",
                Obj::FbUser(_) | Obj::LoginUser(_) => "User",
            },
        )),
    }
}

/// `/me/permissions`: every scope the token's user granted or declined.
fn permissions(ctx: &Ctx<'_>) -> Value {
    let mut data = vec![json!({ "permission": "public_profile", "status": "granted" })];
    match &ctx.grant {
        Some(g) => {
            data.extend(
                g.granted
                    .iter()
                    .filter(|s| *s != "public_profile")
                    .map(|s| json!({ "permission": s, "status": "granted" })),
            );
            data.extend(
                g.declined
                    .iter()
                    .map(|s| json!({ "permission": s, "status": "declined" })),
            );
        }
        None => data.extend(
            super::auth::seeded_scopes(ctx.login)
                .iter()
                .map(|s| json!({ "permission": s, "status": "granted" })),
        ),
    }
    json!({ "data": data })
}

/// `/me/accounts` of a login user: each Page with its token and Instagram account, the
/// Page without Instagram included. Without `pages_show_list` the list is empty.
fn list_user_pages(ctx: &Ctx<'_>, u: usize, params: &Params) -> Result<Value, ApiError> {
    let fields = nodes::parse_fields(params.get("fields"))?;
    if ctx.require(Scope::Pages).is_err() {
        return Ok(json!({ "data": [] }));
    }
    let user = &ctx.st.logins.facebook[u];
    let mut data = Vec::new();
    for &acct in &user.accounts {
        data.push(match fields.as_deref() {
            None => nodes::page_summary(ctx, acct),
            Some(f) => nodes::render(ctx, Obj::Page(acct), Some(f))?,
        });
    }
    if user.bare_page.is_some() {
        data.push(match fields.as_deref() {
            None => nodes::bare_page_summary(ctx, u).unwrap_or(Value::Null),
            Some(f) => nodes::render_bare_page(ctx, u, Some(f))?,
        });
    }
    let w = &ctx.st.world;
    let anchor = user.accounts.first().copied().unwrap_or(0);
    Ok(json!({
        "data": data,
        "paging": { "cursors": { "before": cursor(w, anchor, 0), "after": cursor(w, anchor, 0) } },
    }))
}

fn parse_limit(params: &Params) -> Result<usize, ApiError> {
    match params.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok((n as usize).min(MAX_LIMIT)),
            _ => Err(ApiError::param(format!(
                "Param limit must be a positive integer, got '{raw}'"
            ))),
        },
    }
}

fn parse_time(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|raw| super::insights::parse_time_param(name, raw))
        .transpose()
}

/// Cursors encode a position key, checked against the seed so a tampered cursor is caught.
pub(crate) fn cursor(world: &World, acct: usize, key: u64) -> String {
    let check = h(&[world.seed, hs("cursor"), acct as u64, key]);
    let mask = (u128::from(mix(world.seed ^ 0xC0FF_EE00)) << 64) | u128::from(mix(world.seed));
    format!(
        "QVFI{:032x}",
        ((u128::from(key) << 64) | u128::from(check)) ^ mask
    )
}

pub(crate) fn decode_cursor(
    world: &World,
    acct: usize,
    raw: &str,
    which: &str,
) -> Result<u64, ApiError> {
    let bad = || ApiError::param(format!("The {which} cursor is not valid for this edge"));
    let hex = raw.strip_prefix("QVFI").ok_or_else(bad)?;
    if hex.len() != 32 {
        return Err(bad());
    }
    let x = u128::from_str_radix(hex, 16).map_err(|_| bad())?;
    let mask = (u128::from(mix(world.seed ^ 0xC0FF_EE00)) << 64) | u128::from(mix(world.seed));
    let x = x ^ mask;
    let key = (x >> 64) as u64;
    if (x as u64) != h(&[world.seed, hs("cursor"), acct as u64, key]) {
        return Err(bad());
    }
    Ok(key)
}

/// One page of keys out of an ascending list of `(key, item)` candidates.
struct Page<T> {
    items: Vec<(u64, T)>,
    has_prev: bool,
    has_next: bool,
}

fn paginate<T: Clone>(
    all: &[(u64, T)],
    limit: usize,
    after: Option<u64>,
    before: Option<u64>,
) -> Page<T> {
    if let Some(b) = before {
        let end = all.partition_point(|(k, _)| *k < b);
        let start = end.saturating_sub(limit);
        return Page {
            items: all[start..end].to_vec(),
            has_prev: start > 0,
            has_next: end < all.len(),
        };
    }
    let start = match after {
        Some(a) => all.partition_point(|(k, _)| *k <= a),
        None => 0,
    };
    let end = (start + limit).min(all.len());
    Page {
        items: all[start..end].to_vec(),
        has_prev: start > 0,
        has_next: end < all.len(),
    }
}

/// A rendered page and where it sits in the edge.
struct PageOut {
    data: Vec<Value>,
    first: Option<u64>,
    last: Option<u64>,
    has_prev: bool,
    has_next: bool,
}

impl PageOut {
    fn new<T>(data: Vec<Value>, page: &Page<T>) -> PageOut {
        PageOut {
            data,
            first: page.items.first().map(|x| x.0),
            last: page.items.last().map(|x| x.0),
            has_prev: page.has_prev,
            has_next: page.has_next,
        }
    }
}

fn paged_body(ctx: &Ctx<'_>, acct: usize, out: PageOut, path: &str, params: &Params) -> Value {
    let PageOut {
        data,
        first,
        last,
        has_prev,
        has_next,
    } = out;
    let mut body = Map::new();
    body.insert("data".into(), Value::Array(data));
    let (Some(first), Some(last)) = (first, last) else {
        return Value::Object(body);
    };
    let w = &ctx.st.world;
    let before = cursor(w, acct, first);
    let after = cursor(w, acct, last);
    let mut paging = Map::new();
    paging.insert(
        "cursors".into(),
        json!({ "before": before, "after": after }),
    );
    let mut link = params.clone();
    link.remove("before");
    link.remove("after");
    if has_next {
        let mut p = link.clone();
        p.set("after", after.clone());
        paging.insert("next".into(), Value::from(ctx.url(path, &p)));
    }
    if has_prev {
        let mut p = link;
        p.set("before", before);
        paging.insert("previous".into(), Value::from(ctx.url(path, &p)));
    }
    body.insert("paging".into(), Value::Object(paging));
    Value::Object(body)
}

fn cursors(
    ctx: &Ctx<'_>,
    acct: usize,
    params: &Params,
) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let w = &ctx.st.world;
    let after = params
        .get("after")
        .map(|c| decode_cursor(w, acct, c, "after"))
        .transpose()?;
    let before = params
        .get("before")
        .map(|c| decode_cursor(w, acct, c, "before"))
        .transpose()?;
    Ok((after, before))
}

fn has_insights(fields: Option<&[Field]>) -> bool {
    fields.is_some_and(|f| f.iter().any(|x| x.name == "insights"))
}

/// `/{ig-user-id}/media`: published posts, newest first (stories excluded).
fn list_media(ctx: &Ctx<'_>, acct: usize, id: &str, params: &Params) -> Result<Value, ApiError> {
    let w = &ctx.st.world;
    let limit = parse_limit(params)?;
    let fields = nodes::parse_fields(params.get("fields"))?;
    let (after, before) = cursors(ctx, acct, params)?;
    let since = parse_time(params, "since")?;
    let until = parse_time(params, "until")?;
    let posts = &w.accounts[acct].posts;
    let mut lo = w.first_visible(acct, ctx.now);
    if let Some(u) = until {
        lo = lo.max(posts.partition_point(|p| p.ts > u));
    }
    let hi = match since {
        Some(s) => posts.partition_point(|p| p.ts >= s),
        None => posts.len(),
    };
    let deleted = ctx.st.read().deleted.clone();
    let keys: Vec<(u64, ())> = (lo..hi.max(lo))
        .filter(|&i| !deleted.contains(&MediaRef::Post { acct, idx: i }))
        .map(|i| (i as u64, ()))
        .collect();
    let page = paginate(&keys, limit, after, before);
    let mut data = Vec::with_capacity(page.items.len());
    for (k, ()) in &page.items {
        let m = MediaRef::Post {
            acct,
            idx: *k as usize,
        };
        data.push(nodes::render_media(ctx, m, fields.as_deref())?);
    }
    if has_insights(fields.as_deref()) {
        // Expanded insights cost one call per object.
        ctx.extra_units
            .set(ctx.extra_units.get() + data.len() as u64);
    }
    let out = PageOut::new(data, &page);
    Ok(paged_body(ctx, acct, out, &format!("{id}/media"), params))
}

/// `/{ig-user-id}/stories`: stories published in the last 24 h, newest first.
fn list_stories(ctx: &Ctx<'_>, acct: usize, id: &str, params: &Params) -> Result<Value, ApiError> {
    let w = &ctx.st.world;
    let limit = parse_limit(params)?;
    let fields = nodes::parse_fields(params.get("fields"))?;
    let (after, before) = cursors(ctx, acct, params)?;
    let deleted = ctx.st.read().deleted.clone();
    let keys: Vec<(u64, MediaRef)> = w
        .live_stories(acct, ctx.now)
        .into_iter()
        .map(|s| MediaRef::Story {
            acct,
            slot: s.slot,
            n: s.n,
        })
        .filter(|m| !deleted.contains(m))
        .map(|m| {
            let MediaRef::Story { slot, n, .. } = m else {
                unreachable!("stories only")
            };
            // Newest first: a larger slot/number must sort first.
            let key = ((1i64 << 40) - (slot * 16 + i64::from(n))) as u64;
            (key, m)
        })
        .collect();
    let page = paginate(&keys, limit, after, before);
    let mut data = Vec::with_capacity(page.items.len());
    for (_, m) in &page.items {
        data.push(nodes::render_media(ctx, *m, fields.as_deref())?);
    }
    if has_insights(fields.as_deref()) {
        ctx.extra_units
            .set(ctx.extra_units.get() + data.len() as u64);
    }
    let out = PageOut::new(data, &page);
    Ok(paged_body(ctx, acct, out, &format!("{id}/stories"), params))
}

/// `/{ig-media-id}/children`: an album's items.
fn list_children(ctx: &Ctx<'_>, m: MediaRef, params: &Params) -> Result<Value, ApiError> {
    let fields = nodes::parse_fields(params.get("fields"))?;
    let MediaRef::Post { acct, idx } = m else {
        return Ok(json!({ "data": [] }));
    };
    let p = &ctx.st.world.accounts[acct].posts[idx];
    if p.kind != PostKind::Carousel {
        return Ok(json!({ "data": [] }));
    }
    let data = (0..p.children)
        .map(|c| {
            nodes::render_media(
                ctx,
                MediaRef::Child {
                    acct,
                    post: idx,
                    child: c,
                },
                fields.as_deref(),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "data": data }))
}

/// `/me/accounts`: the Facebook user's pages with their Instagram business account.
fn list_accounts(ctx: &Ctx<'_>, acct: usize, params: &Params) -> Result<Value, ApiError> {
    let fields = nodes::parse_fields(params.get("fields"))?;
    let page = match fields {
        None => nodes::page_summary(ctx, acct),
        Some(f) => nodes::render(ctx, Obj::Page(acct), Some(&f))?,
    };
    let w = &ctx.st.world;
    Ok(json!({
        "data": [page],
        "paging": { "cursors": { "before": cursor(w, acct, 0), "after": cursor(w, acct, 0) } },
    }))
}
