//! What the buyer and the applicant receive as files: the ticket numbers (CSV for Excel),
//! the invoice (PDF), and the registration text (登録内容のダウンロード).

use crate::model::{Application, Order, Ticket};
use jiff::Timestamp;
use keiyaku_kernel::clock::tokyo;
use keiyaku_kernel::pdf::{Document, Font};

/// Consumption tax rate in percent (消費税).
pub const TAX_PERCENT: u64 = 10;

/// `6000` → `¥6,000`.
pub fn yen(amount: u64) -> String {
    format!("¥{}", keiyaku_kernel::numbers::grouped_u64(amount))
}

/// `2026年11月25日`.
pub fn date_ja(ts: Timestamp) -> String {
    ts.to_zoned_datetime(tokyo()).strftime("%Y年%m月%d日").to_string()
}

pub fn term_label(years: u8) -> String {
    format!("{years}年物")
}

/// Subtotals per term, the total (tax excluded) and the tax.
pub fn totals(prices: [u32; 3], quantities: [u32; 3]) -> ([u64; 3], u64, u64) {
    let subtotals = [0, 1, 2].map(|i| u64::from(prices[i]) * u64::from(quantities[i]));
    let total: u64 = subtotals.iter().sum();
    (subtotals, total, total * TAX_PERCENT / 100)
}

/// The ticket numbers of an order: UTF-8 with BOM and CRLF, as Excel opens it.
pub fn tickets_csv(tenant: &str, order: &Order, tickets: &[Ticket]) -> Vec<u8> {
    let header = ["チケット番号", "証明書の種類", "企業コード", "注文番号", "証明書送付種類"].map(String::from);
    let rows = tickets.iter().map(|t| {
        [
            t.number.clone(),
            term_label(t.term_years),
            tenant.to_string(),
            order.number.clone(),
            t.delivery.label_ja().into(),
        ]
    });
    keiyaku_kernel::csv::file(std::iter::once(header).chain(rows))
}

/// The invoice (請求書) of an order, as a PDF.
pub fn invoice_pdf(tenant: &str, issuer: &str, order: &Order) -> Vec<u8> {
    let b = &order.billing;
    let grand = order.total + order.tax;
    Document::new()
        .title(&format!("請求書 {}", order.number))
        .page(|p| {
            let (left, right) = (56.0, 539.0);
            p.font(Font::Gothic).text_center(297.6, 80.0, 22.0, "請 求 書");
            p.font(Font::Mincho);
            p.text_right(right, 110.0, 10.0, &format!("請求番号: {}", order.number));
            p.text_right(
                right,
                125.0,
                10.0,
                &format!("発行日: {}", date_ja(order.released_at.unwrap_or(order.created_at))),
            );
            p.text(left, 150.0, 12.0, &format!("{} {}", b.company, b.department));
            p.text(left, 168.0, 12.0, &format!("{} 様", b.contact_name));
            p.text(left, 186.0, 10.0, &format!("〒{} {}", b.postal_code, b.address));
            p.line(left, 192.0, 320.0, 192.0, 0.6);
            p.text_right(right, 168.0, 10.0, issuer);
            p.text_right(right, 183.0, 10.0, "電子契約サービス 証明書発行窓口");
            p.text(left, 225.0, 10.5, "下記のとおりご請求申し上げます。");
            p.fill_rect(left, 238.0, 280.0, 28.0, 0.92);
            p.font(Font::Gothic).text(left + 8.0, 257.0, 12.0, "ご請求金額(税込)");
            p.text_right(left + 272.0, 257.0, 14.0, &yen(grand));
            // Items.
            let top = 290.0;
            let cols = [left, 330.0, 410.0, right];
            p.fill_rect(left, top, right - left, 20.0, 0.85);
            p.text(cols[0] + 6.0, top + 14.0, 10.0, "品目");
            p.text_right(cols[1] + 60.0, top + 14.0, 10.0, "単価");
            p.text_right(cols[2] + 50.0, top + 14.0, 10.0, "数量");
            p.text_right(cols[3] - 6.0, top + 14.0, 10.0, "金額");
            p.font(Font::Mincho);
            let mut y = top + 20.0;
            for i in 0..3 {
                let years = (i + 1) as u8;
                p.text(cols[0] + 6.0, y + 15.0, 10.0, &format!("JCAN証明書発行チケット({})", term_label(years)));
                p.text_right(cols[1] + 60.0, y + 15.0, 10.0, &yen(u64::from(order.prices[i])));
                p.text_right(cols[2] + 50.0, y + 15.0, 10.0, &format!("{}枚", order.quantities[i]));
                p.text_right(cols[3] - 6.0, y + 15.0, 10.0, &yen(order.subtotals[i]));
                y += 22.0;
                p.line(left, y, right, y, 0.3);
            }
            p.rect(left, top, right - left, y - top, 0.6);
            let rows = [
                ("合計金額(税別)", yen(order.total)),
                (&*format!("消費税({TAX_PERCENT}%)"), yen(order.tax)),
                ("ご請求金額(税込)", yen(grand)),
            ];
            let mut y = y + 22.0;
            for (label, amount) in rows {
                p.text(cols[2] - 40.0, y, 10.5, label);
                p.text_right(cols[3] - 6.0, y, 10.5, &amount);
                p.line(cols[2] - 40.0, y + 5.0, right, y + 5.0, 0.3);
                y += 20.0;
            }
            y += 20.0;
            p.text(left, y, 10.0, &format!("企業コード: {tenant}"));
            p.text(left, y + 16.0, 10.0, &format!("証明書送付種類: {}", order.delivery.label_ja()));
            p.text(
                left,
                y + 32.0,
                10.0,
                &format!("チケット枚数: {}枚(チケット番号は添付のCSVファイルをご覧ください)", order.tickets.len()),
            );
            p.text_wrapped(
                left,
                y + 60.0,
                right - left,
                9.0,
                14.0,
                "※金額は税別の単価に基づき計算しています。チケット番号は「JCAN証明書発行申請」でご使用ください。",
            );
        })
        .to_bytes()
}

