//! Documents waiting for action (確認待ち文書, seed §1 (4)): the lines of the dashboard block
//! (a role on the owner's or the partners' side) and the [`WaitingSource`] interface through
//! which the module that owns documents (contracts) reports how many wait on each line.
//! The dashboard asks a [`Waiting`] registry; with no source registered every line is zero.

use crate::context::Caller;
use crate::directory::Role;
use crate::error::Lang;
use crate::store::{ReadTx, StoreError};
use std::sync::Arc;

/// Whose step a line counts: the service owner's or a partner company's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Owner,
    Partner,
}

impl Side {
    pub const ALL: [Side; 2] = [Side::Owner, Side::Partner];

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Owner => "owner",
            Side::Partner => "partner",
        }
    }

    /// The member named `s` (its [`Side::as_str`]); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One line of the 確認待ち文書 block, e.g. 「オリ白:承認者」 (owner approver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WaitingLine {
    pub side: Side,
    pub role: Role,
}

impl WaitingLine {
    pub const OWNER_APPROVER: WaitingLine = WaitingLine { side: Side::Owner, role: Role::Approver };
    pub const PARTNER_PERSON_IN_CHARGE: WaitingLine = WaitingLine { side: Side::Partner, role: Role::PersonInCharge };
    pub const PARTNER_APPROVER: WaitingLine = WaitingLine { side: Side::Partner, role: Role::Approver };
    pub const PARTNER_SIGNER: WaitingLine = WaitingLine { side: Side::Partner, role: Role::Signer };
    pub const OWNER_ADMINISTRATION: WaitingLine = WaitingLine { side: Side::Owner, role: Role::Administration };
    pub const OWNER_SIGNER: WaitingLine = WaitingLine { side: Side::Owner, role: Role::Signer };

    /// The lines the dashboard always shows, in the seed's order.
    pub const DASHBOARD: [WaitingLine; 4] =
        [Self::OWNER_APPROVER, Self::PARTNER_PERSON_IN_CHARGE, Self::OWNER_ADMINISTRATION, Self::OWNER_SIGNER];

    /// Every line a step can be on, owner's side first (role order of [`Role::ALL`]).
    pub const ALL: [WaitingLine; 10] = {
        let mut all = [Self::OWNER_APPROVER; 10];
        let mut i = 0;
        while i < 10 {
            all[i] = WaitingLine { side: Side::ALL[i / 5], role: Role::ALL[i % 5] };
            i += 1;
        }
        all
    };

    /// Stable machine name, e.g. `owner_approver`, `partner_person_in_charge`.
    pub fn as_str(self) -> &'static str {
        match (self.side, self.role) {
            (Side::Owner, Role::PersonInCharge) => "owner_person_in_charge",
            (Side::Owner, Role::Approver) => "owner_approver",
            (Side::Owner, Role::Signer) => "owner_signer",
            (Side::Owner, Role::GroupAdmin) => "owner_group_admin",
            (Side::Owner, Role::Administration) => "owner_administration",
            (Side::Partner, Role::PersonInCharge) => "partner_person_in_charge",
            (Side::Partner, Role::Approver) => "partner_approver",
            (Side::Partner, Role::Signer) => "partner_signer",
            (Side::Partner, Role::GroupAdmin) => "partner_group_admin",
            (Side::Partner, Role::Administration) => "partner_administration",
        }
    }

    /// [`WaitingLine::as_str`] as an owned string (the stored and shown form).
    pub fn key(self) -> String {
        self.as_str().to_string()
    }

    /// The line whose [`WaitingLine::key`] is `key`; `None` for any other text.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == key)
    }

    /// The label as the dashboard shows it: 「{owner_short}:承認者」, 「取引先:担当」, …
    pub fn label(self, lang: Lang, owner_short: &str) -> String {
        match lang {
            Lang::Ja => {
                let side = match self.side {
                    Side::Owner => owner_short,
                    Side::Partner => "取引先",
                };
                let role = match self.role {
                    // The seed's wording: 「取引先:担当」.
                    Role::PersonInCharge => "担当",
                    other => other.label(Lang::Ja),
                };
                format!("{side}:{role}")
            }
            Lang::En => {
                let side = match self.side {
                    Side::Owner => "Owner",
                    Side::Partner => "Partner",
                };
                format!("{side}: {}", self.role.label(Lang::En).to_lowercase())
            }
        }
    }
}

/// What a module that owns documents implements to feed the dashboard.
pub trait WaitingSource: Send + Sync + 'static {
    /// How many documents wait on each line, as `caller` is to see them, read in `tx`.
    /// Lines not returned count zero.
    fn waiting(&self, tx: &ReadTx, caller: &Caller) -> Result<Vec<(WaitingLine, u64)>, StoreError>;
}

/// The registered sources; cheap to clone. Empty (all zero) until a module registers one.
#[derive(Clone, Default)]
pub struct Waiting {
    sources: Vec<Arc<dyn WaitingSource>>,
}

