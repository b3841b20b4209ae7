//! Partial dates: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, from 1900 on, days
//! that exist, exactly as sent; a file refuses one wholly in the future.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use sijill::domain::PartialDate;

use crate::text::any_text;

const MIN_YEAR: i32 = 1900;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// How precisely a date is known.
#[derive(Debug, Clone, Copy)]
enum Precision {
    Year,
    Month,
    Day,
}

fn precision() -> impl Strategy<Value = Precision> {
    prop_oneof![
        Just(Precision::Year),
        Just(Precision::Month),
        Just(Precision::Day)
    ]
}

fn text_of(date: NaiveDate, precision: Precision) -> String {
    match precision {
        Precision::Year => date.format("%Y").to_string(),
        Precision::Month => date.format("%Y-%m").to_string(),
        Precision::Day => date.format("%Y-%m-%d").to_string(),
    }
}

/// A real calendar day from 1900-01-01 to 9999-12-31.
fn any_day() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(MIN_YEAR, 1, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
    prop_oneof![
        // The dates people are documented with.
        past_day(),
        // Any day at all.
        (0..=(last - first).num_days()).prop_map(move |n| first + Duration::days(n)),
        // The last day of a month: 28, 29, 30 or 31.
        (MIN_YEAR..=9999, 1u32..=12).prop_map(|(y, m)| last_day_of(y, m)),
    ]
}

/// A real calendar day from 1900-01-01 to yesterday (today could become
/// tomorrow while the test runs).
fn past_day() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(MIN_YEAR, 1, 1).unwrap();
    let span = (today() - Duration::days(1) - first).num_days();
    prop_oneof![
        (0..=span).prop_map(move |n| first + Duration::days(n)),
        (MIN_YEAR..today().year(), 1u32..=12).prop_map(|(y, m)| last_day_of(y, m)),
    ]
}

fn last_day_of(year: i32, month: u32) -> NaiveDate {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .unwrap()
        .pred_opt()
        .unwrap()
}

/// The text of a valid partial date.
fn valid_date_text() -> impl Strategy<Value = String> {
    (any_day(), precision()).prop_map(|(day, p)| text_of(day, p))
}

/// The document's pattern for partial dates, without its anchors.
fn documented_pattern() -> String {
    use utoipa::openapi::{schema::Schema, RefOr};
    let RefOr::T(Schema::Object(schema)) = <PartialDate as utoipa::PartialSchema>::schema() else {
        panic!("a partial date is a string schema");
    };
    let pattern = schema.pattern.expect("a partial date has a pattern");
    pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .expect("an anchored pattern")
        .to_owned()
}

