//! Webhook subscriptions: `POST /{ig-user-id}/subscribed_apps?subscribed_fields=…` asks Meta
//! to send the account's notifications to the app's callback (`/me/subscribed_apps` with
//! Instagram Login). Meta refuses apps without Advanced Access for the fields (`(#3)
//! Application does not have the capability…`) and apps that are not live.

use reqwest::Method;

use crate::client::{GraphClient, Request};
use crate::config::LoginKind;
use crate::error::GraphError;
use crate::parse;
use crate::reads::check_id;
use crate::token::AccountRef;

/// The notification fields igsync subscribes to.
pub const WEBHOOK_FIELDS: &[&str] = &["story_insights", "comments", "mentions"];

impl GraphClient {
    /// Subscribes the app to the account's notifications for `fields`.
    #[tracing::instrument(skip_all)]
    pub async fn subscribe_webhooks(
        &self,
        account: &AccountRef,
        fields: &[&str],
    ) -> Result<(), GraphError> {
        check_id(&account.ig_user_id)?;
        let node = match self.login() {
            LoginKind::Instagram => "me".to_owned(),
            LoginKind::Facebook => account.ig_user_id.clone(),
        };
        let mut req =
            Request::get("subscribed_apps", format!("{node}/subscribed_apps")).for_account(account);
        req.method = Method::POST;
        req.form = Some(vec![("subscribed_fields", fields.join(","))]);
        let v = self
            .call(&req, |body| parse::json(body, "subscribed_apps"))
            .await?;
        if v.get("success").and_then(serde_json::Value::as_bool) == Some(true) {
            Ok(())
        } else {
            Err(GraphError::InvalidRequest(format!(
                "Meta did not confirm the subscription: {}",
                v.to_string().chars().take(200).collect::<String>()
            )))
        }
    }
}
