//! The mails of the certificate flows, worded after the seed (§2.1 (6), (11), (12);
//! §2.2 (9), (15), (20), (21)).

use crate::documents::{term_label, yen};
use crate::model::{Application, CertRecord, Order};
use keiyaku_kernel::directory::Tenant;
use keiyaku_kernel::mail::{Attachment, NewMail};

const PREFIX: &str = "【電子契約サービス】";

fn footer(tenant: &Tenant) -> String {
    format!(
        "\n{name} 電子契約サービス 証明書発行窓口\n\n※このメールは、「電子契約サービス」より自動的に送信されました。\n",
        name = tenant.name
    )
}

fn mail(tenant: &Tenant, to: &str, subject: String, body: String) -> NewMail {
    NewMail {
        tenant: Some(tenant.code.clone()),
        to: to.to_string(),
        subject,
        body: format!("{body}{}", footer(tenant)),
        attachments: Vec::new(),
    }
}

pub fn tenant_url(base: &str, tenant: &str, rest: &str) -> String {
    format!("{base}/t/{tenant}/{rest}")
}

/// 「チケット購入用URLのご案内」 with the one-time order link.
pub fn order_link(tenant: &Tenant, to: &str, url: &str, ttl: &str) -> NewMail {
    mail(
        tenant,
        to,
        format!("{PREFIX}JCAN証明書発行チケット購入用URLのご案内"),
        format!(
            "電子契約サービス JCAN証明書発行チケット購入用URLのご案内\n\n\
             JCAN証明書発行チケットの購入手続きのご案内です。\n\
             以下の URL にアクセスして、チケット購入の手続きを行って下さい。\n\n\
             {url}\n\n\
             なお、この URL の有効期限は{ttl}です。ご注文いただくと、この URL は使用できなくなります。\n\
             期限を過ぎた場合には、再度メールアドレスの入力から手続きを行って下さい。\n"
        ),
    )
}

fn billing_block(order: &Order) -> String {
    let b = &order.billing;
    format!(
        "◆請求先情報\n送付種類: {}\n会社名: {}\n部署名: {}\n郵便番号: {}\n住所: {}\n電話番号: {}\n担当者名: {}\n担当者メールアドレス: {}\n\n\
         ◆注文情報\n注文番号: {}\n数量(1年): {}枚\n数量(2年): {}枚\n数量(3年): {}枚\n合計金額(税別): {}\n",
        order.delivery.label_ja(),
        b.company,
        b.department,
        b.postal_code,
        b.address,
        b.phone,
        b.contact_name,
        order.email,
        order.number,
        order.quantities[0],
        order.quantities[1],
        order.quantities[2],
        yen(order.total),
    )
}

/// 「注文受付のご案内」.
pub fn order_received(tenant: &Tenant, order: &Order, on_payment: bool) -> NewMail {
    let wait = if on_payment {
        "ご入金の確認後、チケット番号と請求書をお送りします。"
    } else {
        "チケット発行まで、いましばらくお待ち下さい。"
    };
    mail(
        tenant,
        &order.email,
        format!("{PREFIX}JCAN証明書発行チケットオンライン注文受付のご案内"),
        format!(
            "電子契約サービス JCAN証明書発行チケットオンライン注文受付のご案内\n\n\
             JCAN証明書発行チケットのご注文を受付ました。\nご注文ありがとうございました。\n\n{}\n{wait}\n",
            billing_block(order)
        ),
    )
}

