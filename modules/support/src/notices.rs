//! Notices (お知らせ): per-tenant announcements with a title, a plain-text body (its URLs are
//! shown as links), a publication window and an audience.

use crate::SupportError;
use jiff::Timestamp;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::clock::tokyo;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use keiyaku_kernel::validate::{Rule, Validator};
use serde::{Deserialize, Serialize};

/// `tenant/id` → notice (ids are time-ordered).
pub const NOTICES: Table<Notice> = Table::new("support_notices");

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 4000;

/// Who a notice is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every user of the tenant.
    #[default]
    All,
    /// Users of the service owner company.
    Owner,
    /// Users of the partner companies (取引先).
    Partners,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::All, Audience::Owner, Audience::Partners];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::All => "all",
            Audience::Owner => "owner",
            Audience::Partners => "partners",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Audience::All => lang.pick("全員", "Everyone"),
            Audience::Owner => lang.pick("サービスオーナー", "Service owner"),
            Audience::Partners => lang.pick("取引先", "Partners"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub tenant: String,
    pub title: String,
    /// Plain text; line breaks are kept, URLs become links when shown.
    pub body: String,
    pub audience: Audience,
    pub publish_at: Timestamp,
    /// Shown until (exclusive); none: no end.
    pub expire_at: Option<Timestamp>,
    pub created_by: String,
    pub created_at: Timestamp,
}

impl Notice {
    /// Inside its publication window at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.publish_at <= now && self.expire_at.is_none_or(|end| now < end)
    }
}

/// A notice as entered (API body or web form).
#[derive(Debug, Clone, Default)]
pub struct NoticeInput {
    pub title: String,
    pub body: String,
    /// `all` (default), `owner` or `partners`.
    pub audience: Option<String>,
    /// RFC 3339, or `YYYY-MM-DD[THH:MM[:SS]]` in Japan time; default: now.
    pub publish_at: Option<String>,
    /// Same forms; default: no end.
    pub expire_at: Option<String>,
}

/// Reads a time given as RFC 3339 (with offset), or as a date and optional time without
/// offset (an `<input type="datetime-local">` value) taken as Japan time.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned_datetime(tokyo()).ok().map(|z| z.timestamp());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d.to_zoned_datetime(tokyo()).ok().map(|z| z.timestamp());
    }
    None
}

fn bad_time() -> Rule {
    Rule::Custom {
        code: FieldCode::InvalidDatetime,
        ja: "日時の形式が正しくありません(例: 2026-12-01T09:00+09:00)。".into(),
        en: "This is not a valid date and time (e.g. 2026-12-01T09:00+09:00).".into(),
    }
}

/// Plain text of at most `max` characters: line breaks and tabs allowed, other control
/// characters refused.
fn check_body(v: &mut Validator, field: &str, body: &str, max: usize) {
    if body.trim().is_empty() {
        v.fail(field, Rule::Required);
    } else if body.chars().count() > max {
        v.fail(field, Rule::TooLong { max });
    } else if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        v.fail(
            field,
            Rule::Custom {
                code: FieldCode::InvalidCharacters,
                ja: "制御文字は使用できません。".into(),
                en: "Control characters are not allowed.".into(),
            },
        );
    }
}

/// Checks an input and turns it into the notice to store (at `now`, by `created_by`).
pub fn validate(input: &NoticeInput, tenant: &str, created_by: &str, now: Timestamp) -> Result<Notice, SupportError> {
    let mut v = Validator::new();
    let title = input.title.trim();
    v.text("title", title, TITLE_MAX);
    let body = input.body.replace("\r\n", "\n").replace('\r', "\n");
    let body = body.trim_matches(|c: char| c.is_whitespace()).to_string();
    check_body(&mut v, "body", &body, BODY_MAX);
    let audience = match input.audience.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => Audience::All,
        Some(a) => Audience::parse(a).unwrap_or_else(|| {
            v.fail("audience", Rule::Unknown { value: a.chars().take(40).collect() });
            Audience::All
        }),
    };
    let when = |v: &mut Validator, field: &str, raw: Option<&str>| -> Option<Timestamp> {
        let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
        let parsed = parse_time(raw);
        if parsed.is_none() {
            v.fail(field, bad_time());
        }
        parsed
    };
    let publish_at = when(&mut v, "publish_at", input.publish_at.as_deref()).unwrap_or(now);
    let expire_at = when(&mut v, "expire_at", input.expire_at.as_deref());
    if let Some(end) = expire_at
        && end <= publish_at
    {
        v.fail(
            "expire_at",
            Rule::Custom {
                code: FieldCode::BeforePublish,
                ja: "掲載終了日時は掲載開始日時より後にしてください。".into(),
                en: "The end must be after the start of publication.".into(),
            },
        );
    }
    v.finish()?;
    Ok(Notice {
        id: new_id(),
        tenant: tenant.to_string(),
        title: title.to_string(),
        body,
        audience,
        publish_at,
        expire_at,
        created_by: created_by.to_string(),
        created_at: now,
    })
}

