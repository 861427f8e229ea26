//! Japanese business-day calendar (Asia/Tokyo).
//!
//! [`holiday_name`] implements the national holidays of the 国民の祝日に関する法律 as amended
//! up to now (Happy Monday system, 山の日, the 2019 accession days, the 2020/2021 Olympic
//! moves, 振替休日 and 国民の休日). It is exact for 2000–2099 and follows the historical rules
//! back to the law's entry into force on 1948-07-20; later years reuse the current rules with
//! the extended equinox formula (best effort, since equinox days are only fixed by the
//! government a year ahead). No function of this module panics, whatever the date.
//!
//! [`BusinessCalendar`] adds weekends and, optionally, the year-end closure (Dec 29 – Jan 3),
//! and counts business days, e.g. "usable from the second business day after the issuance
//! mail" (翌々営業日) is `calendar.add_business_days(mail_date, 2)`.

use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

/// Which days are business days: Monday to Friday, except national holidays and, when
/// `year_end_closed`, the year-end closure from Dec 29 to Jan 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BusinessCalendar {
    year_end_closed: bool,
}

impl Default for BusinessCalendar {
    /// Year-end closure enabled, as in most Japanese companies.
    fn default() -> Self {
        Self::new(true)
    }
}

impl BusinessCalendar {
    /// A calendar; `year_end_closed` makes Dec 29 – Jan 3 non-business days.
    pub fn new(year_end_closed: bool) -> Self {
        Self { year_end_closed }
    }

    /// Whether Dec 29 – Jan 3 are non-business days.
    pub fn year_end_closed(&self) -> bool {
        self.year_end_closed
    }

    /// Whether `d` is a business day: not Saturday or Sunday, not a national holiday and not in
    /// the year-end closure (when enabled).
    pub fn is_business_day(&self, d: Date) -> bool {
        let weekend = matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
        let closed = self.year_end_closed && is_year_end_closure(d);
        !weekend && !closed && holiday_name(d).is_none()
    }

    /// The first business day strictly after `d`; saturates at [`Date::MAX`].
    pub fn next_business_day(&self, d: Date) -> Date {
        let mut cur = d;
        loop {
            match cur.tomorrow() {
                Ok(next) => cur = next,
                Err(_) => return Date::MAX,
            }
            if self.is_business_day(cur) {
                return cur;
            }
        }
    }

    /// The `n`-th business day after `d` (`add_business_days(d, 2)` is 翌々営業日). With `n = 0`,
    /// `d` itself if it is a business day, else the next business day. Saturates at
    /// [`Date::MAX`].
    pub fn add_business_days(&self, d: Date, n: u32) -> Date {
        if n == 0 {
            return if self.is_business_day(d) { d } else { self.next_business_day(d) };
        }
        let mut cur = d;
        for _ in 0..n {
            if cur == Date::MAX {
                break;
            }
            cur = self.next_business_day(cur);
        }
        cur
    }
}

/// Whether `d` falls in the customary year-end closure, Dec 29 – Jan 3.
pub fn is_year_end_closure(d: Date) -> bool {
    matches!((d.month(), d.day()), (12, 29..=31) | (1, 1..=3))
}

/// Whether `d` is a Japanese national holiday (including 振替休日 and 国民の休日).
pub fn is_holiday(d: Date) -> bool {
    holiday_name(d).is_some()
}

/// The Japanese name of the national holiday on `date`, if any: the 国民の祝日 themselves
/// (元日, 成人の日, …, スポーツの日 / 体育の日 before 2020), 振替休日 and 国民の休日. The 2019
/// accession days are 即位の日 (5/1) and 即位礼正殿の儀 (10/22), with 4/30 and 5/2 as 国民の休日.
pub fn holiday_name(date: Date) -> Option<&'static str> {
    if let Some(name) = statutory_holiday(date) {
        return Some(name);
    }
    if is_substitute_holiday(date) {
        return Some("振替休日");
    }
    if is_citizens_holiday(date) {
        return Some("国民の休日");
    }
    None
}

