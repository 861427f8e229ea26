//! 文書種別: the closed set of document types, shared by contracts and by the delegation
//! mandates that may limit a delegate to some of them.

use crate::error::Lang;
use serde::{Deserialize, Serialize};

/// 文書種別.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    /// 注文書
    PurchaseOrder,
    /// 請書
    OrderAcceptance,
    /// 契約書
    Agreement,
    /// 覚書
    Memorandum,
    /// 見積書
    Quotation,
    /// その他
    Other,
}

impl DocType {
    pub const ALL: [DocType; 6] = [
        DocType::PurchaseOrder,
        DocType::OrderAcceptance,
        DocType::Agreement,
        DocType::Memorandum,
        DocType::Quotation,
        DocType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocType::PurchaseOrder => "purchase_order",
            DocType::OrderAcceptance => "order_acceptance",
            DocType::Agreement => "agreement",
            DocType::Memorandum => "memorandum",
            DocType::Quotation => "quotation",
            DocType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            DocType::PurchaseOrder => lang.pick("注文書", "Purchase order"),
            DocType::OrderAcceptance => lang.pick("請書", "Order acceptance"),
            DocType::Agreement => lang.pick("契約書", "Agreement"),
            DocType::Memorandum => lang.pick("覚書", "Memorandum"),
            DocType::Quotation => lang.pick("見積書", "Quotation"),
            DocType::Other => lang.pick("その他", "Other"),
        }
    }
}
