//! Values as people write them in spreadsheets, read into the file's
//! types — or refused, saying what was found. Never a guess: a value is
//! read only by a rule written here (and in docs/imports.md); whatever no
//! rule reads is `Unreadable`, and the row is reported, not imported.
//!
//! - Digits: Arabic-Indic (`٠١٢٣٤٥٦٧٨٩`) and Extended Arabic-Indic
//!   (`۰۱۲۳۴۵۶۷۸۹`) digits are read as `0`–`9`.
//! - Dates, whole or partial: `2013`, `2013-05`, `2013-05-15` (also with
//!   `/` or `.`), `05/2013`, `15/5/2013` (day first, as dates are written
//!   in the Levant: never month first), `2013/5/15`, and month names in
//!   Arabic (the Levantine `أيار`, `تشرين الأول` … and the Egyptian
//!   `مايو`, `أكتوبر` …) or English (`May`, `Oct`), with or without a
//!   day: `أيار 2013`, `15 أيار 2013`, `آذار ٢٠١٤`, `15 May 2013`.
//! - Enumerations, from documented synonyms in both languages.

use crate::detainees::model::{Category, DetaineeStatus, Sex};
use crate::domain::PartialDate;

/// A value no rule reads: what was found, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub found: String,
    pub expected: &'static str,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not {}", self.found, self.expected)
    }
}

fn unreadable(raw: &str, expected: &'static str) -> Unreadable {
    Unreadable {
        found: raw.chars().take(60).collect(),
        expected,
    }
}

/// Arabic-Indic and Extended Arabic-Indic digits as ASCII digits.
pub fn western_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            other => other,
        })
        .collect()
}

/// Text folded for comparing words: lower case, Arabic letter variants
/// unified (alef forms, alef maqsura, teh marbuta), marks and tatweel
/// dropped, runs of spaces (and `_`) as one space.
pub fn folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        let c = match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ى' => 'ي',
            'ة' => 'ه',
            // Harakat, tanween, shadda, sukun, superscript alef; tatweel.
            '\u{064B}'..='\u{0652}' | '\u{0670}' | 'ـ' => continue,
            '_' | '\t' => ' ',
            other => other,
        };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.extend(c.to_lowercase());
    }
    out.trim_end().to_owned()
}

