//! 合意締結証明書: the completion report of a contract as a PDF — parties, every step with
//! who and when (and for whom a delegate signed), the signatures as verified in the signed
//! documents, and the SHA-256 of every stored version.

use crate::error::ContractsError;
use crate::mails::yen;
use crate::model::{Contract, Party};
use crate::sign;
use crate::storage;
use keiyaku_kernel::clock::tokyo;
use keiyaku_kernel::directory;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::pdf::{Document, Font, Page};
use keiyaku_kernel::store::Read;

const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const BOTTOM: f32 = 800.0;

fn when(ts: jiff::Timestamp) -> String {
    ts.to_zoned_datetime(tokyo()).strftime("%Y/%m/%d %H:%M:%S").to_string()
}

/// A piece of text at a position on a page.
struct Item {
    x: f32,
    y: f32,
    size: f32,
    font: Font,
    text: String,
}

/// Lines of text flowing over as many A4 pages as needed.
struct Writer {
    doc: Document,
    lines: Vec<Vec<Item>>,
    y: f32,
}

impl Writer {
    fn new(title: &str) -> Self {
        Self { doc: Document::new().title(title), lines: vec![Vec::new()], y: 60.0 }
    }

    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.lines.push(Vec::new());
            self.y = 60.0;
        }
    }

    fn put(&mut self, x: f32, size: f32, font: Font, s: &str) {
        if let Some(page) = self.lines.last_mut() {
            page.push(Item { x, y: self.y, size, font, text: s.to_string() });
        }
    }

    fn line(&mut self, size: f32, font: Font, s: &str) {
        for part in keiyaku_kernel::pdf::wrap_lines(s, size, RIGHT - LEFT) {
            self.room(size * 1.6);
            self.put(LEFT, size, font, &part);
            self.y += size * 1.6;
        }
    }

    fn pair(&mut self, label: &str, value: &str) {
        let size = 10.0;
        let lines = keiyaku_kernel::pdf::wrap_lines(value, size, RIGHT - LEFT - 110.0);
        self.room(size * 1.6 * lines.len().max(1) as f32);
        self.put(LEFT, size, Font::Gothic, label);
        for (i, part) in lines.iter().enumerate() {
            if i > 0 {
                self.y += size * 1.6;
            }
            if let Some(page) = self.lines.last_mut() {
                page.push(Item { x: LEFT + 110.0, y: self.y, size, font: Font::Mincho, text: part.clone() });
            }
        }
        self.y += size * 1.6;
    }

    fn heading(&mut self, s: &str) {
        self.y += 8.0;
        self.room(30.0);
        self.put(LEFT, 12.0, Font::Gothic, s);
        self.y += 18.0;
    }

    fn finish(mut self) -> Vec<u8> {
        let pages = std::mem::take(&mut self.lines);
        let total = pages.len();
        for (n, items) in pages.into_iter().enumerate() {
            let page: &mut Page = self.doc.add_page();
            for i in items {
                page.font(i.font).text(i.x, i.y, i.size, &i.text);
            }
            let w = page.width();
            page.font(Font::Mincho).text_center(w / 2.0, 820.0, 8.0, &format!("{} / {total}", n + 1));
        }
        self.doc.to_bytes()
    }
}

