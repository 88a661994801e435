//! Parsers of every Graph API response shape the client reads. Each takes the raw body and
//! returns typed data or [`GraphError::Malformed`]; none may panic, whatever the bytes (a
//! property test feeds them arbitrary and mutated input). Numbers are read leniently (Meta
//! sometimes sends them as strings).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde_json::{Map, Value};

use crate::error::{ApiError, GraphError};
use crate::model::{
    Breakdown, DiscoveredAccount, InsightValue, MediaChild, MediaItem, MediaProductType, MediaType,
    OnlineFollowers, Profile, Story, TokenDebug,
};

pub(crate) fn malformed(context: &'static str, detail: impl Into<String>) -> GraphError {
    GraphError::Malformed {
        context,
        detail: detail.into(),
    }
}

/// Parses a JSON body.
pub(crate) fn json(body: &[u8], context: &'static str) -> Result<Value, GraphError> {
    serde_json::from_slice(body).map_err(|e| malformed(context, format!("invalid JSON: {e}")))
}

pub(crate) fn object<'a>(
    v: &'a Value,
    context: &'static str,
) -> Result<&'a Map<String, Value>, GraphError> {
    v.as_object()
        .ok_or_else(|| malformed(context, "expected a JSON object"))
}

/// A number, or a string holding one.
pub(crate) fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

pub(crate) fn count(v: Option<&Value>) -> Option<u64> {
    v.and_then(num)
        .filter(|f| *f >= 0.0 && *f <= 9.0e15)
        .map(|f| f as u64)
}

pub(crate) fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Meta's timestamps: `2019-04-05T07:56:32+0000`, RFC 3339, or Unix seconds.
pub(crate) fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::String(s) => {
            let s = s.trim();
            DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
                .or_else(|_| DateTime::parse_from_rfc3339(s))
                .ok()
                .map(|d| d.with_timezone(&Utc))
        }
        Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        _ => None,
    }
}

/// The error object of a failed response, if the body is one.
pub(crate) fn api_error(status: u16, body: &[u8]) -> Option<ApiError> {
    let v: Value = serde_json::from_slice(body).ok()?;
    api_error_value(status, &v)
}

pub(crate) fn api_error_value(status: u16, v: &Value) -> Option<ApiError> {
    // api.instagram.com (Instagram Login's code exchange) answers
    // `{"error_type":"OAuthException","code":400,"error_message":"…"}`.
    if let Some(message) = v.get("error_message").and_then(Value::as_str) {
        return Some(ApiError {
            http_status: status,
            code: v.get("code").and_then(num).map_or(0, |f| f as i64),
            subcode: None,
            error_type: string(v.get("error_type")),
            message: message.to_owned(),
            is_transient: false,
            user_title: None,
            fbtrace_id: None,
        });
    }
    let e = v.get("error")?.as_object()?;
    let code = e.get("code").and_then(num).map_or(0, |f| f as i64);
    Some(ApiError {
        http_status: status,
        code,
        subcode: e.get("error_subcode").and_then(num).map(|f| f as i64),
        error_type: string(e.get("type")),
        message: string(e.get("message")).unwrap_or_default(),
        is_transient: matches!(e.get("is_transient"), Some(Value::Bool(true))),
        user_title: string(e.get("error_user_title")),
        fbtrace_id: string(e.get("fbtrace_id")),
    })
}

/// Profile (`GET /{ig-user-id}?fields=…`).
pub(crate) fn profile(body: &[u8]) -> Result<Profile, GraphError> {
    const CTX: &str = "profile";
    let v = json(body, CTX)?;
    let o = object(&v, CTX)?;
    // Instagram Login's `id` is app-scoped; `user_id` is the professional account's id.
    let id = string(o.get("user_id"))
        .or_else(|| string(o.get("id")))
        .ok_or_else(|| malformed(CTX, "missing id"))?;
    Ok(Profile {
        id,
        username: string(o.get("username")),
        name: string(o.get("name")),
        biography: string(o.get("biography")),
        website: string(o.get("website")),
        profile_picture_url: string(o.get("profile_picture_url")),
        followers_count: count(o.get("followers_count")),
        follows_count: count(o.get("follows_count")),
        media_count: count(o.get("media_count")),
        account_type: string(o.get("account_type")),
    })
}

/// A page of a cursor-paginated edge.
pub(crate) struct Page {
    pub(crate) data: Vec<Value>,
    /// The cursor of the next page, when there is one (`paging.next` present).
    pub(crate) next_after: Option<String>,
}