/// Every national holiday of `year`, in date order.
pub fn holidays_in_year(year: i16) -> Vec<(Date, &'static str)> {
    let Ok(mut d) = Date::new(year, 1, 1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while d.year() == year {
        if let Some(name) = holiday_name(d) {
            out.push((d, name));
        }
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}

/// Whether `date` is on or after `y-m-d`.
fn on_or_after(date: Date, y: i16, m: i8, d: i8) -> bool {
    (date.year(), date.month(), date.day()) >= (y, m, d)
}

/// Whether `day` is the `nth` Monday of its month, given it is a `weekday`.
fn is_nth_monday(day: i8, weekday: Weekday, nth: i8) -> bool {
    weekday == Weekday::Monday && (day - 1) / 7 + 1 == nth
}

/// The day of March (`autumn = false`) or September (`autumn = true`) of the equinox holiday,
/// by the standard formula (constants for 1900–1979, 1980–2099 and 2100–2150; the nearest set is
/// used outside those ranges).
fn equinox_day(year: i16, autumn: bool) -> i64 {
    let (spring, fall) = match year {
        ..=1979 => (20.8357, 23.2588),
        1980..=2099 => (20.8431, 23.2488),
        _ => (21.8510, 24.2488),
    };
    let base: f64 = if autumn { fall } else { spring };
    let dy = i64::from(year) - 1980;
    let value = base + 0.242_194 * dy as f64 - dy.div_euclid(4) as f64;
    value.floor() as i64
}

/// The 国民の祝日 (and the special one-off holidays treated as such) falling on `date`,
/// without 振替休日 and 国民の休日.
fn statutory_holiday(date: Date) -> Option<&'static str> {
    // 国民の祝日に関する法律 took effect on 1948-07-20.
    if !on_or_after(date, 1948, 7, 20) {
        return None;
    }
    let (y, m, d) = (date.year(), date.month(), date.day());
    let wd = date.weekday();
    let name = match (m, d) {
        (1, 1) => "元日",
        (1, 15) if y <= 1999 => "成人の日",
        (1, _) if y >= 2000 && is_nth_monday(d, wd, 2) => "成人の日",
        (2, 11) if y >= 1967 => "建国記念の日",
        (2, 23) if y >= 2020 => "天皇誕生日",
        (3, _) if i64::from(d) == equinox_day(y, false) => "春分の日",
        (4, 29) if y <= 1988 => "天皇誕生日",
        (4, 29) if y <= 2006 => "みどりの日",
        (4, 29) => "昭和の日",
        (5, 3) => "憲法記念日",
        (5, 4) if y >= 2007 => "みどりの日",
        (5, 5) => "こどもの日",
        (7, 20) if (1996..=2002).contains(&y) => "海の日",
        (7, 23) if y == 2020 => "海の日",
        (7, 22) if y == 2021 => "海の日",
        (7, _) if y >= 2003 && y != 2020 && y != 2021 && is_nth_monday(d, wd, 3) => "海の日",
        (7, 24) if y == 2020 => "スポーツの日",
        (7, 23) if y == 2021 => "スポーツの日",
        (8, 10) if y == 2020 => "山の日",
        (8, 8) if y == 2021 => "山の日",
        (8, 11) if y >= 2016 && y != 2020 && y != 2021 => "山の日",
        (9, 15) if (1966..=2002).contains(&y) => "敬老の日",
        (9, _) if y >= 2003 && is_nth_monday(d, wd, 3) => "敬老の日",
        (9, _) if i64::from(d) == equinox_day(y, true) => "秋分の日",
        (10, 10) if (1966..=1999).contains(&y) => "体育の日",
        (10, _) if (2000..=2019).contains(&y) && is_nth_monday(d, wd, 2) => "体育の日",
        (10, _) if y >= 2022 && is_nth_monday(d, wd, 2) => "スポーツの日",
        (11, 3) => "文化の日",
        (11, 23) => "勤労感謝の日",
        (12, 23) if (1989..=2018).contains(&y) => "天皇誕生日",
        _ => return special_holiday(y, m, d),
    };
    Some(name)
}

/// One-off holidays set by special laws.
fn special_holiday(y: i16, m: i8, d: i8) -> Option<&'static str> {
    match (y, m, d) {
        (1959, 4, 10) => Some("皇太子明仁親王の結婚の儀"),
        (1989, 2, 24) => Some("昭和天皇の大喪の礼"),
        (1990, 11, 12) => Some("即位礼正殿の儀"),
        (1993, 6, 9) => Some("皇太子徳仁親王の結婚の儀"),
        (2019, 5, 1) => Some("即位の日"),
        (2019, 10, 22) => Some("即位礼正殿の儀"),
        _ => None,
    }
}