/// The report of `c` as a PDF.
pub fn completion_report(tx: &impl Read, c: &Contract) -> Result<Vec<u8>, ContractsError> {
    let ja = Lang::Ja;
    let company = |id: &str| -> Result<String, ContractsError> {
        Ok(directory::get_company(tx, &c.tenant, id)?.map(|x| x.name).unwrap_or_else(|| id.to_string()))
    };
    let user = |id: &str| -> Result<String, ContractsError> {
        Ok(directory::get_user(tx, &c.tenant, id)?.map(|u| format!("{} ({id})", u.name)).unwrap_or_else(|| id.into()))
    };
    let tenant = directory::get_tenant(tx, &c.tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
    let owner = company(&tenant.owner_company_id)?;
    let partner = company(&c.counterparty)?;

    let mut w = Writer::new("合意締結証明書");
    w.put(LEFT, 20.0, Font::Gothic, "合意締結証明書");
    w.y += 16.0;
    w.line(9.0, Font::Mincho, &format!("発行日時：{}　発行：{} 電子契約サービス", when(tx.now()), tenant.name));
    w.line(
        9.0,
        Font::Mincho,
        "本証明書は、下記の契約が電子契約サービス上で回覧・承認され、電子署名により締結されたことを証明します。",
    );

    w.heading("契約の内容");
    w.pair("契約番号", &c.number);
    w.pair("件名", &c.title);
    w.pair("文書種別", c.doc_type.label(ja));
    w.pair("取引年月日", &c.transaction_date.strftime("%Y年%m月%d日").to_string());
    w.pair("取引金額", &format!("{}円（{}）", yen(c.amount), c.tax.label(ja)));
    for f in &c.fields {
        w.pair(&f.name, &f.value);
    }
    w.pair("状態", c.status.label(ja));
    if let Some(at) = c.completed_at {
        w.pair("締結日時", &when(at));
    }
    w.pair("保存期限", &c.retention_until.strftime("%Y年%m月%d日").to_string());

    w.heading("当事者");
    w.pair("サービスオーナー", &owner);
    w.pair("取引先", &partner);
    w.pair("登録者", &user(&c.registrant)?);

    w.heading("回覧・承認の経過");
    for (i, s) in c.route.iter().enumerate() {
        let side = match s.party {
            Party::Owner => &owner,
            Party::Partner => &partner,
        };
        let state = match &s.done {
            Some(d) => {
                let by = user(&d.by)?;
                let action = if s.is_signing() { "署名" } else { "承認" };
                match &d.on_behalf_of {
                    Some(signer) => format!("{} {action}（{by} が {} の代理として実施）", when(d.at), user(signer)?),
                    None => format!("{} {action}（{by}）", when(d.at)),
                }
            }
            None => "未了".to_string(),
        };
        w.pair(&format!("{}. {}", i + 1, s.role.label(ja)), &format!("{side}　{state}"));
        let mandate =
            c.history.iter().rev().find(|e| e.action == "sign" && e.step == Some(i)).and_then(|e| e.mandate.as_ref());
        if let (Some(m), Some(_)) = (mandate, &s.done) {
            w.pair("　署名操作代行の委任", &m.id);
            w.pair("　委任内容のSHA-256", &m.sha256);
        }
    }
    for e in c
        .history
        .iter()
        .filter(|e| matches!(e.action.as_str(), "send_back" | "resubmit" | "cancel" | "correct" | "delete"))
    {
        let label = match e.action.as_str() {
            "send_back" => "差戻し",
            "resubmit" => "再提出",
            "correct" => "訂正",
            "delete" => "削除",
            _ => "取消",
        };
        let comment = e.comment.as_deref().map(|c| format!("「{c}」")).unwrap_or_default();
        w.pair(label, &format!("{} {} {comment}", when(e.at), user(&e.by)?));
    }

    w.heading("文書と電子署名");
    for d in &c.documents {
        w.line(10.0, Font::Gothic, &format!("{}：{}", d.id, d.name));
        for v in &d.versions {
            let kind = match (&v.signer, v.n) {
                (Some(signer), _) if *signer != v.by => {
                    format!("署名済（{} が {} の代理として署名）", user(&v.by)?, user(signer)?)
                }
                (Some(signer), _) => format!("署名済（{}）", user(signer)?),
                (None, 1) => "原本".to_string(),
                (None, _) => "差替え".to_string(),
            };
            let deleted = v.deleted_at.map(|at| format!("（{} 削除）", when(at))).unwrap_or_default();
            w.line(8.5, Font::Mincho, &format!("版{} {} {} {}バイト{deleted}", v.n, when(v.created_at), kind, v.size));
            w.line(8.5, Font::Mincho, &format!("　SHA-256: {}", v.sha256));
        }
        if let Some(latest) = d.latest().filter(|v| v.signer.is_some() && v.deleted_at.is_none()) {
            let pdf = storage::get_blob(tx, &c.tenant, &latest.sha256)?;
            for line in sign::describe_signatures(&pdf) {
                w.line(8.5, Font::Mincho, &format!("　{line}"));
            }
        }
    }
    Ok(w.finish())
}
