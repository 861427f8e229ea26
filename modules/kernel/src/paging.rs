//! `?page=&per_page=` of the lists, checked, and one page of results.

use crate::error::FieldCode;
use crate::validate::{Invalid, Rule};

pub const PER_PAGE_DEFAULT: usize = 50;
pub const PER_PAGE_MAX: usize = 200;
const PAGE_MAX: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: usize,
    pub per_page: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Self { page: 1, per_page: PER_PAGE_DEFAULT }
    }
}

fn range(min: i64, max: i64) -> Rule {
    Rule::Custom {
        code: FieldCode::OutOfRange,
        ja: format!("{min}〜{max}の範囲で指定してください。"),
        en: format!("Use a value from {min} to {max}."),
    }
}

impl Paging {
    /// `1 ≤ page ≤ 1,000,000` and `1 ≤ per_page ≤ 200`; defaults 1 and 50.
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> Result<Self, Vec<Invalid>> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(PER_PAGE_DEFAULT as i64);
        let mut invalid = Vec::new();
        if !(1..=PAGE_MAX).contains(&page) {
            invalid.push(Invalid::new("page", range(1, PAGE_MAX)));
        }
        if !(1..=PER_PAGE_MAX as i64).contains(&per_page) {
            invalid.push(Invalid::new("per_page", range(1, PER_PAGE_MAX as i64)));
        }
        if !invalid.is_empty() {
            return Err(invalid);
        }
        Ok(Self {
            page: usize::try_from(page).unwrap_or(1),
            per_page: usize::try_from(per_page).unwrap_or(PER_PAGE_DEFAULT),
        })
    }

    /// How many items come before this page.
    pub fn skip(&self) -> usize {
        self.page.saturating_sub(1).saturating_mul(self.per_page)
    }

    /// The page of `items` this paging selects.
    pub fn take<T>(&self, items: Vec<T>) -> Page<T> {
        let total = items.len();
        let items = items.into_iter().skip(self.skip()).take(self.per_page).collect();
        Page { items, total, page: self.page, per_page: self.per_page }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

impl<T> Page<T> {
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_slices() {
        assert!(Paging::new(Some(0), None).is_err());
        assert!(Paging::new(None, Some(201)).is_err());
        let p = Paging::new(Some(2), Some(2)).unwrap_or_default();
        let page = p.take((1..=5).collect::<Vec<_>>());
        assert_eq!((page.pages(), page.total, page.items), (3, 5, vec![3, 4]));
    }
}