/// 「チケット番号と請求書のご送付」 with the CSV and the invoice PDF.
pub fn tickets_and_invoice(tenant: &Tenant, order: &Order, csv: Vec<u8>, pdf: Vec<u8>) -> NewMail {
    let b = &order.billing;
    let mut m = mail(
        tenant,
        &order.email,
        format!("{PREFIX}JCAN証明書オンラインチケット番号と請求書のご送付"),
        format!(
            "電子契約サービス JCAN証明書チケット番号と請求書のご送付\n\n\
             {} {} 様\n\n\
             JCAN証明書オンライン発行申請システムのご利用をありがとうございます。\n\
             ご注文いただいたJCAN証明書発行申請用チケット番号とその請求書をご送付いたします。\n\n\
             添付のCSVファイルがチケット番号、PDFファイルが請求書になります。\n\
             ご査収ください。よろしくお願い致します。\n\n\
             注文番号: {}\nチケット枚数: {}枚\nご請求金額(税込): {}\n\n\
             チケット番号は「JCAN証明書発行申請」で使用します。\n\
             請求内容に従い、お支払い願います。\n",
            b.company,
            b.contact_name,
            order.number,
            order.tickets.len(),
            yen(order.total + order.tax),
        ),
    );
    m.attachments = vec![
        Attachment::new(&format!("tickets-{}.csv", order.number), "text/csv; charset=utf-8", &csv),
        Attachment::new(&format!("invoice-{}.pdf", order.number), "application/pdf", &pdf),
    ];
    m
}

/// 「申請登録のご案内」 with the one-time details link.
pub fn application_registered(tenant: &Tenant, app: &Application, url: &str, ttl: &str) -> NewMail {
    mail(
        tenant,
        &app.email,
        format!("{PREFIX}JCAN証明書オンライン申請登録のご案内"),
        format!(
            "電子契約サービス JCAN証明書オンライン申請登録のご案内\n\n\
             JCAN証明書のオンライン申請登録にお申し込みいただき、ありがとうございます。\n\
             以下の URL にアクセスして、発行申請の手続きを行って下さい。\n\n\
             {url}\n\n\
             なお、この URL の有効期限は{ttl}です。\n\
             期限を過ぎた場合には、再度申請登録を行って下さい。\n"
        ),
    )
}

fn holder_name(app: &Application) -> String {
    app.details.as_ref().map(|d| format!("{}{}", d.surname, d.given_name)).unwrap_or_default()
}

/// 「発行申請のご案内」 to the holder of a proxy application, with the approval link.
pub fn approval_request(tenant: &Tenant, app: &Application, to: &str, url: &str, ttl: &str) -> NewMail {
    let name = holder_name(app);
    mail(
        tenant,
        to,
        format!("{PREFIX}JCAN証明書オンライン発行申請のご案内"),
        format!(
            "電子契約サービス JCAN証明書オンライン発行申請のご案内\n\n\
             {name} 様\n\n\
             JCAN証明書オンライン発行システムのご利用をありがとうございます。\n\
             {name}様のご利用になるJCAN証明書の発行申請が、<{applicant}> 様より行われました。\n\n\
             以下の URL にアクセスして、申請内容をご確認いただき、発行をご承認ください。\n\
             ご承認が得られ次第、発行の手続きに入らせていただきます。\n\n\
             {url}\n\n\
             なお、この URL の有効期限は{ttl}です。\n\
             期限を過ぎた場合には、<{applicant}> 様にご連絡いただき、再度ご申請ください。\n",
            applicant = app.email
        ),
    )
}

/// 「発行申請受付のご案内」.
pub fn application_accepted(tenant: &Tenant, to: &str) -> NewMail {
    mail(
        tenant,
        to,
        format!("{PREFIX}JCAN証明書オンライン発行申請受付のご案内"),
        "電子契約サービス JCAN証明書オンライン発行申請受付のご案内\n\n\
         JCAN証明書オンライン発行申請システムでの電子証明書発行申請をありがとうございました。\n\n\
         JCAN証明書の発行申請を受け付けました。\n\
         JCAN証明書発行まで、いましばらくお待ち下さい。\n"
            .to_string(),
    )
}

/// The holder declined (承認しない).
pub fn application_rejected(tenant: &Tenant, app: &Application, to: &str) -> NewMail {
    mail(
        tenant,
        to,
        format!("{PREFIX}JCAN証明書オンライン発行申請 不承認のお知らせ"),
        format!(
            "電子契約サービス JCAN証明書オンライン発行申請 不承認のお知らせ\n\n\
             {name}様のJCAN証明書の発行申請(申請者 <{applicant}>)は、名義人により承認されませんでした。\n\
             証明書は発行されていません。チケット番号 {ticket} は引き続きご利用いただけます。\n\
             必要な場合は、申請者様から再度ご申請ください。\n",
            name = holder_name(app),
            applicant = app.email,
            ticket = app.ticket
        ),
    )
}