pub(crate) fn page(body: &[u8], context: &'static str) -> Result<Page, GraphError> {
    let v = json(body, context)?;
    let o = object(&v, context)?;
    let data = match o.get("data") {
        Some(Value::Array(a)) => a.clone(),
        _ => return Err(malformed(context, "missing data array")),
    };
    let paging = o.get("paging").and_then(Value::as_object);
    let next = paging.and_then(|p| p.get("next")).and_then(Value::as_str);
    let next_after = match next {
        None => None,
        Some(next_url) => {
            let cursor = paging
                .and_then(|p| p.get("cursors"))
                .and_then(|c| c.get("after"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    Url::parse(next_url).ok().and_then(|u| {
                        u.query_pairs()
                            .find(|(k, _)| k == "after")
                            .map(|(_, v)| v.into_owned())
                    })
                });
            Some(cursor.ok_or_else(|| malformed(context, "paging.next without an after cursor"))?)
        }
    };
    Ok(Page { data, next_after })
}

fn media_child(v: &Value) -> Option<MediaChild> {
    let o = v.as_object()?;
    Some(MediaChild {
        id: string(o.get("id"))?,
        media_type: string(o.get("media_type")).map(|s| MediaType::parse(&s)),
        media_url: string(o.get("media_url")),
        thumbnail_url: string(o.get("thumbnail_url")),
        permalink: string(o.get("permalink")),
        timestamp: time(o.get("timestamp")),
    })
}

/// One media object of the media list.
pub(crate) fn media_item(v: &Value) -> Result<MediaItem, GraphError> {
    const CTX: &str = "media";
    let o = object(v, CTX)?;
    let id = string(o.get("id")).ok_or_else(|| malformed(CTX, "media without id"))?;
    let timestamp = time(o.get("timestamp"))
        .ok_or_else(|| malformed(CTX, format!("media {id} without a valid timestamp")))?;
    let media_type = MediaType::parse(&string(o.get("media_type")).unwrap_or_default());
    let media_product_type = MediaProductType::parse(
        &string(o.get("media_product_type")).unwrap_or_else(|| "FEED".to_owned()),
    );
    let children = match o.get("children").and_then(|c| c.get("data")) {
        Some(Value::Array(a)) => a.iter().filter_map(media_child).collect(),
        _ => Vec::new(),
    };
    Ok(MediaItem {
        id,
        media_type,
        media_product_type,
        caption: string(o.get("caption")),
        permalink: string(o.get("permalink")),
        shortcode: string(o.get("shortcode")),
        media_url: string(o.get("media_url")),
        thumbnail_url: string(o.get("thumbnail_url")),
        timestamp,
        like_count: count(o.get("like_count")),
        comments_count: count(o.get("comments_count")),
        children,
    })
}

/// A page of the media list.
pub(crate) fn media_page(body: &[u8]) -> Result<(Vec<MediaItem>, Option<String>), GraphError> {
    let p = page(body, "media")?;
    let items = p
        .data
        .iter()
        .map(media_item)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, p.next_after))
}

/// A page of the stories edge.
pub(crate) fn story_page(body: &[u8]) -> Result<(Vec<Story>, Option<String>), GraphError> {
    let p = page(body, "stories")?;
    let mut out = Vec::with_capacity(p.data.len());
    for v in &p.data {
        let o = object(v, "stories")?;
        out.push(Story {
            id: string(o.get("id")).ok_or_else(|| malformed("stories", "story without id"))?,
            media_type: string(o.get("media_type")).map(|s| MediaType::parse(&s)),
            media_url: string(o.get("media_url")),
            thumbnail_url: string(o.get("thumbnail_url")),
            permalink: string(o.get("permalink")),
            caption: string(o.get("caption")),
            timestamp: time(o.get("timestamp")),
        });
    }
    Ok((out, p.next_after))
}

/// The `data` array of an insights answer.
fn insight_data<'a>(v: &'a Value, context: &'static str) -> Result<&'a [Value], GraphError> {
    match v.get("data") {
        Some(Value::Array(a)) => Ok(a),
        _ => Err(malformed(context, "missing insights data array")),
    }
}

fn metric_name(entry: &Value, context: &'static str) -> Result<String, GraphError> {
    string(entry.get("name")).ok_or_else(|| malformed(context, "insight without name"))
}

/// Rows of `total_value.breakdowns[].results[]`: (dimension, key, value). Dimensions named
/// in `skip_dims` (e.g. `timeframe`) are left out of the key.
fn breakdown_rows(total: &Value, skip_dims: &[&str]) -> Vec<(Breakdown, f64)> {
    let mut out = Vec::new();
    let Some(Value::Array(breakdowns)) = total.get("breakdowns") else {
        return out;
    };
    for b in breakdowns {
        let keys: Vec<String> = match b.get("dimension_keys") {
            Some(Value::Array(k)) => k
                .iter()
                .map(|x| string(Some(x)).unwrap_or_default())
                .collect(),
            _ => continue,
        };
        let Some(Value::Array(results)) = b.get("results") else {
            continue;
        };
        for r in results {
            let Some(value) = r.get("value").and_then(num) else {
                continue;
            };
            let Some(Value::Array(vals)) = r.get("dimension_values") else {
                continue;
            };
            let mut dims = Vec::new();
            let mut ks = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                if skip_dims.contains(&key.as_str()) {
                    continue;
                }
                dims.push(key.clone());
                ks.push(
                    vals.get(i)
                        .and_then(|x| string(Some(x)))
                        .unwrap_or_default(),
                );
            }
            if dims.is_empty() {
                continue;
            }
            out.push((
                Breakdown {
                    dimension: dims.join(","),
                    key: ks.join(","),
                },
                value,
            ));
        }
    }
    out
}

