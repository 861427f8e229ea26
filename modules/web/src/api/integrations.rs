//! HTTP API of the integrations module (API.md "Integrations": webhooks and the event feed).
//! Handlers authenticate, parse, call [`Integrations`](keiyaku_integrations::Integrations)
//! and map; every rule, authorization included, lives in the service.

use crate::api::auth::{BearerToken, caller};
use crate::api::enums::{Closed, OneOf};
use crate::api::http::{ApiResult, Ctx};
use keiyaku_integrations::{Attempt, AttemptResult, Event, EventType, NewWebhook, Webhook};
use keiyaku_kernel::clock::rfc3339;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Webhooks (signed per Standard Webhooks) and the event feed
    Integrations,
}

impl Closed for EventType {
    fn all() -> &'static [Self] {
        &EventType::ALL
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Closed for AttemptResult {
    fn all() -> &'static [Self] {
        &AttemptResult::ALL
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

pub struct IntegrationsApi {
    pub auth: keiyaku_auth::Auth,
    pub integrations: keiyaku_integrations::Integrations,
}

// ---------------------------------------------------------------------------------------
// Bodies

/// A webhook endpoint (its secret is shown only when it is created).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "Webhook")]
struct WebhookView {
    id: String,
    /// The target (`http` or `https`).
    url: String,
    /// The event types delivered to it.
    events: Vec<OneOf<EventType>>,
    /// False once disabled after repeated failure (no more deliveries).
    enabled: bool,
    /// Consecutive deliveries given up since the last delivered one.
    failures: u32,
    created_at: String,
    disabled_at: Option<String>,
}

impl From<&Webhook> for WebhookView {
    fn from(h: &Webhook) -> Self {
        Self {
            id: h.id.clone(),
            url: h.url.clone(),
            events: h.events.iter().map(|e| OneOf::from(*e)).collect(),
            enabled: h.enabled,
            failures: h.failures,
            created_at: rfc3339(h.created_at),
            disabled_at: h.disabled_at.map(rfc3339),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "WebhookList")]
struct WebhookList {
    items: Vec<WebhookView>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CreateWebhookRequest")]
struct CreateWebhookRequest {
    /// The target URL, `http` or `https`. Loopback, private and link-local targets are
    /// refused (`private_target`) unless the appliance allows them.
    url: String,
    /// At least one event type.
    events: Vec<OneOf<EventType>>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CreatedWebhook")]
struct CreatedWebhook {
    #[oai(flatten)]
    webhook: WebhookView,
    /// The signing secret, `whsec_` + base64 of the key (Standard Webhooks). Shown this once.
    secret: String,
}

/// One delivery attempt of an endpoint's log.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "WebhookDelivery")]
struct DeliveryView {
    id: String,
    /// The event's id in the feed; none for a test delivery.
    event_id: Option<String>,
    /// The event type, or `webhook.test`.
    event_type: String,
    /// The `webhook-id` header: the same for every attempt of one event to one endpoint.
    message_id: String,
    /// When the attempt started.
    at: String,
    /// 1 for the first attempt of a delivery.
    attempt: u32,
    /// The HTTP status the target answered with.
    status: Option<u16>,
    /// Why the attempt failed (no answer, or a status other than 2xx).
    error: Option<String>,
    duration_ms: u64,
    result: OneOf<AttemptResult>,
}

impl From<&Attempt> for DeliveryView {
    fn from(a: &Attempt) -> Self {
        Self {
            id: a.id.clone(),
            event_id: a.event_id.map(|e| e.to_string()),
            event_type: a.event_type.clone(),
            message_id: a.msg_id.clone(),
            at: rfc3339(a.at),
            attempt: a.attempt,
            status: a.status,
            error: a.error.clone(),
            duration_ms: a.duration_ms,
            result: a.result.into(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "WebhookDeliveryList")]
struct DeliveryList {
    /// Newest first.
    items: Vec<DeliveryView>,
}

/// One event of the feed.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "Event")]
struct EventView {
    /// The event's cursor: pass it as `after` to read what follows.
    id: String,
    #[oai(rename = "type")]
    kind: OneOf<EventType>,
    at: String,
    /// The contract id, certificate serial or user id.
    subject_id: String,
    /// `actor` (`{kind, id}`) and the change's details.
    data: serde_json::Value,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind.into(),
            at: rfc3339(e.at),
            subject_id: e.subject_id.clone(),
            data: e.data.clone(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "EventList")]
struct EventList {
    /// Oldest first.
    items: Vec<EventView>,
    /// The cursor to continue from (`after=`); the same as given when nothing is newer.
    next: String,
}

#[derive(ApiResponse)]
enum Created {
    /// Created; the secret is in the answer this once.
    #[oai(status = 201)]
    Created(Json<CreatedWebhook>),
}

#[derive(ApiResponse)]
enum NoContent {
    #[oai(status = 204)]
    Done,
}

#[OpenApi]
impl IntegrationsApi {
    /// The tenant's webhook endpoints (the service owner's group administrators).
    #[oai(
        path = "/api/v1/t/:tenant/webhooks",
        method = "get",
        operation_id = "listWebhooks",
        tag = "Tag::Integrations"
    )]
    async fn list_webhooks(&self, ctx: Ctx, tenant: Path<String>, token: BearerToken) -> ApiResult<Json<WebhookList>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let hooks = self.integrations.list_webhooks(&caller).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(WebhookList { items: hooks.iter().map(WebhookView::from).collect() }))
    }

    /// Registers a webhook endpoint for the chosen event types (the service owner's group
    /// administrators). Deliveries are POSTed as JSON `{type, timestamp, data}` with the
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature` headers of Standard Webhooks.
    #[oai(
        path = "/api/v1/t/:tenant/webhooks",
        method = "post",
        operation_id = "createWebhook",
        tag = "Tag::Integrations"
    )]
    async fn create_webhook(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<CreateWebhookRequest>,
    ) -> ApiResult<Created> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let b = body.0;
        let input = NewWebhook { url: b.url, events: b.events.into_iter().map(OneOf::into_string).collect() };
        let created = self.integrations.create_webhook(&caller, input).await.map_err(|e| ctx.fail(&e))?;
        Ok(Created::Created(Json(CreatedWebhook {
            webhook: WebhookView::from(&created.webhook),
            secret: created.secret,
        })))
    }

    /// Deletes a webhook endpoint; its pending deliveries are dropped.
    #[oai(
        path = "/api/v1/t/:tenant/webhooks/:id",
        method = "delete",
        operation_id = "deleteWebhook",
        tag = "Tag::Integrations"
    )]
    async fn delete_webhook(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<NoContent> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.integrations.delete_webhook(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }

    /// The endpoint's delivery log: every attempt with its status or error and duration,
    /// newest first.
    #[oai(
        path = "/api/v1/t/:tenant/webhooks/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries",
        tag = "Tag::Integrations"
    )]
    async fn list_deliveries(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<DeliveryList>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let log = self.integrations.list_deliveries(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(DeliveryList { items: log.iter().map(DeliveryView::from).collect() }))
    }

    /// Sends a `webhook.test` message to the endpoint now and answers with the attempt.
    #[oai(
        path = "/api/v1/t/:tenant/webhooks/:id/test",
        method = "post",
        operation_id = "testWebhook",
        tag = "Tag::Integrations"
    )]
    async fn test_webhook(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<DeliveryView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let attempt = self.integrations.test_webhook(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(DeliveryView::from(&attempt)))
    }

    /// The tenant's events the caller may see, oldest first, after the cursor `after`
    /// (none: from the start). Group administrators of the service owner (and its 管理部)
    /// see every event; a partner's group administrators their company's.
    #[oai(path = "/api/v1/t/:tenant/events", method = "get", operation_id = "listEvents", tag = "Tag::Integrations")]
    async fn list_events(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        /// The `next` (or an event `id`) of an earlier page.
        after: Query<Option<String>>,
        /// Events per page, 1 to 500 (default 100).
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<EventList>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let page =
            self.integrations.list_events(&caller, after.0.as_deref(), limit.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(EventList { items: page.items.iter().map(EventView::from).collect(), next: page.next.to_string() }))
    }
}
