//! Numbers as people read them: amounts with thousands separators (one implementation for
//! mails, pages and PDFs).

/// `1234567` → `1,234,567` (`-12345` → `-12,345`).
pub fn grouped(amount: i64) -> String {
    grouped_unsigned(amount.unsigned_abs(), amount < 0)
}

/// `1980000` → `¥1,980,000` (`-5` → `-¥5`), as pages show amounts.
pub fn yen(amount: i64) -> String {
    format!("{}¥{}", if amount < 0 { "-" } else { "" }, grouped_u64(amount.unsigned_abs()))
}

/// `6000` → `6,000`.
pub fn grouped_u64(amount: u64) -> String {
    grouped_unsigned(amount, false)
}

fn grouped_unsigned(n: u64, negative: bool) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if negative { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(4_180_000), "4,180,000");
        assert_eq!(grouped(-12_345), "-12,345");
        assert_eq!(grouped(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(grouped_u64(6_000), "6,000");
        assert_eq!(yen(1_980_000), "¥1,980,000");
        assert_eq!(yen(-5), "-¥5");
    }

    proptest! {
        #[test]
        fn grouped_reads_back(n in any::<i64>()) {
            let s = grouped(n);
            prop_assert_eq!(s.replace(',', "").parse::<i128>().ok(), Some(i128::from(n)));
        }
    }
}