impl Waiting {
    pub fn register(&mut self, source: Arc<dyn WaitingSource>) {
        self.sources.push(source);
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The dashboard lines (always, zero when nobody reports them) followed by any other line
    /// a source reports with a count, summed over the sources.
    pub fn counts(&self, tx: &ReadTx, caller: &Caller) -> Result<Vec<(WaitingLine, u64)>, StoreError> {
        let mut reported = Vec::new();
        for s in &self.sources {
            reported.extend(s.waiting(tx, caller)?);
        }
        Ok(merge(&reported))
    }
}

/// Sums reported counts into the dashboard lines plus the extra lines with a count.
pub fn merge(reported: &[(WaitingLine, u64)]) -> Vec<(WaitingLine, u64)> {
    let mut out: Vec<(WaitingLine, u64)> = WaitingLine::DASHBOARD.iter().map(|l| (*l, 0)).collect();
    for (line, n) in reported {
        match out.iter_mut().find(|(l, _)| l == line) {
            Some((_, total)) => *total = total.saturating_add(*n),
            None if *n > 0 => out.push((*line, *n)),
            None => {}
        }
    }
    out
}

/// A short form of a company name for the line labels, like the seed's 「オリ白」 for
/// オリエンタル白石株式会社: the legal form dropped, short names kept, and a katakana + kanji
/// name shortened to two katakana and one kanji.
pub fn short_company_name(name: &str) -> String {
    let mut n = name.to_string();
    for form in ["株式会社", "有限会社", "合同会社", "(株)", "（株）", "㈱"] {
        n = n.replace(form, "");
    }
    let n: Vec<char> = n.chars().filter(|c| !c.is_whitespace()).collect();
    if n.is_empty() {
        return name.chars().take(4).collect();
    }
    if n.len() <= 4 {
        return n.into_iter().collect();
    }
    let katakana = |c: char| ('\u{30A0}'..='\u{30FF}').contains(&c);
    let kanji = |c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c);
    let lead = n.iter().take_while(|c| katakana(**c)).count();
    if lead >= 2
        && let Some(k) = n[lead..].iter().find(|c| kanji(**c))
    {
        return [n[0], n[1], *k].into_iter().collect();
    }
    n.into_iter().take(4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_seed() {
        let labels: Vec<String> = WaitingLine::DASHBOARD.iter().map(|l| l.label(Lang::Ja, "オリ白")).collect();
        assert_eq!(labels, ["オリ白:承認者", "取引先:担当", "オリ白:管理部", "オリ白:署名者"]);
        assert_eq!(WaitingLine::PARTNER_SIGNER.label(Lang::Ja, "オリ白"), "取引先:署名者");
        assert_eq!(WaitingLine::OWNER_APPROVER.label(Lang::En, "x"), "Owner: approver");
        assert_eq!(WaitingLine::PARTNER_PERSON_IN_CHARGE.key(), "partner_person_in_charge");
        // The names are the side's and the role's, joined; every pair is a line.
        for line in WaitingLine::ALL {
            assert_eq!(line.as_str(), format!("{}_{}", line.side.as_str(), line.role.as_str()));
        }
        let mut names: Vec<&str> = WaitingLine::ALL.iter().map(|l| l.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Side::ALL.len() * Role::ALL.len());
    }

    /// Every line's key parses back to it; a key of an unknown side or role does not.
    #[test]
    fn line_keys_round_trip() {
        for side in Side::ALL {
            assert_eq!(Side::parse(side.as_str()), Some(side));
            for role in Role::ALL {
                let line = WaitingLine { side, role };
                assert_eq!(WaitingLine::parse(&line.key()), Some(line));
            }
        }
        for bad in ["", "owner", "owner_", "_signer", "vendor_signer", "owner_boss", "Owner_signer", "owner_signer "] {
            assert_eq!(WaitingLine::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Side::parse("partners"), None);
    }

    #[test]
    fn merge_keeps_the_dashboard_lines_and_adds_reported_ones() {
        assert_eq!(merge(&[]).iter().map(|(_, n)| *n).collect::<Vec<_>>(), [0, 0, 0, 0]);
        let m = merge(&[
            (WaitingLine::OWNER_SIGNER, 2),
            (WaitingLine::OWNER_SIGNER, 1),
            (WaitingLine::PARTNER_SIGNER, 4),
            (WaitingLine::PARTNER_APPROVER, 0),
        ]);
        assert_eq!(m.len(), 5);
        assert_eq!(m[3], (WaitingLine::OWNER_SIGNER, 3));
        assert_eq!(m[4], (WaitingLine::PARTNER_SIGNER, 4));
    }

    #[test]
    fn company_names_shorten_like_the_seed() {
        assert_eq!(short_company_name("オリエンタル白石株式会社"), "オリ白");
        assert_eq!(short_company_name("株式会社 東建"), "東建");
        assert_eq!(short_company_name(""), "");
    }
}
