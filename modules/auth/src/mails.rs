//! Mails sent by the auth module, worded after the service manual.

use keiyaku_kernel::directory::{Tenant, User};
use keiyaku_kernel::mail::NewMail;

/// 「ユーザー登録通知」: user ID, initial password and the login URL.
pub fn registration(tenant: &Tenant, user: &User, password: &str, base_url: &str) -> NewMail {
    let body = format!(
        "{name}様\n\n\
         {service}電子契約サービスサポートからお知らせ致します。\n\
         電子契約サービスにて、ユーザー登録が完了しましたのでお知らせ致します。\n\n\
         ユーザーID: {user_id}\n\
         パスワード : {password}\n\n\
         下記URLよりログインしご利用下さい。\n\
         {base_url}/t/{code}/login\n\n\
         初回ログイン時にパスワードの変更をお願いします。\n\n\
         ※このメールは、「電子契約サービス」より自動的に送信されました。\n",
        name = user.name,
        service = tenant.name,
        user_id = user.user_id,
        code = tenant.code,
    );
    NewMail {
        tenant: Some(tenant.code.clone()),
        to: user.email.clone(),
        subject: "【電子契約サービス】 ユーザー登録通知".into(),
        body,
        attachments: Vec::new(),
    }
}
