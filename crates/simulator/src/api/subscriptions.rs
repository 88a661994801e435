//! `/{ig-user-id}/subscribed_apps`: enables webhook notifications of an account for the app
//! (`POST ?subscribed_fields=…`), reads them back (`GET`) and removes them (`DELETE`).
//! Without Advanced Access the app is refused.

use serde_json::{Value, json};

use super::{Ctx, Method, Params, Scope};
use crate::catalog::split_list;
use crate::error::ApiError;
use crate::state::{Obj, Subscription};
use crate::webhooks::FIELDS;

/// The account a subscription call is about: the Instagram account itself (also as `me`
/// with Instagram Login), or the Facebook Page connected to it.
fn account_of(obj: Obj) -> Option<usize> {
    match obj {
        Obj::User { acct, .. } | Obj::Page(acct) => Some(acct),
        _ => None,
    }
}

pub(crate) fn subscribed_apps(
    ctx: &Ctx<'_>,
    obj: Obj,
    method: Method,
    params: &Params,
) -> Result<Value, ApiError> {
    let Some(acct) = account_of(obj) else {
        return Err(ApiError::nonexisting_field("subscribed_apps", "User"));
    };
    let st = ctx.st;
    match method {
        Method::Post => {
            if !st.config.webhooks_advanced_access {
                return Err(ApiError::capability());
            }
            let fields = split_list(params.get("subscribed_fields").unwrap_or(""));
            if fields.is_empty() {
                return Err(ApiError::param(
                    "The parameter subscribed_fields is required.",
                ));
            }
            for (i, f) in fields.iter().enumerate() {
                if !FIELDS.contains(&f.as_str()) {
                    return Err(ApiError::param(format!(
                        "Param subscribed_fields[{i}] must be one of {{{}}} - got \"{f}\"",
                        FIELDS.join(", ")
                    )));
                }
                match f.as_str() {
                    "story_insights" => ctx.require(Scope::Insights)?,
                    "comments" | "live_comments" | "mentions" => ctx.require(Scope::Comments)?,
                    _ => {}
                }
            }
            let mut unique: Vec<String> = Vec::new();
            for f in fields {
                if !unique.contains(&f) {
                    unique.push(f);
                }
            }
            st.write().subscriptions.insert(
                acct,
                Subscription {
                    fields: unique,
                    since: ctx.now,
                },
            );
            st.hub.wake();
            Ok(json!({ "success": true }))
        }
        Method::Delete => {
            st.write().subscriptions.remove(&acct);
            Ok(json!({ "success": true }))
        }
        _ => {
            let sub = st.read().subscriptions.get(&acct).cloned();
            let data: Vec<Value> = sub
                .into_iter()
                .map(|s| {
                    json!({
                        "id": st.app_id,
                        "name": "igsync simulator",
                        "subscribed_fields": s.fields,
                    })
                })
                .collect();
            Ok(json!({ "data": data }))
        }
    }
}