/// Lifetime media insights from an insights answer object (`{"data":[…]}`).
pub(crate) fn media_insight_values(v: &Value) -> Result<Vec<InsightValue>, GraphError> {
    const CTX: &str = "media insights";
    let mut out = Vec::new();
    for entry in insight_data(v, CTX)? {
        let metric = metric_name(entry, CTX)?;
        let total = entry.get("total_value");
        let value = entry
            .get("values")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|x| x.get("value"))
            .and_then(num)
            .or_else(|| total.and_then(|t| t.get("value")).and_then(num));
        if let Some(value) = value {
            out.push(InsightValue {
                metric: metric.clone(),
                value,
                breakdown: None,
            });
        }
        if let Some(total) = total {
            for (breakdown, value) in breakdown_rows(total, &[]) {
                out.push(InsightValue {
                    metric: metric.clone(),
                    value,
                    breakdown: Some(breakdown),
                });
            }
        }
    }
    Ok(out)
}

/// Insights of one media object (`GET /{media-id}/insights`).
pub(crate) fn media_insights_single(body: &[u8]) -> Result<Vec<InsightValue>, GraphError> {
    media_insight_values(&json(body, "media insights")?)
}

/// A multi-ID insights answer (`GET /?ids=a,b&fields=insights.metric(…)`): per id, its
/// values or its own error object. Ids absent from the answer are absent from the map.
pub(crate) fn multi_id_insights(
    body: &[u8],
) -> Result<BTreeMap<String, Result<Vec<InsightValue>, ApiError>>, GraphError> {
    const CTX: &str = "multi-id insights";
    let v = json(body, CTX)?;
    let o = object(&v, CTX)?;
    let mut out = BTreeMap::new();
    for (id, item) in o {
        if let Some(err) = api_error_value(400, item) {
            out.insert(id.clone(), Err(err));
            continue;
        }
        let item_obj = object(item, CTX)?;
        let result = match item_obj.get("insights") {
            Some(ins) => match api_error_value(400, ins) {
                Some(err) => Err(err),
                None => Ok(media_insight_values(ins)?),
            },
            // No insights field: Meta omits it when there is no data.
            None => Ok(Vec::new()),
        };
        out.insert(id.clone(), result);
    }
    Ok(out)
}

/// A `time_series` account insights answer: (metric, end_time, value).
pub(crate) fn time_series(body: &[u8]) -> Result<Vec<(String, DateTime<Utc>, f64)>, GraphError> {
    const CTX: &str = "account insights time series";
    let v = json(body, CTX)?;
    let mut out = Vec::new();
    for entry in insight_data(&v, CTX)? {
        let metric = metric_name(entry, CTX)?;
        let Some(Value::Array(values)) = entry.get("values") else {
            continue;
        };
        for x in values {
            let Some(value) = x.get("value").and_then(num) else {
                continue;
            };
            let end = time(x.get("end_time"))
                .ok_or_else(|| malformed(CTX, format!("{metric} value without end_time")))?;
            out.push((metric.clone(), end, value));
        }
    }
    Ok(out)
}

/// A `total_value` account insights answer: (metric, breakdown, value).
pub(crate) fn total_values(
    body: &[u8],
) -> Result<Vec<(String, Option<Breakdown>, f64)>, GraphError> {
    const CTX: &str = "account insights total value";
    let v = json(body, CTX)?;
    let mut out = Vec::new();
    for entry in insight_data(&v, CTX)? {
        let metric = metric_name(entry, CTX)?;
        let Some(total) = entry.get("total_value") else {
            continue;
        };
        if let Some(value) = total.get("value").and_then(num) {
            out.push((metric.clone(), None, value));
        }
        for (b, value) in breakdown_rows(total, &["timeframe"]) {
            out.push((metric.clone(), Some(b), value));
        }
    }
    Ok(out)
}

