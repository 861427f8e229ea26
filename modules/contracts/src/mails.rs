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
pub fn yen(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

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

#[cfg(test)]
mod tests {
    use super::yen;
    use proptest::prelude::*;

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0), "0");
        assert_eq!(yen(1_000), "1,000");
        assert_eq!(yen(4_180_000), "4,180,000");
        assert_eq!(yen(-12_345), "-12,345");
    }

    proptest! {
        #[test]
        fn yen_reads_back(n in any::<i64>()) {
            let s = yen(n);
            prop_assert_eq!(s.replace(',', "").parse::<i128>().ok(), Some(i128::from(n)));
        }
    }
}