/// 振替休日: since 1973-04-12 the day after a holiday falling on Sunday; since 2007 the first
/// non-holiday day after it.
fn is_substitute_holiday(date: Date) -> bool {
    if date.year() < 1973 {
        return false;
    }
    let Ok(mut prev) = date.yesterday() else {
        return false;
    };
    if date.year() < 2007 {
        return on_or_after(prev, 1973, 4, 12)
            && prev.weekday() == Weekday::Sunday
            && statutory_holiday(prev).is_some();
    }
    // Walk back through the run of holidays just before `date`, looking for a Sunday.
    while statutory_holiday(prev).is_some() {
        if prev.weekday() == Weekday::Sunday {
            return true;
        }
        match prev.yesterday() {
            Ok(p) => prev = p,
            Err(_) => return false,
        }
    }
    false
}

/// 国民の休日 (since 1985-12-27): a day whose previous and next days are both 国民の祝日;
/// until 2006 Sundays and 振替休日 were excluded (the latter is handled by the caller).
fn is_citizens_holiday(date: Date) -> bool {
    if !on_or_after(date, 1985, 12, 27) || (date.year() < 2007 && date.weekday() == Weekday::Sunday) {
        return false;
    }
    match (date.yesterday(), date.tomorrow()) {
        (Ok(prev), Ok(next)) => statutory_holiday(prev).is_some() && statutory_holiday(next).is_some(),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::ToSpan;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn names(year: i16) -> Vec<(String, &'static str)> {
        holidays_in_year(year).into_iter().map(|(d, n)| (d.strftime("%m-%d").to_string(), n)).collect()
    }

    fn expect(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(d, n)| (d.to_string(), *n)).collect()
    }

    #[test]
    fn holidays_2025() {
        assert_eq!(
            names(2025),
            expect(&[
                ("01-01", "元日"),
                ("01-13", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("02-24", "振替休日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-21", "海の日"),
                ("08-11", "山の日"),
                ("09-15", "敬老の日"),
                ("09-23", "秋分の日"),
                ("10-13", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
                ("11-24", "振替休日"),
            ])
        );
    }

    #[test]
    fn holidays_2026() {
        assert_eq!(
            names(2026),
            expect(&[
                ("01-01", "元日"),
                ("01-12", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-20", "海の日"),
                ("08-11", "山の日"),
                ("09-21", "敬老の日"),
                ("09-22", "国民の休日"),
                ("09-23", "秋分の日"),
                ("10-12", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ])
        );
    }

    #[test]
    fn holidays_2019_accession() {
        assert_eq!(
            names(2019),
            expect(&[
                ("01-01", "元日"),
                ("01-14", "成人の日"),
                ("02-11", "建国記念の日"),
                ("03-21", "春分の日"),
                ("04-29", "昭和の日"),
                ("04-30", "国民の休日"),
                ("05-01", "即位の日"),
                ("05-02", "国民の休日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-15", "海の日"),
                ("08-11", "山の日"),
                ("08-12", "振替休日"),
                ("09-16", "敬老の日"),
                ("09-23", "秋分の日"),
                ("10-14", "体育の日"),
                ("10-22", "即位礼正殿の儀"),
                ("11-03", "文化の日"),
                ("11-04", "振替休日"),
                ("11-23", "勤労感謝の日"),
            ])
        );
        // No 天皇誕生日 in 2019.
        assert_eq!(holiday_name(date(2019, 12, 23)), None);
        assert_eq!(holiday_name(date(2019, 2, 23)), None);
        assert_eq!(holiday_name(date(2018, 12, 24)), Some("振替休日"));
    }

    #[test]
    fn holidays_2020_2021_olympics() {
        assert_eq!(
            names(2020),
            expect(&[
                ("01-01", "元日"),
                ("01-13", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("02-24", "振替休日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-23", "海の日"),
                ("07-24", "スポーツの日"),
                ("08-10", "山の日"),
                ("09-21", "敬老の日"),
                ("09-22", "秋分の日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ])
        );
        assert_eq!(
            names(2021),
            expect(&[
                ("01-01", "元日"),
                ("01-11", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("07-22", "海の日"),
                ("07-23", "スポーツの日"),
                ("08-08", "山の日"),
                ("08-09", "振替休日"),
                ("09-20", "敬老の日"),
                ("09-23", "秋分の日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ])
        );
        assert_eq!(holiday_name(date(2020, 7, 20)), None);
        assert_eq!(holiday_name(date(2020, 8, 11)), None);
        assert_eq!(holiday_name(date(2021, 10, 11)), None);
    }

    #[test]
    fn holiday_counts_per_year() {
        let counts: Vec<(i16, usize)> = (2015..=2030).map(|y| (y, holidays_in_year(y).len())).collect();
        assert_eq!(
            counts,
            vec![
                (2015, 17),
                (2016, 17),
                (2017, 17),
                (2018, 20),
                (2019, 22),
                (2020, 18),
                (2021, 17),
                (2022, 16),
                (2023, 17),
                (2024, 21),
                (2025, 19),
                (2026, 18),
                (2027, 17),
                (2028, 16),
                (2029, 19),
                (2030, 19),
            ]
        );
        for y in 2000..=2099 {
            let n = holidays_in_year(y).len();
            assert!((15..=22).contains(&n), "{y}: {n} holidays");
        }
    }

    #[test]
    fn other_known_dates() {
        assert_eq!(holiday_name(date(2009, 9, 22)), Some("国民の休日"));
        assert_eq!(holiday_name(date(2015, 9, 22)), Some("国民の休日"));
        assert_eq!(holiday_name(date(2032, 9, 21)), Some("国民の休日"));
        assert_eq!(holiday_name(date(2008, 5, 6)), Some("振替休日")); // 5/4 Sunday (2007 rule)
        assert_eq!(holiday_name(date(2018, 12, 23)), Some("天皇誕生日"));
        assert_eq!(holiday_name(date(2016, 8, 11)), Some("山の日"));
        assert_eq!(holiday_name(date(2015, 8, 11)), None);
        assert_eq!(holiday_name(date(1999, 10, 10)), Some("体育の日")); // Sunday
        assert_eq!(holiday_name(date(1999, 10, 11)), Some("振替休日"));
        assert_eq!(holiday_name(date(2000, 10, 9)), Some("体育の日"));
        assert_eq!(holiday_name(date(2000, 10, 10)), None);
        assert_eq!(holiday_name(date(1999, 1, 15)), Some("成人の日"));
        assert_eq!(holiday_name(date(2000, 1, 10)), Some("成人の日"));
        assert_eq!(holiday_name(date(1988, 5, 4)), Some("国民の休日"));
        assert_eq!(holiday_name(date(1973, 4, 30)), Some("振替休日"));
        assert_eq!(holiday_name(date(1989, 2, 24)), Some("昭和天皇の大喪の礼"));
        assert_eq!(holiday_name(date(2030, 3, 20)), Some("春分の日"));
        assert_eq!(holiday_name(date(2099, 9, 23)), Some("秋分の日"));
        assert_eq!(holiday_name(date(2026, 1, 2)), None);
        assert_eq!(holiday_name(date(1948, 1, 1)), None);
    }

    #[test]
    fn business_days_basic() {
        let cal = BusinessCalendar::default();
        assert!(cal.year_end_closed());
        assert!(cal.is_business_day(date(2026, 3, 19))); // Thursday
        assert!(!cal.is_business_day(date(2026, 3, 20))); // 春分の日
        assert!(!cal.is_business_day(date(2026, 3, 21))); // Saturday
        assert!(!cal.is_business_day(date(2025, 12, 29))); // closure, Monday
        assert!(!cal.is_business_day(date(2026, 1, 2))); // closure, Friday
        let open = BusinessCalendar::new(false);
        assert!(open.is_business_day(date(2025, 12, 29)));
        assert!(open.is_business_day(date(2026, 1, 2)));
        assert!(!open.is_business_day(date(2026, 1, 1)));
    }

    #[test]
    fn add_business_days_year_end() {
        let cal = BusinessCalendar::default();
        // 2026-12-28 is a Monday; Dec 29 – Jan 3 closed; 2027-01-04 (Mon) is the first day back.
        assert_eq!(date(2026, 12, 28).weekday(), Weekday::Monday);
        assert_eq!(cal.add_business_days(date(2026, 12, 28), 0), date(2026, 12, 28));
        assert_eq!(cal.add_business_days(date(2026, 12, 28), 1), date(2027, 1, 4));
        assert_eq!(cal.add_business_days(date(2026, 12, 28), 2), date(2027, 1, 5));
        assert_eq!(cal.add_business_days(date(2026, 12, 30), 0), date(2027, 1, 4));
        assert_eq!(cal.next_business_day(date(2026, 12, 28)), date(2027, 1, 4));
        // 2027-01-11 is 成人の日.
        assert_eq!(cal.add_business_days(date(2027, 1, 8), 1), date(2027, 1, 12));

        let open = BusinessCalendar::new(false);
        assert_eq!(open.add_business_days(date(2026, 12, 28), 1), date(2026, 12, 29));
        assert_eq!(open.add_business_days(date(2026, 12, 31), 1), date(2027, 1, 4));
        assert_eq!(open.add_business_days(date(2025, 12, 31), 2), date(2026, 1, 5));
    }

    #[test]
    fn add_business_days_golden_week() {
        let cal = BusinessCalendar::default();
        // 2026: 4/29 Wed holiday, 5/2-5/6 Sat-Wed off.
        assert_eq!(cal.add_business_days(date(2026, 4, 28), 1), date(2026, 4, 30));
        assert_eq!(cal.add_business_days(date(2026, 4, 28), 2), date(2026, 5, 1));
        assert_eq!(cal.add_business_days(date(2026, 4, 30), 2), date(2026, 5, 7));
        assert_eq!(cal.add_business_days(date(2026, 5, 1), 1), date(2026, 5, 7));
        assert_eq!(cal.add_business_days(date(2026, 5, 3), 0), date(2026, 5, 7));
        // 2025: 5/3 Sat – 5/6 Tue off.
        assert_eq!(cal.add_business_days(date(2025, 5, 2), 2), date(2025, 5, 8));
        // Silver week 2026: 9/19 Sat – 9/23 Wed off.
        assert_eq!(cal.add_business_days(date(2026, 9, 18), 1), date(2026, 9, 24));
        assert_eq!(cal.next_business_day(date(2026, 9, 17)), date(2026, 9, 18));
    }

    #[test]
    fn saturates_at_date_max() {
        let cal = BusinessCalendar::new(false);
        assert_eq!(cal.next_business_day(Date::MAX), Date::MAX);
        assert_eq!(cal.add_business_days(Date::MAX, 0), Date::MAX); // 9999-12-31 is a Friday
        assert_eq!(cal.add_business_days(date(9999, 12, 20), 100), Date::MAX);
        let closed = BusinessCalendar::default();
        assert_eq!(closed.add_business_days(date(9999, 12, 28), 5), Date::MAX);
        assert_eq!(closed.add_business_days(Date::MAX, 0), Date::MAX);
        let _ = holiday_name(Date::MIN);
        let _ = holidays_in_year(9999);
        let _ = holidays_in_year(-9999);
        let _ = cal.add_business_days(Date::MIN, 10);
    }

    #[test]
    fn no_panic_every_day_1900_2200() {
        let cal = BusinessCalendar::default();
        let mut d = date(1900, 1, 1);
        while d < date(2200, 1, 1) {
            let _ = holiday_name(d);
            let _ = cal.is_business_day(d);
            d = d.tomorrow().unwrap();
        }
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (0i64..(300 * 366)).prop_map(|k| date(1900, 1, 1).checked_add(k.days()).unwrap())
    }

    proptest! {
        #[test]
        fn add_business_days_lands_on_business_days(d in any_date(), n in 0u32..400, closed: bool) {
            let cal = BusinessCalendar::new(closed);
            let r = cal.add_business_days(d, n);
            prop_assert!(cal.is_business_day(r));
            prop_assert!(r >= d);
            if n >= 1 {
                prop_assert!(r > d);
                let next = cal.add_business_days(d, n + 1);
                prop_assert!(next > r);
                prop_assert_eq!(next, cal.next_business_day(r));
            }
        }

        #[test]
        fn weekends_are_never_business_days(d in any_date(), closed: bool) {
            let cal = BusinessCalendar::new(closed);
            if matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
                prop_assert!(!cal.is_business_day(d));
            }
            let next = cal.next_business_day(d);
            prop_assert!(next > d && cal.is_business_day(next));
        }

        #[test]
        fn no_panics(d in any_date(), n in 0u32..1000) {
            let _ = holiday_name(d);
            let _ = holidays_in_year(d.year());
            for cal in [BusinessCalendar::new(true), BusinessCalendar::new(false)] {
                let _ = cal.is_business_day(d);
                let _ = cal.next_business_day(d);
                let _ = cal.add_business_days(d, n);
            }
        }
    }
}