fn parsed(text: &str) -> PartialDate {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

proptest! {
    /// Parsing is total: any text is a date or a refusal.
    #[test]
    fn parsing_never_panics(text in any_text()) {
        let _ = text.parse::<PartialDate>();
        let _ = serde_json::from_value::<PartialDate>(serde_json::Value::String(text));
    }

    /// Near misses (digits, dashes, Arabic-Indic digits, spaces) are
    /// refused or read back exactly as written.
    #[test]
    fn near_misses_are_refused_or_exact(text in "[0-9\u{0660}-\u{0669}\u{06F0}-\u{06F9} +-]{0,12}") {
        if let Ok(date) = text.parse::<PartialDate>() {
            prop_assert_eq!(date.to_string(), text);
        }
    }

    /// Every valid date parses and comes back exactly as sent.
    #[test]
    fn valid_dates_round_trip(text in valid_date_text()) {
        let date = parsed(&text);
        prop_assert_eq!(date.to_string(), text.clone());
        prop_assert_eq!(parsed(&date.to_string()), date);
    }

    /// …through JSON too: a JSON string, and back to the same date.
    #[test]
    fn valid_dates_round_trip_through_json(text in valid_date_text()) {
        let date = parsed(&text);
        let json = serde_json::to_string(&date).unwrap();
        prop_assert_eq!(&json, &serde_json::to_string(&text).unwrap());
        prop_assert_eq!(serde_json::from_str::<PartialDate>(&json).unwrap(), date);
        let absent: Option<PartialDate> = serde_json::from_str("null").unwrap();
        prop_assert_eq!(absent, None);
    }

    /// JSON and `FromStr` agree on every string.
    #[test]
    fn json_accepts_what_from_str_accepts(text in prop_oneof![any_text(), valid_date_text()]) {
        let json = serde_json::to_string(&text).unwrap();
        prop_assert_eq!(
            serde_json::from_str::<PartialDate>(&json).ok(),
            text.parse::<PartialDate>().ok()
        );
    }

    /// Any year-month-day of digits in the right widths is accepted exactly
    /// when it is a real calendar date (or month) from 1900 on; chrono is
    /// the oracle. This covers month 00 and 13–99, day 00 and 32–99,
    /// 31 April, 29 February in common years.
    #[test]
    fn accepted_exactly_when_a_real_date(
        year in prop_oneof![1000i32..=9999, 1890i32..=2030],
        month in prop_oneof![0u32..=99, 1u32..=12],
        day in prop_oneof![0u32..=99, 1u32..=31],
        p in precision(),
    ) {
        let (text, earliest) = match p {
            Precision::Year => (format!("{year:04}"), NaiveDate::from_ymd_opt(year, 1, 1)),
            Precision::Month => (format!("{year:04}-{month:02}"), NaiveDate::from_ymd_opt(year, month, 1)),
            Precision::Day => (format!("{year:04}-{month:02}-{day:02}"), NaiveDate::from_ymd_opt(year, month, day)),
        };
        let expected = year >= MIN_YEAR && earliest.is_some();
        let got = text.parse::<PartialDate>();
        prop_assert_eq!(got.is_ok(), expected, "{} -> {:?}", text, got);
        if let Ok(date) = got {
            prop_assert_eq!(date.to_string(), text);
        }
    }

    /// Every string the document's pattern allows is a date the parser
    /// accepts, and comes back as sent.
    #[test]
    fn the_documented_pattern_is_accepted(
        text in prop::string::string_regex(&documented_pattern()).expect("a pattern proptest can generate from"),
    ) {
        prop_assert_eq!(parsed(&text).to_string(), text);
    }

    /// 29 February exists in leap years only; day 31 in April, June,
    /// September and November never.
    #[test]
    fn impossible_days_are_refused(year in MIN_YEAR..=9999) {
        let accepted = |text: String| text.parse::<PartialDate>().is_ok();
        let feb29 = format!("{year:04}-02-29");
        prop_assert_eq!(accepted(feb29.clone()), is_leap(year), "{}", feb29);
        prop_assert!(!accepted(format!("{year:04}-02-30")), "{}-02-30", year);
        for month in [4, 6, 9, 11] {
            prop_assert!(!accepted(format!("{year:04}-{month:02}-31")), "{}-{}-31", year, month);
            prop_assert!(accepted(format!("{year:04}-{month:02}-30")), "{}-{}-30", year, month);
        }
        for bad in ["13", "00", "01-00", "12-32"] {
            prop_assert!(!accepted(format!("{year:04}-{bad}")), "{}-{}", year, bad);
        }
    }

    /// A file refuses a date that starts after today, whatever its
    /// precision, and takes any other (the date parses either way).
    #[test]
    fn only_dates_wholly_in_the_future_are_refused_for_a_file(day in any_day(), p in precision()) {
        let date = parsed(&text_of(day, p));
        // Today can become tomorrow while the test runs.
        prop_assume!((date.earliest() - today()).num_days().abs() > 1);
        let refused = date.check_not_future("detained_on");
        prop_assert_eq!(refused.is_err(), date.earliest() > today(), "{}", date);
        if let Err(e) = refused {
            prop_assert_eq!(e.code(), "validation_failed");
        }
    }

    /// Wrong widths, separators, digits of another script, padding or a
    /// sign: refused.
    #[test]
    fn malformed_forms_are_refused(
        text in valid_date_text(),
        mangle in 0usize..10,
        at in any::<prop::sample::Index>(),
    ) {
        let parts: Vec<&str> = text.split('-').collect();
        let bad = match mangle {
            // One part a digit short or a digit long.
            0 => {
                let i = at.index(parts.len());
                let mut ps: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
                ps[i].pop();
                ps.join("-")
            }
            1 => {
                let i = at.index(parts.len());
                let mut ps: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
                ps[i].insert(0, '0');
                ps.join("-")
            }
            // Another separator.
            2 => text.replace('-', "/"),
            // One digit in Arabic-Indic (٠–٩) or extended (۰–۹) form.
            3 | 4 => {
                let base = if mangle == 3 { 0x0660 } else { 0x06F0 };
                let digits: Vec<usize> = text.char_indices().filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect();
                let i = digits[at.index(digits.len())];
                let d = text.as_bytes()[i] - b'0';
                let mut out = text.clone();
                out.replace_range(i..=i, &char::from_u32(base + u32::from(d)).unwrap().to_string());
                out
            }
            // A space before, a direction mark after, a sign, a trailing
            // dash, day-first order.
            5 => format!(" {text}"),
            6 => format!("{text}\u{200F}"),
            7 => format!("+{text}"),
            8 => format!("{text}-"),
            _ => parts.iter().rev().cloned().collect::<Vec<_>>().join("-"),
        };
        // A year alone has no dash to replace and no parts to reverse.
        prop_assume!(bad != text);
        prop_assert!(bad.parse::<PartialDate>().is_err(), "{:?} (from {:?}) accepted", bad, text);
    }

    /// The order is the order of the text, total and consistent with
    /// equality; `certainly_after` agrees with it and with the days each
    /// date could mean.
    #[test]
    fn order_is_the_text_order_and_agrees_with_the_days(
        a in valid_date_text(),
        b in valid_date_text(),
        c in valid_date_text(),
    ) {
        let (da, db, dc) = (parsed(&a), parsed(&b), parsed(&c));
        prop_assert_eq!(da.cmp(&db), a.cmp(&b));
        prop_assert_eq!(da.partial_cmp(&db), Some(a.cmp(&b)));
        prop_assert_eq!(da == db, a == b);
        prop_assert_eq!(da.cmp(&db), db.cmp(&da).reverse());
        if da <= db && db <= dc {
            prop_assert!(da <= dc);
        }
        for d in [da, db] {
            prop_assert!(d.earliest() <= d.latest());
            prop_assert_eq!(d.earliest().year(), d.year());
            prop_assert_eq!(d.latest().year(), d.year());
            prop_assert!(!d.certainly_after(&d));
        }
        prop_assert_eq!(da.certainly_after(&db), da.earliest() > db.latest());
        prop_assert!(!(da.certainly_after(&db) && db.certainly_after(&da)));
        if da.certainly_after(&db) {
            prop_assert!(da > db);
        }
        // A date's refinements lie within the days it could mean.
        if b.starts_with(&a) && b != a {
            prop_assert!(da < db);
            prop_assert!(da.earliest() <= db.earliest() && db.latest() <= da.latest());
        }
    }

    /// A date known to the day means exactly that day; one known to the
    /// month or the year, every day of it.
    #[test]
    fn earliest_and_latest_bound_the_period(day in any_day()) {
        let d = parsed(&text_of(day, Precision::Day));
        prop_assert_eq!((d.earliest(), d.latest()), (day, day));
        let m = parsed(&text_of(day, Precision::Month));
        prop_assert_eq!(m.earliest(), day.with_day(1).unwrap());
        prop_assert_eq!(m.latest(), last_day_of(day.year(), day.month()));
        let y = parsed(&text_of(day, Precision::Year));
        prop_assert_eq!(y.earliest(), NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap());
        prop_assert_eq!(y.latest(), NaiveDate::from_ymd_opt(day.year(), 12, 31).unwrap());
    }

    /// Sorting dates sorts their text (the database sorts the column as text).
    #[test]
    fn sorting_dates_sorts_their_text(texts in prop::collection::vec(valid_date_text(), 0..32)) {
        let mut dates: Vec<PartialDate> = texts.iter().map(|t| parsed(t)).collect();
        dates.sort();
        let mut sorted = texts.clone();
        sorted.sort();
        let back: Vec<String> = dates.iter().map(ToString::to_string).collect();
        prop_assert_eq!(back, sorted);
    }
}