/// 「発行完了のお知らせ」 to applicant and holder.
pub fn issued(tenant: &Tenant, app: &Application, cert: &CertRecord, usable_from: &str, to: &str) -> NewMail {
    mail(
        tenant,
        to,
        format!("{PREFIX}JCAN証明書オンライン発行完了のお知らせ/{}:{}", tenant.code, app.ticket),
        format!(
            "電子契約サービス JCAN証明書発行完了のお知らせ\n\n\
             JCAN証明書オンライン発行システムでの電子証明書発行申請をありがとうございました。\n\
             JCAN証明書の発行が完了しました。\n\n\
             ◆申請情報\n[企業コード] {code}\n[ユーザーID] {user}\n[チケット番号] {ticket}\n\n\
             ◆証明書\n[表記名] {cn}\n[シリアル番号] {serial}\n[有効期間] {term}\n[利用開始日] {usable_from}\n\n\
             ご利用になるJCAN証明書は自動的に登録されます。\n\
             {usable_from}以降に電子契約サービスにログインし、\n\
             [管理メニュー]-[ユーザー管理]画面で証明書のテストをお試しください。\n",
            code = tenant.code,
            user = cert.user_id,
            ticket = app.ticket,
            cn = cert.common_name,
            serial = cert.serial,
            term = term_label(cert.term_years),
        ),
    )
}

/// 「有効期限のお知らせ」: the holder's certificate ends within
/// [`crate::certificates::EXPIRY_NOTICE_DAYS`] days and no replacement was issued.
pub fn expiring(tenant: &Tenant, cert: &CertRecord, ends: &str) -> NewMail {
    mail(
        tenant,
        &cert.email,
        format!("{PREFIX}JCAN証明書 有効期限のお知らせ/{}:{}", tenant.code, cert.user_id),
        format!(
            "電子契約サービス JCAN証明書 有効期限のお知らせ\n\n\
             ご利用中のJCAN証明書の有効期限が近づいています。\n\n\
             ◆証明書\n[企業コード] {code}\n[ユーザーID] {user}\n[表記名] {cn}\n[シリアル番号] {serial}\n\
             [有効期限] {ends}\n\n\
             有効期限を過ぎると、この証明書では署名できません。\n\
             引き続きご利用の場合は、[管理メニュー]-[証明書発行]画面から\n\
             新しい証明書を申請してください。\n",
            code = tenant.code,
            user = cert.user_id,
            cn = cert.common_name,
            serial = cert.serial,
        ),
    )
}

/// The one-time download link of a PKCS#12 key file.
pub fn key_file_ready(tenant: &Tenant, cert: &CertRecord, url: &str, ttl: &str) -> NewMail {
    mail(
        tenant,
        &cert.email,
        format!("{PREFIX}JCAN証明書 鍵ファイルダウンロードのご案内"),
        format!(
            "電子契約サービス JCAN証明書 鍵ファイルダウンロードのご案内\n\n\
             {cn} の証明書と秘密鍵を格納した鍵ファイル(PKCS#12)をご用意しました。\n\
             以下の URL から一度だけダウンロードできます。\n\n{url}\n\n\
             鍵ファイルは承認時に設定したPINコード(12桁)で保護されています。\n\
             なお、この URL の有効期限は{ttl}です。\n",
            cn = cert.common_name
        ),
    )
}

/// The certificate was revoked (失効).
pub fn revoked(tenant: &Tenant, cert: &CertRecord) -> NewMail {
    mail(
        tenant,
        &cert.email,
        format!("{PREFIX}JCAN証明書 失効のお知らせ"),
        format!(
            "電子契約サービス JCAN証明書 失効のお知らせ\n\n\
             以下の証明書を失効しました。失効した証明書では署名できません。\n\n\
             [企業コード] {code}\n[ユーザーID] {user}\n[表記名] {cn}\n[シリアル番号] {serial}\n[失効理由] {reason}\n",
            code = tenant.code,
            user = cert.user_id,
            cn = cert.common_name,
            serial = cert.serial,
            reason = cert.revocation_reason.as_deref().unwrap_or("")
        ),
    )
}
