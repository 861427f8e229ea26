//! The mails of the contract flows: 確認依頼 to the next step's users (and a signer's
//! delegates), 差戻しのお知らせ to the registrant, 締結完了のお知らせ to everyone on the route.

use crate::Env;
use crate::error::ContractsError;
use crate::model::Contract;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::{self, Tenant};
use keiyaku_kernel::mail::NewMail;
use keiyaku_kernel::store::Tx;

const PREFIX: &str = "【電子契約サービス】";

fn footer(tenant: &Tenant) -> String {
    format!("\n{} 電子契約サービス\n\n※このメールは、「電子契約サービス」より自動的に送信されました。\n", tenant.name)
}

fn url(env: &Env<'_>, c: &Contract) -> String {
    format!("{}/t/{}/contracts/{}", env.base_url, c.tenant, c.id)
}

fn summary(tx: &Tx, c: &Contract) -> Result<String, ContractsError> {
    let partner = directory::get_company(tx, &c.tenant, &c.counterparty)?.map(|p| p.name).unwrap_or_default();
    Ok(format!(
        "契約番号：{}\n件名：{}\n取引先：{}\n取引年月日：{}\n取引金額：{}円",
        c.number,
        c.title,
        partner,
        c.transaction_date.strftime("%Y/%m/%d"),
        yen(c.amount)
    ))
}

/// `1234567` → `1,234,567`.
pub use keiyaku_kernel::numbers::grouped as yen;

fn send(
    tx: &mut Tx,
    env: &Env<'_>,
    tenant: &Tenant,
    user_id: &str,
    subject: String,
    body: String,
) -> Result<(), ContractsError> {
    let Some(user) = directory::get_user(tx, &tenant.code, user_id)? else { return Ok(()) };
    let mail = NewMail {
        tenant: Some(tenant.code.clone()),
        to: user.email.clone(),
        subject,
        body: format!("{} 様\n\n{body}{}", user.name, footer(tenant)),
        attachments: Vec::new(),
    };
    tx.send_mail(mail, env.config.mail.smtp_enabled())?;
    Ok(())
}

/// 「文書の確認依頼」 to the current step's users, and for a signing step to their delegates.
pub fn request_step(tx: &mut Tx, env: &Env<'_>, tenant: &Tenant, c: &Contract) -> Result<(), ContractsError> {
    let Some(step) = c.current_step() else { return Ok(()) };
    let what = if step.is_signing() { "署名" } else { "確認・承認" };
    let body = format!(
        "以下の文書があなたの{what}を待っています。\n\n{}\n\n下記URLよりログインして、内容をご確認ください。\n{}\n",
        summary(tx, c)?,
        url(env, c)
    );
    let mut to: Vec<String> = step.users.clone();
    if step.is_signing() {
        for signer in &step.users {
            to.extend(keiyaku_users::delegates::delegate_ids(tx, &c.tenant, signer)?);
        }
    }
    to.sort();
    to.dedup();
    for u in to {
        send(tx, env, tenant, &u, format!("{PREFIX}文書の{what}依頼"), body.clone())?;
    }
    Ok(())
}

/// 「差戻しのお知らせ」 to the registrant, with who sent it back and why.
pub fn sent_back(
    tx: &mut Tx,
    env: &Env<'_>,
    tenant: &Tenant,
    c: &Contract,
    by: &Caller,
    comment: &str,
) -> Result<(), ContractsError> {
    let body = format!(
        "以下の文書が{}様により差し戻されました。\n\n{}\n\n差戻し理由：\n{comment}\n\n内容を修正のうえ、再提出してください。\n{}\n",
        by.name,
        summary(tx, c)?,
        url(env, c)
    );
    send(tx, env, tenant, &c.registrant, format!("{PREFIX}文書の差戻しのお知らせ"), body)
}

/// 「締結完了のお知らせ」 to the registrant and everyone on the route.
pub fn completed(tx: &mut Tx, env: &Env<'_>, tenant: &Tenant, c: &Contract) -> Result<(), ContractsError> {
    let body = format!(
        "以下の契約の締結が完了しました。\n\n{}\n\n署名済みの文書と合意締結証明書は、下記URLからダウンロードできます。\n{}\n",
        summary(tx, c)?,
        url(env, c)
    );
    for u in c.participants() {
        send(tx, env, tenant, &u, format!("{PREFIX}締結完了のお知らせ"), body.clone())?;
    }
    Ok(())
}

/// 「署名用認証コードのお知らせ」 to a delegate about to sign on a signer's behalf.
pub fn signing_code(
    tx: &mut Tx,
    env: &Env<'_>,
    c: &Contract,
    delegate: &directory::User,
    code: &str,
    expires_at: jiff::Timestamp,
) -> Result<(), ContractsError> {
    let tenant = directory::get_tenant(tx, &c.tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
    let body = format!(
        "代行署名の認証コードをお知らせします。\n\n認証コード：{code}\n有効期限：{}（10分間・1回のみ有効）\n\n{}\n\n\
         署名画面で認証コードを入力してください。心当たりのない場合は、このメールを破棄し、管理者にご連絡ください。\n{}\n",
        keiyaku_kernel::clock::display(expires_at),
        summary(tx, c)?,
        url(env, c)
    );
    send(tx, env, &tenant, &delegate.user_id, format!("{PREFIX}署名用認証コードのお知らせ"), body)
}

/// 「代理署名のお知らせ」 to the signer whenever a delegate signed on their behalf.
pub fn signed_on_behalf(
    tx: &mut Tx,
    env: &Env<'_>,
    tenant: &Tenant,
    c: &Contract,
    signer: &directory::User,
    delegate: &Caller,
    mandate_id: &str,
) -> Result<(), ContractsError> {
    let body = format!(
        "{}（{}）が、あなたの電子証明書で以下の文書に代理署名しました。\n委任番号：{mandate_id}\n\n{}\n\n\
         下記URLより内容をご確認いただけます。心当たりのない場合は、直ちに管理者にご連絡ください。\n{}\n",
        delegate.name,
        delegate.user_id,
        summary(tx, c)?,
        url(env, c)
    );
    send(tx, env, tenant, &signer.user_id, format!("{PREFIX}代理署名のお知らせ"), body)
}
