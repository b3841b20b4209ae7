//! Dates about people are often only partly known: `"2013"`, `"2013-04"` or
//! `"2013-04-17"`. A `PartialDate` keeps exactly the precision it was given,
//! comes back exactly as sent, and sorts as text does.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The earliest year we accept: older dates are typing mistakes here.
const MIN_YEAR: i32 = 1900;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialDate {
    year: i32,
    month: Option<u32>,
    day: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
pub struct PartialDateError(String);

impl PartialDate {
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The first day the date could mean.
    pub fn earliest(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month.unwrap_or(1), self.day.unwrap_or(1))
            .unwrap_or(NaiveDate::MIN)
    }

    /// The last day the date could mean.
    pub fn latest(&self) -> NaiveDate {
        match (self.month, self.day) {
            (Some(m), Some(d)) => NaiveDate::from_ymd_opt(self.year, m, d),
            (Some(m), None) => {
                let (y, next) = if m == 12 {
                    (self.year + 1, 1)
                } else {
                    (self.year, m + 1)
                };
                NaiveDate::from_ymd_opt(y, next, 1).and_then(|d| d.pred_opt())
            }
            _ => NaiveDate::from_ymd_opt(self.year, 12, 31),
        }
        .unwrap_or(NaiveDate::MAX)
    }

    /// True when this date certainly comes after `other` (no day both could mean).
    pub fn certainly_after(&self, other: &PartialDate) -> bool {
        self.earliest() > other.latest()
    }
}

fn digits(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl FromStr for PartialDate {
    type Err = PartialDateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || PartialDateError(s.chars().take(40).collect());
        let mut parts = s.split('-');
        let year = parts.next().and_then(|y| digits(y, 4)).ok_or_else(error)? as i32;
        let month = parts
            .next()
            .map(|m| digits(m, 2).ok_or_else(error))
            .transpose()?;
        let day = parts
            .next()
            .map(|d| digits(d, 2).ok_or_else(error))
            .transpose()?;
        if parts.next().is_some() || year < MIN_YEAR {
            return Err(error());
        }
        if let Some(m) = month {
            if !(1..=12).contains(&m) {
                return Err(error());
            }
        }
        if let (Some(m), Some(d)) = (month, day) {
            NaiveDate::from_ymd_opt(year, m, d).ok_or_else(error)?;
        }
        Ok(PartialDate { year, month, day })
    }
}

impl PartialDate {
    /// A date about a person cannot lie wholly in the future: refused where
    /// files are validated (422), not here, so that the document's pattern
    /// says all that parsing checks.
    pub fn check_not_future(&self, field: &str) -> Result<(), crate::error::AppError> {
        if self.earliest() > chrono::Utc::now().date_naive() {
            return Err(crate::error::AppError::validation(format!(
                "{field} ({self}) lies in the future"
            )));
        }
        Ok(())
    }

    /// `check_not_future` for each date given, named by its field.
    pub fn check_none_in_future(
        dates: &[(&str, Option<PartialDate>)],
    ) -> Result<(), crate::error::AppError> {
        for (field, date) in dates {
            if let Some(date) = date {
                date.check_not_future(field)?;
            }
        }
        Ok(())
    }
}

/// The pattern of exactly the strings `from_str` accepts: years from 1900,
/// months 01–12, and days that exist in that month (29 February in leap years).
fn pattern() -> String {
    const YEAR: &str = "(?:19[0-9][0-9]|[2-9][0-9][0-9][0-9])";
    const LEAP: &str =
        "(?:(?:19|[2-9][0-9])(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)";
    const MONTH_DAY: &str = "(?:(?:0[13578]|1[02])(?:-(?:0[1-9]|[12][0-9]|3[01]))?\
        |(?:0[469]|11)(?:-(?:0[1-9]|[12][0-9]|30))?\
        |02(?:-(?:0[1-9]|1[0-9]|2[0-8]))?)";
    format!("^(?:{YEAR}(?:-{MONTH_DAY})?|{LEAP}-02-29)$")
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

/// Ordered as the text is: by year, then month, then day, a less precise
/// date first ("2013" < "2013-04" < "2013-04-17" < "2013-05").
impl Ord for PartialDate {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.year, self.month, self.day).cmp(&(other.year, other.month, other.day))
    }
}

impl PartialOrd for PartialDate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for PartialDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for PartialDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(pattern()))
            .description(Some(
                "A date known to the year, the month or the day: YYYY, YYYY-MM or YYYY-MM-DD, \
                 from 1900, a day that exists; not wholly in the future (422).",
            ))
            .examples([serde_json::json!("2013-04")])
            .into()
    }
}

impl utoipa::ToSchema for PartialDate {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_precisions_and_round_trips_them() {
        for text in ["2013", "2013-04", "2013-04-17", "2012-02-29"] {
            let date: PartialDate = text.parse().unwrap();
            assert_eq!(date.to_string(), text);
        }
    }

    #[test]
    fn refuses_impossible_or_foreign_forms() {
        for text in [
            "2013-13",
            "2013-02-30",
            "2013-00",
            "2013-04-00",
            "17-04-2013",
            "2013/04/17",
            "13",
            "2013-4",
            "2013-04-7",
            "201",
            "20130",
            "last spring",
            "",
            "2013-04-17-01",
            "1850",
            "٢٠١٣",
            " 2013",
        ] {
            assert!(text.parse::<PartialDate>().is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn a_date_wholly_in_the_future_parses_but_is_refused_for_a_file() {
        let far: PartialDate = "9999".parse().unwrap();
        assert!(far.check_not_future("last_seen_on").is_err());
        let this_year: PartialDate = chrono::Utc::now().format("%Y").to_string().parse().unwrap();
        assert!(this_year.check_not_future("last_seen_on").is_ok());
    }

    #[test]
    fn sorts_and_compares_by_what_it_could_mean() {
        let d = |s: &str| s.parse::<PartialDate>().unwrap();
        let mut dates = [
            d("2013-05"),
            d("2013-04-17"),
            d("2012"),
            d("2013"),
            d("2013-04"),
        ];
        dates.sort();
        let sorted: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
        assert_eq!(sorted, ["2012", "2013", "2013-04", "2013-04-17", "2013-05"]);
        // Text order equals date order, so the database can sort the column as text.
        let mut texts = sorted.clone();
        texts.sort();
        assert_eq!(texts, sorted);
        assert!(d("2014").certainly_after(&d("2013-12-31")));
        assert!(!d("2013-05").certainly_after(&d("2013")));
        assert!(!d("2013").certainly_after(&d("2013-05")));
        assert_eq!(d("2013-02").latest().to_string(), "2013-02-28");
        assert_eq!(d("2013-12").latest().to_string(), "2013-12-31");
    }
}