/// An `online_followers` answer: one entry per day, hour → followers online.
pub(crate) fn online_followers(body: &[u8]) -> Result<Vec<OnlineFollowers>, GraphError> {
    const CTX: &str = "online followers";
    let v = json(body, CTX)?;
    let mut out = Vec::new();
    for entry in insight_data(&v, CTX)? {
        let Some(Value::Array(values)) = entry.get("values") else {
            continue;
        };
        for x in values {
            let Some(end) = time(x.get("end_time")) else {
                continue;
            };
            let Some(Value::Object(hours)) = x.get("value") else {
                continue;
            };
            let by_hour = hours
                .iter()
                .filter_map(|(h, n)| {
                    Some((h.trim().parse::<u8>().ok().filter(|h| *h < 24)?, num(n)?))
                })
                .collect();
            out.push(OnlineFollowers {
                day: crate::days::pacific_day_ending_at(end),
                by_hour,
            });
        }
    }
    Ok(out)
}

/// One item of a batch answer: `None` when Meta did not finish it, else (status, body).
pub(crate) type BatchItem = Option<(u16, String)>;

/// A batch answer: one item per operation, in order.
pub(crate) fn batch(body: &[u8], expected: usize) -> Result<Vec<BatchItem>, GraphError> {
    const CTX: &str = "batch";
    let v = json(body, CTX)?;
    let Value::Array(items) = v else {
        return Err(malformed(CTX, "expected a JSON array"));
    };
    if items.len() != expected {
        return Err(malformed(
            CTX,
            format!("{} answers for {expected} operations", items.len()),
        ));
    }
    Ok(items
        .iter()
        .map(|item| {
            let o = item.as_object()?;
            let code = o
                .get("code")
                .and_then(num)
                .filter(|c| (100.0..600.0).contains(c))? as u16;
            let body = match o.get("body") {
                Some(Value::String(s)) => s.clone(),
                Some(other @ (Value::Object(_) | Value::Array(_))) => other.to_string(),
                _ => String::new(),
            };
            Some((code, body))
        })
        .collect())
}

/// A token exchange or refresh answer: (token, token_type, expires_in).
pub(crate) fn token_info(body: &[u8]) -> Result<(String, Option<String>, Option<u64>), GraphError> {
    const CTX: &str = "token";
    let v = json(body, CTX)?;
    let o = object(&v, CTX)?;
    let token = string(o.get("access_token"))
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| malformed(CTX, "missing access_token"))?;
    Ok((
        token,
        string(o.get("token_type")),
        count(o.get("expires_in")),
    ))
}

fn unix_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = v.and_then(num)? as i64;
    // 0 means "never" in debug_token.
    (secs > 0)
        .then(|| DateTime::from_timestamp(secs, 0))
        .flatten()
}

/// A `debug_token` answer.
pub(crate) fn debug_token(body: &[u8]) -> Result<TokenDebug, GraphError> {
    const CTX: &str = "debug_token";
    let v = json(body, CTX)?;
    let d = v
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(CTX, "missing data"))?;
    let scopes = match d.get("scopes") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    Ok(TokenDebug {
        is_valid: matches!(d.get("is_valid"), Some(Value::Bool(true))),
        app_id: string(d.get("app_id")),
        token_type: string(d.get("type")),
        user_id: string(d.get("user_id")),
        expires_at: unix_time(d.get("expires_at")),
        data_access_expires_at: unix_time(d.get("data_access_expires_at")),
        issued_at: unix_time(d.get("issued_at")),
        scopes,
    })
}

/// A page of `/me/accounts` (Facebook Login): Pages with a connected IG account.
pub(crate) fn accounts_page(
    body: &[u8],
) -> Result<(Vec<DiscoveredAccount>, Option<String>), GraphError> {
    let p = page(body, "accounts")?;
    let out = p
        .data
        .iter()
        .filter_map(|page| {
            let ig = page.get("instagram_business_account")?;
            Some(DiscoveredAccount {
                ig_user_id: string(ig.get("id"))?,
                username: string(ig.get("username")),
                page_id: string(page.get("id")),
                page_name: string(page.get("name")),
            })
        })
        .collect();
    Ok((out, p.next_after))
}

/// `/me` (Instagram Login): the professional account itself.
pub(crate) fn me(body: &[u8]) -> Result<DiscoveredAccount, GraphError> {
    const CTX: &str = "me";
    let v = json(body, CTX)?;
    let o = object(&v, CTX)?;
    Ok(DiscoveredAccount {
        ig_user_id: string(o.get("user_id"))
            .or_else(|| string(o.get("id")))
            .ok_or_else(|| malformed(CTX, "missing user_id"))?,
        username: string(o.get("username")),
        page_id: None,
        page_name: None,
    })
}

/// A token answer's parts: the token, `token_type` and `expires_in`.
pub(crate) type RawToken = (String, Option<String>, Option<u64>);

/// One page of `/me/accounts`: each Page's Instagram account with the Page token, and the
/// next cursor.
pub(crate) type PagesWithTokens = (Vec<(DiscoveredAccount, Option<String>)>, Option<String>);

