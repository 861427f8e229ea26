//! Mails of the users module about delegation mandates (署名操作代行の委任), worded after the
//! service manual: the signer and the delegate hear of every change.

use crate::delegates::Mandate;
use keiyaku_kernel::directory::{Tenant, User};
use keiyaku_kernel::mail::NewMail;

const FOOTER: &str = "\n※このメールは、「電子契約サービス」より自動的に送信されました。\n";

fn mail(tenant: &Tenant, to: &User, subject: &str, body: String) -> NewMail {
    NewMail {
        tenant: Some(tenant.code.clone()),
        to: to.email.clone(),
        subject: format!("【電子契約サービス】 {subject}"),
        body: format!(
            "{}様\n\n{}電子契約サービスサポートからお知らせ致します。\n\n{body}{FOOTER}",
            to.name, tenant.name
        ),
        attachments: Vec::new(),
    }
}

fn limits(m: &Mandate) -> String {
    let mut lines = Vec::new();
    lines.push(format!(
        "有効期限：{}",
        m.limits.valid_until.map(|d| d.strftime("%Y/%m/%d").to_string()).unwrap_or_else(|| "なし".into())
    ));
    lines.push(format!(
        "金額の上限：{}",
        m.limits.max_amount.map(|a| format!("{}円", yen(a))).unwrap_or_else(|| "なし".into())
    ));
    let types: Vec<&str> = m.limits.doc_types.iter().map(|t| t.label(keiyaku_kernel::Lang::Ja)).collect();
    lines.push(format!("文書種別：{}", if types.is_empty() { "すべて".to_string() } else { types.join("、") }));
    lines.join("\n")
}

use keiyaku_kernel::numbers::grouped as yen;

fn parties(signer: &User, delegate: &User, m: &Mandate) -> String {
    format!(
        "委任番号：{}\n署名者：{}（{}）\n代行ユーザー：{}（{}）\n{}",
        m.id,
        signer.name,
        signer.user_id,
        delegate.name,
        delegate.user_id,
        limits(m)
    )
}

/// A mandate was set: the signer is asked to confirm it (unless they set and confirmed it
/// themself), the delegate learns of it.
pub fn added(tenant: &Tenant, signer: &User, delegate: &User, by: &str, m: &Mandate, url: &str) -> Vec<NewMail> {
    let what = parties(signer, delegate, m);
    let to_signer = if m.is_confirmed() {
        mail(
            tenant,
            signer,
            "署名操作代行の委任が設定されました",
            format!(
                "以下の署名操作代行の委任を設定し、証明書のPINコードで確認しました。\n\n{what}\n\n\
                 委任の内容は下記URLよりご確認いただけます。\n{url}\n"
            ),
        )
    } else {
        mail(
            tenant,
            signer,
            "署名操作代行の委任確認のお願い",
            format!(
                "{by}により、あなたの署名操作を代行するユーザーが設定されました。\n\
                 あなたが証明書のPINコードで確認するまで、代行ユーザーは署名できません。\n\n{what}\n\n\
                 下記URLよりログインして、内容をご確認の上「確認」または「削除」してください。\n{url}\n"
            ),
        )
    };
    let state = if m.is_confirmed() {
        "署名者の確認済みです。"
    } else {
        "署名者の確認後に署名できるようになります。"
    };
    let to_delegate = mail(
        tenant,
        delegate,
        "署名操作代行ユーザーに設定されました",
        format!("あなたが以下の署名者の署名操作代行ユーザーに設定されました。{state}\n\n{what}\n"),
    );
    vec![to_signer, to_delegate]
}

/// The signer confirmed a mandate with their PIN.
pub fn confirmed(tenant: &Tenant, signer: &User, delegate: &User, m: &Mandate) -> Vec<NewMail> {
    let what = parties(signer, delegate, m);
    let sha = m.sha256.as_deref().unwrap_or_default();
    [signer, delegate]
        .into_iter()
        .map(|to| {
            mail(
                tenant,
                to,
                "署名操作代行の委任が確認されました",
                format!(
                    "以下の署名操作代行の委任が、署名者の証明書で確認されました。\n\n{what}\n委任内容のSHA-256：{sha}\n"
                ),
            )
        })
        .collect()
}

/// A mandate was removed.
pub fn removed(tenant: &Tenant, signer: &User, delegate: &User, by: &str, m: &Mandate) -> Vec<NewMail> {
    let what = parties(signer, delegate, m);
    [signer, delegate]
        .into_iter()
        .map(|to| {
            mail(
                tenant,
                to,
                "署名操作代行の委任が削除されました",
                format!("{by}により、以下の署名操作代行の委任が削除されました。\n\n{what}\n"),
            )
        })
        .collect()
}