/// Month names, folded, and their numbers.
const MONTHS: &[(&str, u32)] = &[
    // The Levant (Syria, Lebanon, Jordan, Palestine, Iraq).
    ("كانون الثاني", 1),
    ("كانون ثاني", 1),
    ("شباط", 2),
    ("اذار", 3),
    ("نيسان", 4),
    ("ايار", 5),
    ("حزيران", 6),
    ("تموز", 7),
    ("اب", 8),
    ("ايلول", 9),
    ("تشرين الاول", 10),
    ("تشرين اول", 10),
    ("تشرين الثاني", 11),
    ("تشرين ثاني", 11),
    ("كانون الاول", 12),
    ("كانون اول", 12),
    // Egypt and the Gulf.
    ("يناير", 1),
    ("فبراير", 2),
    ("مارس", 3),
    ("ابريل", 4),
    ("مايو", 5),
    ("يونيو", 6),
    ("يونيه", 6),
    ("يوليو", 7),
    ("يوليه", 7),
    ("اغسطس", 8),
    ("سبتمبر", 9),
    ("اكتوبر", 10),
    ("نوفمبر", 11),
    ("ديسمبر", 12),
    // English, and its three-letter forms.
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

const DATE: &str = "a date (2013, 2013-05, 05/2013, 15/5/2013, 2013/5/15, أيار 2013)";

fn number(text: &str, min_len: usize, max_len: usize) -> Option<u32> {
    (text.len() >= min_len && text.len() <= max_len && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn year(text: &str) -> Option<u32> {
    number(text, 4, 4)
}

fn partial(year: u32, month: Option<u32>, day: Option<u32>) -> Option<PartialDate> {
    let text = match (month, day) {
        (None, _) => format!("{year:04}"),
        (Some(m), None) => format!("{year:04}-{m:02}"),
        (Some(m), Some(d)) => format!("{year:04}-{m:02}-{d:02}"),
    };
    text.parse().ok()
}

/// A month name, folded, at the start of `words`: its number and how many
/// words it took.
fn month_name(words: &[&str]) -> Option<(u32, usize)> {
    // Two-word names first ("تشرين الاول" before "تشرين").
    for take in [2, 1] {
        if words.len() >= take {
            let name = words[..take].join(" ");
            let name = name.trim_end_matches([',', '.']);
            if let Some((_, m)) = MONTHS.iter().find(|(n, _)| *n == name) {
                return Some((*m, take));
            }
        }
    }
    None
}

/// A date as written, or `None` for an empty cell.
pub fn read_date(raw: &str) -> Result<Option<PartialDate>, Unreadable> {
    let text = folded(&western_digits(raw));
    if text.is_empty() {
        return Ok(None);
    }
    let error = || unreadable(raw, DATE);
    numeric_date(&text)
        .or_else(|| named_date(&text))
        .map(Some)
        .ok_or_else(error)
}

fn numeric_date(text: &str) -> Option<PartialDate> {
    let parts: Vec<&str> = text.split(['-', '/', '.']).map(str::trim).collect();
    match parts.as_slice() {
        [y] => partial(year(y)?, None, None),
        // 2013-05 or 05/2013
        [a, b] => match (year(a), year(b)) {
            (Some(y), None) => partial(y, Some(number(b, 1, 2)?), None),
            (None, Some(y)) => partial(y, Some(number(a, 1, 2)?), None),
            _ => None,
        },
        // 2013-05-15 or 15/5/2013: the year tells the order; the day is
        // always before the month when the year is last.
        [a, b, c] => match (year(a), year(c)) {
            (Some(y), None) => partial(y, Some(number(b, 1, 2)?), Some(number(c, 1, 2)?)),
            (None, Some(y)) => partial(y, Some(number(b, 1, 2)?), Some(number(a, 1, 2)?)),
            _ => None,
        },
        _ => None,
    }
}

fn named_date(text: &str) -> Option<PartialDate> {
    let words: Vec<&str> = text.split(' ').collect();
    // [day] month year
    let (day, rest) = match words.first().and_then(|w| number(w, 1, 2)) {
        Some(d) => (Some(d), &words[1..]),
        None => (None, &words[..]),
    };
    if let Some((month, took)) = month_name(rest) {
        if let [y] = &rest[took..] {
            return partial(year(y)?, Some(month), day);
        }
        // month day, year (English)
        if let (None, [d, y]) = (day, &rest[took..]) {
            return partial(
                year(y)?,
                Some(month),
                Some(number(d.trim_end_matches(','), 1, 2)?),
            );
        }
    }
    None
}

/// The synonyms of one enumeration: folded words and their values.
pub type Synonyms<T> = &'static [(&'static str, T)];

/// Statuses, as lists write them.
pub const STATUS: Synonyms<DetaineeStatus> = &[
    ("detained", DetaineeStatus::Detained),
    ("arrested", DetaineeStatus::Detained),
    ("in detention", DetaineeStatus::Detained),
    ("معتقل", DetaineeStatus::Detained),
    ("معتقله", DetaineeStatus::Detained),
    ("محتجز", DetaineeStatus::Detained),
    ("محتجزه", DetaineeStatus::Detained),
    ("موقوف", DetaineeStatus::Detained),
    ("disappeared", DetaineeStatus::Disappeared),
    ("forcibly disappeared", DetaineeStatus::Disappeared),
    ("enforced disappearance", DetaineeStatus::Disappeared),
    ("مختفي", DetaineeStatus::Disappeared),
    ("مختفيه", DetaineeStatus::Disappeared),
    ("مختفي قسريا", DetaineeStatus::Disappeared),
    ("مختف قسريا", DetaineeStatus::Disappeared),
    ("مختفيه قسريا", DetaineeStatus::Disappeared),
    ("مغيب قسريا", DetaineeStatus::Disappeared),
    ("مخفي قسريا", DetaineeStatus::Disappeared),
    ("released", DetaineeStatus::Released),
    ("freed", DetaineeStatus::Released),
    ("مفرج عنه", DetaineeStatus::Released),
    ("مفرج عنها", DetaineeStatus::Released),
    ("مطلق سراحه", DetaineeStatus::Released),
    ("deceased", DetaineeStatus::Deceased),
    ("dead", DetaineeStatus::Deceased),
    ("died in detention", DetaineeStatus::Deceased),
    ("متوفي", DetaineeStatus::Deceased),
    ("متوفيه", DetaineeStatus::Deceased),
    ("توفي", DetaineeStatus::Deceased),
    ("توفيت", DetaineeStatus::Deceased),
    ("unknown", DetaineeStatus::Unknown),
    ("غير معروف", DetaineeStatus::Unknown),
    ("مجهول", DetaineeStatus::Unknown),
];

pub const SEX: Synonyms<Sex> = &[
    ("female", Sex::Female),
    ("f", Sex::Female),
    ("woman", Sex::Female),
    ("انثي", Sex::Female),
    ("انثى", Sex::Female),
    ("امراه", Sex::Female),
    ("male", Sex::Male),
    ("m", Sex::Male),
    ("man", Sex::Male),
    ("ذكر", Sex::Male),
    ("رجل", Sex::Male),
    ("unknown", Sex::Unknown),
    ("غير معروف", Sex::Unknown),
];

pub const CATEGORY: Synonyms<Category> = &[
    ("political", Category::Political),
    ("political detainee", Category::Political),
    ("سياسي", Category::Political),
    ("معتقل سياسي", Category::Political),
    ("معتقل راي", Category::Political),
    ("criminal accusation", Category::CriminalAccusation),
    ("criminal", Category::CriminalAccusation),
    ("جنائي", Category::CriminalAccusation),
    ("تهمه جنائيه", Category::CriminalAccusation),
    ("unknown", Category::Unknown),
    ("غير معروف", Category::Unknown),
];

pub const YES_NO: Synonyms<bool> = &[
    ("yes", true),
    ("y", true),
    ("true", true),
    ("1", true),
    ("نعم", true),
    ("no", false),
    ("n", false),
    ("false", false),
    ("0", false),
    ("لا", false),
];

/// A value by its synonyms (folded; the value's own name is one of them),
/// or `None` for an empty cell.
pub fn read_enum<T: Copy>(
    raw: &str,
    synonyms: Synonyms<T>,
    expected: &'static str,
) -> Result<Option<T>, Unreadable> {
    let text = folded(&western_digits(raw));
    if text.is_empty() {
        return Ok(None);
    }
    // Most cells are a synonym as written: compare before folding each.
    synonyms
        .iter()
        .find(|(word, _)| *word == text)
        .or_else(|| synonyms.iter().find(|(word, _)| folded(word) == text))
        .map(|(_, value)| Some(*value))
        .ok_or_else(|| unreadable(raw, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str) -> String {
        read_date(raw).unwrap().unwrap().to_string()
    }

    #[test]
    fn dates_as_people_write_them() {
        for (raw, expected) in [
            ("2013", "2013"),
            ("2013-05", "2013-05"),
            ("2013-05-15", "2013-05-15"),
            ("05/2013", "2013-05"),
            ("5/2013", "2013-05"),
            ("15/5/2013", "2013-05-15"),
            ("15.05.2013", "2013-05-15"),
            ("15-05-2013", "2013-05-15"),
            ("2013/05", "2013-05"),
            ("2013/5/15", "2013-05-15"),
            ("٢٠١٣", "2013"),
            ("١٥/٥/٢٠١٣", "2013-05-15"),
            ("۱۵/۵/۲۰۱۳", "2013-05-15"),
            ("أيار 2013", "2013-05"),
            ("ايار ٢٠١٣", "2013-05"),
            ("آذار ٢٠١٤", "2014-03"),
            ("15 أيار 2013", "2013-05-15"),
            ("تشرين الأول 2012", "2012-10"),
            ("تشرين الثاني ٢٠١١", "2011-11"),
            ("كانون الاول 2015", "2015-12"),
            ("آب 2016", "2016-08"),
            ("مايو 2013", "2013-05"),
            ("May 2013", "2013-05"),
            ("15 May 2013", "2013-05-15"),
            ("May 15, 2013", "2013-05-15"),
            ("oct 2012", "2012-10"),
            ("  2014-03  ", "2014-03"),
        ] {
            assert_eq!(date(raw), expected, "{raw}");
        }
        assert_eq!(read_date("   ").unwrap(), None);
    }

    #[test]
    fn what_no_rule_reads_is_refused_never_guessed() {
        for raw in [
            "15/13/2013", // no month 13: not read as month first
            "5/15/2013",
            "31/2/2013",
            "13/2013",
            "2013-5-15-1",
            "spring 2013",
            "أيار",
            "2013 أيار 15 16",
            "1899",
            "12/05/13", // a two-digit year: which century?
            "unknown",
            "—",
        ] {
            let err = read_date(raw).unwrap_err();
            assert_eq!(err.found, raw, "{raw}");
            assert!(err.to_string().contains("is not a date"), "{err}");
        }
    }

    #[test]
    fn enumerations_from_their_synonyms_in_both_languages() {
        let status = |raw| read_enum(raw, STATUS, "a status").unwrap().unwrap();
        assert_eq!(status("معتقل"), DetaineeStatus::Detained);
        assert_eq!(status("مختفي قسرياً"), DetaineeStatus::Disappeared);
        assert_eq!(status("مُختفٍ قسريّاً"), DetaineeStatus::Disappeared);
        assert_eq!(status("Forcibly_Disappeared"), DetaineeStatus::Disappeared);
        assert_eq!(status("مفرج عنه"), DetaineeStatus::Released);
        assert_eq!(status("DETAINED"), DetaineeStatus::Detained);
        let sex = |raw| read_enum(raw, SEX, "a sex").unwrap().unwrap();
        assert_eq!(sex("ذكر"), Sex::Male);
        assert_eq!(sex("M"), Sex::Male);
        assert_eq!(sex("أنثى"), Sex::Female);
        assert_eq!(read_enum("نعم", YES_NO, "yes or no").unwrap(), Some(true));
        assert_eq!(read_enum("", YES_NO, "yes or no").unwrap(), None);
        let err = read_enum("missing", STATUS, "a status").unwrap_err();
        assert_eq!(err.to_string(), "`missing` is not a status");
        // Every value of each enumeration has at least its own name.
        for value in DetaineeStatus::ALL {
            assert_eq!(status(value.as_str()), *value);
        }
        for value in Category::ALL {
            let read = read_enum(&value.as_str().replace('_', " "), CATEGORY, "a category");
            assert_eq!(read.unwrap(), Some(*value));
        }
    }

    #[test]
    fn folding_unifies_what_people_type_differently() {
        assert_eq!(folded("  إبراهيم   ال_خليل "), "ابراهيم ال خليل");
        assert_eq!(folded("مكتبـــة"), "مكتبه");
        assert_eq!(western_digits("٢٠١٤-٠٣"), "2014-03");
    }
}