/// 登録内容のダウンロード: everything entered, as text (CRLF). With `pin`, the PIN too (the
/// holder's download on the approval page).
pub fn registration_text(tenant: &str, app: &Application, pin: Option<&str>, now: Timestamp) -> String {
    let mut lines: Vec<String> = vec![
        "JCAN証明書発行申請 登録内容".into(),
        String::new(),
        format!("企業コード: {tenant}"),
        format!("チケット番号: {}", app.ticket),
        format!("証明書の種類: {}", term_label(app.term_years)),
        format!("証明書送付種類: {}", app.delivery.label_ja()),
        format!("申請者: {}", app.applicant.label_ja()),
        format!("申請者メールアドレス: {}", app.email),
    ];
    if let Some(d) = &app.details {
        lines.extend([
            format!("会社名(漢字): {}", d.company_name),
            format!("会社名(フリガナ): {}", d.company_name_kana),
            format!("名義人 姓(漢字): {}", d.surname),
            format!("名義人 名(漢字): {}", d.given_name),
            format!("名義人 姓(フリガナ): {}", d.surname_kana),
            format!("名義人 名(フリガナ): {}", d.given_name_kana),
            format!("ユーザーID: {}", d.user_id),
            format!("名義人 メールアドレス: {}", d.email),
            format!("JCAN証明書上の表記名: {}", d.certificate_name()),
            format!("お問い合わせさせていただく場合の電話番号: {}", d.phone),
        ]);
    }
    if let Some(doc) = &app.document {
        lines.push(format!("名義人 本人確認書類: {}", doc.name));
    }
    if let Some(pin) = pin {
        lines.push(format!("JCAN証明書パスワード(PINコード): {pin}"));
    }
    lines.push(String::new());
    lines.push(format!("作成日時: {}", keiyaku_kernel::clock::display(now)));
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Billing, Delivery, TicketStatus};

    fn order() -> Order {
        let (subtotals, total, tax) = totals([3000, 4500, 6000], [0, 0, 1]);
        Order {
            id: "o1".into(),
            number: "T000001".into(),
            tenant: "HXOS2".into(),
            email: "horii@example.jp".into(),
            delivery: Delivery::Service,
            billing: Billing {
                company: "オリエンタル白石株式会社本社".into(),
                department: "土木事業本部工事部".into(),
                postal_code: "135-0061".into(),
                address: "東京都江東区豊洲五丁目6番52号".into(),
                phone: "03-6220-0635".into(),
                contact_name: "堀井 裕蔵".into(),
            },
            quantities: [0, 0, 1],
            prices: [3000, 4500, 6000],
            subtotals,
            total,
            tax,
            tickets: vec!["3f3091dd-a5b0-47f9-8c1e-1234567890ab".into()],
            created_at: Timestamp::UNIX_EPOCH,
            paid_at: None,
            released_at: None,
        }
    }

    #[test]
    fn money_and_totals() {
        assert_eq!(yen(0), "¥0");
        assert_eq!(yen(6000), "¥6,000");
        assert_eq!(yen(1234567), "¥1,234,567");
        assert_eq!(totals([3000, 4500, 6000], [1, 2, 3]), ([3000, 9000, 18000], 30000, 3000));
    }

    #[test]
    fn csv_has_bom_header_and_defused_fields() {
        let o = order();
        let t = Ticket {
            number: o.tickets[0].clone(),
            tenant: "HXOS2".into(),
            order_id: "o1".into(),
            term_years: 3,
            delivery: Delivery::Service,
            status: TicketStatus::Available,
            consumed_by: None,
            consumed_at: None,
        };
        let csv = String::from_utf8(tickets_csv("HXOS2", &o, &[t])).unwrap_or_default();
        assert!(csv.starts_with("\u{FEFF}チケット番号,"));
        assert!(
            csv.contains("3f3091dd-a5b0-47f9-8c1e-1234567890ab,3年物,HXOS2,T000001,電子契約サービスに直接送付\r\n")
        );
    }

    #[test]
    fn invoice_is_a_pdf_with_the_totals() {
        let pdf = invoice_pdf("HXOS2", "オリエンタル白石株式会社", &order());
        assert!(pdf.starts_with(b"%PDF-"));
        // The text as a reader extracts it (through the fonts' ToUnicode maps).
        let text = lopdf::Document::load_mem(&pdf).unwrap().extract_text(&[1]).unwrap();
        assert!(text.contains("¥6,000"), "{text}");
        assert!(text.contains("オリエンタル白石株式会社"), "{text}");
    }
}