/// A code exchange's answer: Facebook Login's `{"access_token","token_type","expires_in"}`,
/// or api.instagram.com's `{"data":[{"access_token","user_id","permissions"}]}` (older
/// answers are the object without `data`; `permissions` is a comma-separated string or a
/// list).
pub(crate) fn code_exchange(body: &[u8]) -> Result<(RawToken, Option<Vec<String>>), GraphError> {
    const CTX: &str = "code exchange";
    let v = json(body, CTX)?;
    let o = match v.get("data").and_then(Value::as_array) {
        Some(items) => items
            .first()
            .and_then(Value::as_object)
            .ok_or_else(|| malformed(CTX, "empty data"))?,
        None => object(&v, CTX)?,
    };
    let token = string(o.get("access_token")).ok_or_else(|| malformed(CTX, "no access_token"))?;
    let permissions = match o.get("permissions") {
        Some(Value::String(s)) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Some(Value::Array(items)) => Some(items.iter().filter_map(|i| string(Some(i))).collect()),
        _ => None,
    };
    let expires_in = o.get("expires_in").and_then(num).map(|f| f as u64);
    Ok((
        (token, string(o.get("token_type")), expires_in),
        permissions,
    ))
}

/// `/me/permissions`: `{"data":[{"permission","status"}]}` → (permission, granted).
pub(crate) fn permissions(body: &[u8]) -> Result<Vec<(String, bool)>, GraphError> {
    const CTX: &str = "permissions";
    let v = json(body, CTX)?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(CTX, "no data"))?;
    Ok(data
        .iter()
        .filter_map(|p| {
            let name = string(p.get("permission"))?;
            let granted = p.get("status").and_then(Value::as_str) == Some("granted");
            Some((name, granted))
        })
        .collect())
}

/// `/me/accounts` with Page tokens: each Page with an Instagram account, and its token.
pub(crate) fn pages_with_tokens(body: &[u8]) -> Result<PagesWithTokens, GraphError> {
    let p = page(body, "accounts")?;
    let out = p
        .data
        .iter()
        .filter_map(|page| {
            let ig = page.get("instagram_business_account")?;
            Some((
                DiscoveredAccount {
                    ig_user_id: string(ig.get("id"))?,
                    username: string(ig.get("username")),
                    page_id: string(page.get("id")),
                    page_name: string(page.get("name")),
                },
                string(page.get("access_token")),
            ))
        })
        .collect();
    Ok((out, p.next_after))
}

