//! The mail of the integrations module: 「Webhookの送信停止のお知らせ」 to the service owner's
//! group administrators when an endpoint is disabled after repeated failure.

use crate::webhooks::Webhook;
use keiyaku_kernel::directory::{Tenant, User};
use keiyaku_kernel::mail::NewMail;

const FOOTER: &str = "\n※このメールは、「電子契約サービス」より自動的に送信されました。\n";

/// The endpoint was disabled; `last` says how its last attempt failed.
pub fn disabled(tenant: &Tenant, to: &User, hook: &Webhook, last: &str) -> NewMail {
    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
    NewMail {
        tenant: Some(tenant.code.clone()),
        to: to.email.clone(),
        subject: "【電子契約サービス】 Webhookの送信停止のお知らせ".into(),
        body: format!(
            "{}様\n\n{}電子契約サービスサポートからお知らせ致します。\n\n\
             以下のWebhookへの送信が{}件続けて失敗したため、このWebhookを無効にしました。\n\
             無効にした後のイベントは送信されません。\n\n\
             Webhook ID：{}\n送信先URL：{}\nイベント：{}\n最後のエラー：{}\n\n\
             送信先のサーバーをご確認の上、Webhookを登録し直してください。\n{FOOTER}",
            to.name,
            tenant.name,
            hook.failures,
            hook.id,
            hook.url,
            events.join("、"),
            last
        ),
        attachments: Vec::new(),
    }
}
