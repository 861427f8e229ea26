//! Suggested user IDs. A partner's initial users are its vendor code (業者コード) plus a
//! 2-digit sequence — `A1533601`, `A1533602` … (seed §1 (3)); past 99 the sequence goes on
//! with 3 digits. On the owner side the next ID continues the numbering of the existing IDs
//! (`HX000003` → `HX000004`).

use keiyaku_kernel::directory::USER_ID_MAX;

/// The lowest free `vendor code + NN` (01–99, then 100–999).
pub fn next_partner_id(vendor_code: &str, taken: impl Fn(&str) -> bool) -> Option<String> {
    (1u32..=999)
        .map(|n| if n < 100 { format!("{vendor_code}{n:02}") } else { format!("{vendor_code}{n}") })
        .filter(|id| id.len() <= USER_ID_MAX)
        .find(|id| !taken(id))
}

/// Splits `HX000003` into (`HX`, `000003`); None when the ID does not end in digits.
fn split_number(id: &str) -> Option<(&str, &str)> {
    let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 18 {
        return None;
    }
    Some(id.split_at(id.len() - digits))
}

/// The next ID after the highest numbered one among `existing` (same prefix, same width),
/// skipping taken ones. None when no existing ID ends in digits.
pub fn next_in_sequence<'a>(
    existing: impl IntoIterator<Item = &'a str>,
    taken: impl Fn(&str) -> bool,
) -> Option<String> {
    let mut best: Option<(&str, usize, u64)> = None;
    for id in existing {
        let Some((prefix, digits)) = split_number(id) else {
            continue;
        };
        let Ok(n) = digits.parse::<u64>() else {
            continue;
        };
        if best.is_none_or(|(_, _, b)| n > b) {
            best = Some((prefix, digits.len(), n));
        }
    }
    let (prefix, width, mut n) = best?;
    for _ in 0..1000 {
        n = n.checked_add(1)?;
        let id = format!("{prefix}{n:0width$}");
        if id.len() > USER_ID_MAX {
            return None;
        }
        if !taken(&id) {
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn partner_ids_follow_the_vendor_code() {
        assert_eq!(next_partner_id("A15336", |_| false).as_deref(), Some("A1533601"));
        let taken: BTreeSet<&str> = ["A1533601", "A1533602", "A1533604"].into();
        assert_eq!(next_partner_id("A15336", |id| taken.contains(id)).as_deref(), Some("A1533603"));
        let all: BTreeSet<String> = (1..100).map(|n| format!("B1{n:02}")).collect();
        assert_eq!(next_partner_id("B1", |id| all.contains(id)).as_deref(), Some("B1100"));
        assert_eq!(next_partner_id("X", |_| true), None);
    }

    #[test]
    fn owner_ids_continue_the_numbering() {
        let ids = ["HX000001", "HX000003", "admin", "HX000002"];
        assert_eq!(next_in_sequence(ids, |_| false).as_deref(), Some("HX000004"));
        assert_eq!(next_in_sequence(ids, |id| id == "HX000004").as_deref(), Some("HX000005"));
        assert_eq!(next_in_sequence(["admin"], |_| false), None);
        assert_eq!(next_in_sequence(["U99"], |_| false).as_deref(), Some("U100"));
    }

    proptest! {
        #[test]
        fn the_partner_suggestion_is_the_lowest_free_well_formed_id(
            code in "[A-Z][A-Z0-9]{0,15}",
            used in proptest::collection::btree_set(1u32..120, 0..60),
        ) {
            let taken: BTreeSet<String> = used.iter()
                .map(|n| if *n < 100 { format!("{code}{n:02}") } else { format!("{code}{n}") })
                .collect();
            let id = next_partner_id(&code, |id| taken.contains(id));
            let id = id.unwrap_or_default();
            prop_assert!(id.starts_with(&code));
            prop_assert!(!taken.contains(&id));
            let n: u32 = id[code.len()..].parse().unwrap_or(0);
            prop_assert!(n >= 1);
            prop_assert!((1..n).all(|m| used.contains(&m)), "{} is not the lowest free", id);
            if n < 100 {
                prop_assert_eq!(id.len(), code.len() + 2);
            }
            let mut v = keiyaku_kernel::validate::Validator::new();
            keiyaku_kernel::directory::check_user_id(&mut v, "user_id", &id);
            prop_assert!(v.is_ok());
        }

        #[test]
        fn sequence_suggestions_are_free_and_never_panic(ids in proptest::collection::vec("[A-Za-z0-9._-]{0,32}", 0..20)) {
            let set: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
            if let Some(id) = next_in_sequence(ids.iter().map(String::as_str), |id| set.contains(id)) {
                prop_assert!(!set.contains(id.as_str()));
                prop_assert!(id.len() <= USER_ID_MAX);
            }
        }
    }
}