/// Helper for tests and callers: a Pacific day from a `YYYY-MM-DD` string.
#[cfg(test)]
pub(crate) fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_error() {
        let body = br#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_data":{"blame_field_specs":[[""]]},"error_subcode":2108006,"is_transient":false,"error_user_title":"Media Posted Before Business Account Conversion","fbtrace_id":"AbC"}}"#;
        let e = api_error(400, body).unwrap();
        assert_eq!(
            (e.code, e.subcode, e.is_transient),
            (100, Some(2_108_006), false)
        );
        assert_eq!(e.fbtrace_id.as_deref(), Some("AbC"));
        assert!(api_error(500, b"<html>").is_none());
    }

    #[test]
    fn parses_media_page_with_children_and_cursor() {
        let body = br#"{"data":[{"id":"1","media_type":"CAROUSEL_ALBUM","media_product_type":"FEED","timestamp":"2019-04-05T07:56:32+0000","like_count":"7","children":{"data":[{"id":"11","media_type":"IMAGE"}]}}],
            "paging":{"cursors":{"before":"b","after":"A1"},"next":"https://graph.facebook.com/v26.0/9/media?after=A1"}}"#;
        let (items, next) = media_page(body).unwrap();
        assert_eq!(next.as_deref(), Some("A1"));
        assert_eq!(items[0].children.len(), 1);
        assert_eq!(items[0].like_count, Some(7));
        assert_eq!(
            items[0].category(),
            Some(crate::MediaCategory::CarouselAlbum)
        );
        let (_, next) = media_page(br#"{"data":[],"paging":{"cursors":{"after":"x"}}}"#).unwrap();
        assert_eq!(next, None);
        assert!(media_page(br#"{"data":[{"media_type":"IMAGE"}]}"#).is_err());
    }

    #[test]
    fn parses_documented_insight_shapes() {
        let nav = br#"{"data":[{"name":"navigation","period":"lifetime","values":[{"value":25}],"title":"Navigation","total_value":{"value":25,"breakdowns":[{"dimension_keys":["story_navigation_action_type"],"results":[{"dimension_values":["tap_forward"],"value":19},{"dimension_values":["swipe_forward"],"value":6}]}]},"id":"1/insights/navigation/lifetime"}]}"#;
        let v = media_insights_single(nav).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].value, 25.0);
        assert_eq!(v[1].breakdown.as_ref().unwrap().key, "tap_forward");

        let ts = br#"{"data":[{"name":"reach","period":"day","values":[{"value":12,"end_time":"2018-01-11T08:00:00+0000"},{"value":"13","end_time":"2018-01-12T08:00:00+0000"}],"id":"x"}],"paging":{}}"#;
        let points = time_series(ts).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].2, 13.0);

        let tv = br#"{"data":[{"name":"reach","period":"day","total_value":{"value":224,"breakdowns":[{"dimension_keys":["media_product_type"],"results":[{"dimension_values":["CAROUSEL_CONTAINER"],"value":100},{"dimension_values":["POST"],"value":124}]}]},"id":"x"}]}"#;
        let rows = total_values(tv).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].1.as_ref().unwrap().key, "POST");

        let demo = br#"{"data":[{"name":"follower_demographics","period":"lifetime","total_value":{"breakdowns":[{"dimension_keys":["timeframe","country"],"results":[{"dimension_values":["LAST_90_DAYS","US"],"value":7}]}]}}]}"#;
        let rows = total_values(demo).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].1.as_ref().unwrap(),
            &Breakdown {
                dimension: "country".into(),
                key: "US".into()
            }
        );

        let online = br#"{"data":[{"name":"online_followers","period":"lifetime","values":[{"value":{"0":5,"1":"6","x":1,"99":3},"end_time":"2026-07-02T07:00:00+0000"}]}]}"#;
        let days = online_followers(online).unwrap();
        assert_eq!(days[0].day, day("2026-07-01"));
        assert_eq!(days[0].by_hour.len(), 2);
    }

    #[test]
    fn parses_multi_id_with_per_id_error() {
        let body = br#"{"1":{"id":"1","insights":{"data":[{"name":"reach","period":"lifetime","values":[{"value":5}]}]}},
                        "2":{"error":{"message":"Invalid parameter","code":100,"error_subcode":2108006}}}"#;
        let m = multi_id_insights(body).unwrap();
        assert_eq!(m["1"].as_ref().unwrap()[0].value, 5.0);
        assert_eq!(m["2"].as_ref().unwrap_err().subcode, Some(2_108_006));
    }

    #[test]
    fn parses_batch_and_tokens() {
        let body = br#"[{"code":200,"headers":[],"body":"{\"data\":[]}"},null,{"code":400,"body":"{\"error\":{\"code\":190}}"}]"#;
        let b = batch(body, 3).unwrap();
        assert_eq!(b[0].as_ref().unwrap().0, 200);
        assert!(b[1].is_none());
        assert!(batch(body, 2).is_err());
        let (t, ty, exp) =
            token_info(br#"{"access_token":"abc","token_type":"bearer","expires_in":5183944}"#)
                .unwrap();
        assert_eq!(
            (t.as_str(), ty.as_deref(), exp),
            ("abc", Some("bearer"), Some(5_183_944))
        );
        let d = debug_token(br#"{"data":{"app_id":"1","type":"USER","is_valid":true,"expires_at":0,"issued_at":1700000000,"scopes":["instagram_basic"]}}"#).unwrap();
        assert!(d.is_valid && d.expires_at.is_none() && d.issued_at.is_some());
    }
}

#[cfg(test)]
pub(crate) mod props {
    //! Property tests: every parser survives arbitrary bytes and mutated real responses.
    use super::*;
    use proptest::prelude::*;

    /// Real response shapes (Meta's documented samples; the integration tests add bodies
    /// captured from the simulator).
    pub(crate) const SAMPLES: &[&str] = &[
        r#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_data":{"blame_field_specs":[[""]]},"error_subcode":2108006,"is_transient":false,"error_user_title":"Media Posted Before Business Account Conversion","error_user_msg":"x","fbtrace_id":"A"}}"#,
        r#"{"id":"17841405309211844","username":"acme","name":"Acme","biography":"b","website":"https://a.example","profile_picture_url":"https://p.example/x.jpg","followers_count":1200,"follows_count":"33","media_count":120}"#,
        r#"{"data":[{"id":"1","caption":"c","media_type":"CAROUSEL_ALBUM","media_product_type":"FEED","timestamp":"2019-04-05T07:56:32+0000","like_count":7,"comments_count":1,"children":{"data":[{"id":"11","media_type":"IMAGE","timestamp":"2019-04-05T07:56:32+0000"}]}},{"id":"2","media_type":"VIDEO","media_product_type":"REELS","timestamp":"2019-04-04T07:56:32+0000"}],"paging":{"cursors":{"before":"b","after":"A1"},"next":"https://graph.facebook.com/v26.0/9/media?after=A1"}}"#,
        r#"{"data":[{"name":"navigation","period":"lifetime","values":[{"value":25}],"title":"Navigation","total_value":{"value":25,"breakdowns":[{"dimension_keys":["story_navigation_action_type"],"results":[{"dimension_values":["tap_forward"],"value":19}]}]},"id":"1/insights/navigation/lifetime"}]}"#,
        r#"{"1":{"id":"1","insights":{"data":[{"name":"reach","period":"lifetime","values":[{"value":5}]}]}},"2":{"error":{"message":"Invalid parameter","code":100,"error_subcode":2108006}}}"#,
        r#"{"data":[{"name":"reach","period":"day","values":[{"value":12,"end_time":"2018-01-11T08:00:00+0000"},{"value":13,"end_time":"2018-01-12T08:00:00+0000"}],"id":"x"}],"paging":{"previous":"p","next":"n"}}"#,
        r#"{"data":[{"name":"reach","period":"day","total_value":{"value":224,"breakdowns":[{"dimension_keys":["media_product_type"],"results":[{"dimension_values":["CAROUSEL_CONTAINER"],"value":100},{"dimension_values":["POST"],"value":124}]}]},"id":"x"}]}"#,
        r#"{"data":[{"name":"follower_demographics","period":"lifetime","total_value":{"breakdowns":[{"dimension_keys":["timeframe","country"],"results":[{"dimension_values":["LAST_90_DAYS","US"],"value":7}]}]}}]}"#,
        r#"{"data":[{"name":"online_followers","period":"lifetime","values":[{"value":{"0":5,"1":6},"end_time":"2026-07-02T07:00:00+0000"}]}]}"#,
        r#"[{"code":200,"headers":[],"body":"{\"data\":[]}"},null,{"code":400,"body":"{\"error\":{\"code\":190}}"}]"#,
        r#"{"access_token":"abc","token_type":"bearer","expires_in":5183944}"#,
        r#"{"data":{"app_id":"1","type":"USER","application":"a","is_valid":true,"expires_at":1900000000,"data_access_expires_at":0,"issued_at":1700000000,"scopes":["instagram_basic"],"user_id":"9"}}"#,
        r#"{"data":[{"id":"p1","name":"Page","instagram_business_account":{"id":"178","username":"acme"}}],"paging":{"cursors":{"after":"c"}}}"#,
        r#"{"user_id":"178","username":"acme"}"#,
        r#"{"178":[{"type":"instagram","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":3}]}"#,
        r#"{"call_count":28,"total_time":25,"total_cputime":25}"#,
    ];

    /// Feeds one body to every parser; only panics matter.
    pub(crate) fn feed_all(body: &[u8]) {
        let _ = crate::fuzz::parse_any_response(body);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::String),
            Just(Value::String("2019-04-05T07:56:32+0000".into())),
            Just(Value::from(u64::MAX)),
            Just(Value::from(-1)),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Replaces the `n`-th node (pre-order, modulo the node count) of `v` by `with`.
    fn replace_nth(v: &mut Value, n: &mut usize, with: &Value) -> bool {
        if *n == 0 {
            *v = with.clone();
            return true;
        }
        *n -= 1;
        match v {
            Value::Array(a) => a.iter_mut().any(|x| replace_nth(x, n, with)),
            Value::Object(o) => o.values_mut().any(|x| replace_nth(x, n, with)),
            _ => false,
        }
    }

    /// Applies a structural mutation to a sample, or a byte-level one.
    pub(crate) fn mutate(
        sample: &str,
        pick: usize,
        with: &Value,
        bytes: &[(usize, u8)],
        cut: usize,
    ) -> Vec<u8> {
        match serde_json::from_str::<Value>(sample) {
            Ok(mut v) if !pick.is_multiple_of(3) => {
                let mut n = pick;
                replace_nth(&mut v, &mut n, with);
                v.to_string().into_bytes()
            }
            _ => {
                let mut b = sample.as_bytes().to_vec();
                for (pos, byte) in bytes {
                    if !b.is_empty() {
                        let i = pos % b.len();
                        b[i] = *byte;
                    }
                }
                b.truncate(b.len().saturating_sub(cut % 8));
                b
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
            feed_all(&body);
        }

        #[test]
        fn arbitrary_json_never_panics(v in arb_json()) {
            feed_all(v.to_string().as_bytes());
        }

        #[test]
        fn mutated_samples_never_panic(
            idx in 0..SAMPLES.len(),
            pick in 0usize..64,
            with in arb_json(),
            bytes in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in any::<usize>(),
        ) {
            feed_all(&mutate(SAMPLES[idx], pick, &with, &bytes, cut));
        }
    }

    #[test]
    fn unmutated_samples_parse() {
        assert!(api_error(400, SAMPLES[0].as_bytes()).is_some());
        assert!(profile(SAMPLES[1].as_bytes()).is_ok());
        assert!(media_page(SAMPLES[2].as_bytes()).is_ok());
        assert!(media_insights_single(SAMPLES[3].as_bytes()).is_ok());
        assert!(multi_id_insights(SAMPLES[4].as_bytes()).is_ok());
        assert!(time_series(SAMPLES[5].as_bytes()).is_ok());
        assert!(total_values(SAMPLES[6].as_bytes()).is_ok());
        assert!(online_followers(SAMPLES[8].as_bytes()).is_ok());
        assert!(batch(SAMPLES[9].as_bytes(), 3).is_ok());
        assert!(token_info(SAMPLES[10].as_bytes()).is_ok());
        assert!(debug_token(SAMPLES[11].as_bytes()).is_ok());
        assert_eq!(accounts_page(SAMPLES[12].as_bytes()).unwrap().0.len(), 1);
        assert!(me(SAMPLES[13].as_bytes()).is_ok());
    }
}

#[cfg(test)]
mod simulator_bodies {
    //! The same property over bodies captured from the simulator over real HTTP.
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use simulator::{SimConfig, SimServer};

    use super::props::{feed_all, mutate};

    async fn fetch(http: &reqwest::Client, base: &str, token: &str, path: String) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{base}/{path}{sep}access_token={token}");
        http.get(url).send().await.unwrap().text().await.unwrap()
    }

    async fn capture() -> Vec<String> {
        crate::client::install_crypto_provider();
        let sim = SimServer::start(SimConfig::new(9, 1, 120), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let acc = sim.accounts()[0].clone();
        let (id, token) = (acc.ig_user_id.clone(), acc.access_token.clone());
        let base = format!("{}/v26.0", sim.url());
        let http = reqwest::Client::new();
        let get = |path: String| fetch(&http, &base, &token, path);
        let mut bodies = vec![
            get(format!("{id}?fields=id,username,followers_count,media_count")).await,
            get(format!("{id}/media?fields={}&limit=3", crate::reads::MEDIA_FIELDS)).await,
            get(format!("{id}/stories?fields=id,media_type,timestamp")).await,
            get(format!("{id}/insights?metric=reach,follower_count&period=day&metric_type=time_series")).await,
            get(format!("{id}/insights?metric=likes,views&period=day&metric_type=total_value&breakdown=media_product_type")).await,
            get(format!("{id}/insights?metric=follower_demographics&period=lifetime&metric_type=total_value&breakdown=country&timeframe=this_month")).await,
            get(format!("{id}/insights?metric=online_followers&period=lifetime")).await,
            get(format!("{id}/insights?metric=impressions&period=day")).await,
            get(format!("debug_token?input_token={token}")).await,
            get("me/accounts?fields=id,name,instagram_business_account{id,username}".to_owned()).await,
        ];
        let media: Vec<String> = super::media_page(bodies[1].as_bytes())
            .map(|(items, _)| items.into_iter().map(|m| m.id).collect())
            .unwrap_or_default();
        assert!(!media.is_empty(), "captured a media page: {}", bodies[1]);
        bodies.push(
            get(format!(
                "?ids={}&fields=insights.metric(reach,views,likes)",
                media.join(",")
            ))
            .await,
        );
        bodies.push(get(format!("{}/insights?metric=reach,saved", media[0])).await);
        let batch = serde_json::json!([
            {"method": "GET", "relative_url": format!("{id}/insights?metric=likes&period=day&metric_type=total_value")},
            {"method": "GET", "relative_url": format!("{id}?fields=id")},
        ]);
        let resp = http
            .post(format!("{base}/"))
            .query(&[
                ("access_token", token.as_str()),
                ("include_headers", "false"),
                ("batch", &batch.to_string()),
            ])
            .send()
            .await
            .unwrap();
        bodies.push(resp.text().await.unwrap());
        sim.shutdown().await;
        bodies
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mutated_simulator_bodies_never_panic() {
        let bodies = capture().await;
        assert!(
            super::profile(bodies[0].as_bytes()).is_ok(),
            "{}",
            bodies[0]
        );
        assert!(
            super::time_series(bodies[3].as_bytes()).is_ok(),
            "{}",
            bodies[3]
        );
        assert!(
            super::multi_id_insights(bodies[10].as_bytes()).is_ok(),
            "{}",
            bodies[10]
        );
        assert!(
            super::batch(bodies[12].as_bytes(), 2).is_ok(),
            "{}",
            bodies[12]
        );
        let mut runner = TestRunner::new(Config {
            cases: 1024,
            ..Config::default()
        });
        let strategy = (
            0..bodies.len(),
            0usize..256,
            any::<i64>().prop_map(serde_json::Value::from),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            any::<usize>(),
        );
        runner
            .run(&strategy, |(idx, pick, with, bytes, cut)| {
                feed_all(&mutate(&bodies[idx], pick, &with, &bytes, cut));
                feed_all(&mutate(
                    &bodies[idx],
                    pick,
                    &serde_json::Value::Null,
                    &bytes,
                    cut,
                ));
                feed_all(&mutate(
                    &bodies[idx],
                    pick,
                    &serde_json::json!({"x": []}),
                    &bytes,
                    cut,
                ));
                Ok(())
            })
            .unwrap();
    }
}