fn key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

/// Stores a new notice (validated) with its audit record.
pub fn create(tx: &mut Tx, actor: &Actor, tenant: &str, input: &NoticeInput) -> Result<Notice, SupportError> {
    let notice = validate(input, tenant, &actor.id, tx.now())?;
    tx.put(&NOTICES, &key(tenant, &notice.id), &notice)?;
    tx.audit(
        actor,
        "notice.create",
        &key(tenant, &notice.id),
        serde_json::json!({
            "title": notice.title,
            "audience": notice.audience,
            "publish_at": notice.publish_at,
            "expire_at": notice.expire_at,
        }),
    )?;
    Ok(notice)
}

/// Every notice of a tenant, newest publication first.
pub fn all(tx: &impl Read, tenant: &str) -> Result<Vec<Notice>, StoreError> {
    let mut items: Vec<Notice> = tx.scan(&NOTICES, &format!("{tenant}/"))?.into_iter().map(|(_, n)| n).collect();
    items.sort_by(|a, b| b.publish_at.cmp(&a.publish_at).then(b.id.cmp(&a.id)));
    Ok(items)
}

pub fn get(tx: &impl Read, tenant: &str, id: &str) -> Result<Option<Notice>, StoreError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    tx.get(&NOTICES, &key(tenant, id))
}

pub fn delete(tx: &mut Tx, actor: &Actor, tenant: &str, id: &str) -> Result<Notice, SupportError> {
    let notice = get(tx, tenant, id)?.ok_or(SupportError::NotFound("notice"))?;
    tx.remove(&NOTICES, &key(tenant, id))?;
    tx.audit(actor, "notice.delete", &key(tenant, id), serde_json::json!({"title": notice.title}))?;
    Ok(notice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> Timestamp {
        "2026-11-25T01:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn input(title: &str, body: &str) -> NoticeInput {
        NoticeInput { title: title.into(), body: body.into(), ..Default::default() }
    }

    #[test]
    fn times_in_every_accepted_form() {
        let jst = parse_time("2026-12-01T09:00+09:00");
        assert_eq!(jst, "2026-12-01T00:00:00Z".parse().ok());
        assert_eq!(parse_time("2026-12-01T09:00"), jst);
        assert_eq!(parse_time("2026-12-01T09:00:00"), jst);
        assert_eq!(parse_time("2026-12-01"), "2026-11-30T15:00:00Z".parse().ok());
        for bad in ["", "tomorrow", "2026-13-01", "2026-12-01T25:00", &"9".repeat(100)] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn validation_collects_every_field() {
        let mut i = input("", "\u{7}");
        i.audience = Some("everyone".into());
        i.publish_at = Some("soon".into());
        match validate(&i, "HXOS2", "HX000001", now()) {
            Err(SupportError::Invalid(list)) => {
                let fields: Vec<&str> = list.iter().map(|x| x.field.as_str()).collect();
                assert_eq!(fields, ["title", "body", "audience", "publish_at"]);
            }
            other => panic!("{other:?}"),
        }
        let mut i = input("t", "b");
        i.publish_at = Some("2026-12-01".into());
        i.expire_at = Some("2026-12-01".into());
        assert!(matches!(validate(&i, "T", "u", now()), Err(SupportError::Invalid(l)) if l[0].field == "expire_at"));
    }

    #[test]
    fn bodies_keep_lines_and_windows_apply() {
        let mut i = input(" 年末年始のお知らせ ", "12/29〜1/3は休業します。\r\n詳細: https://example.jp/x\n");
        i.expire_at = Some("2027-01-04".into());
        let n = validate(&i, "HXOS2", "HX000001", now()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(n.title, "年末年始のお知らせ");
        assert_eq!(n.body, "12/29〜1/3は休業します。\n詳細: https://example.jp/x");
        assert_eq!(n.audience, Audience::All);
        assert!(n.is_live(now()));
        assert!(!n.is_live(now() - jiff::SignedDuration::from_secs(1)));
        assert!(n.expire_at.is_some_and(|e| !n.is_live(e)));
    }

    proptest! {
        #[test]
        fn validation_never_panics(title in "\\PC{0,120}", body in ".{0,50}", when in "\\PC{0,45}") {
            let i = NoticeInput { title, body, audience: Some(when.clone()), publish_at: Some(when.clone()), expire_at: Some(when) };
            let _ = validate(&i, "HXOS2", "u", now());
        }
    }
}
