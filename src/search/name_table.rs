//! `data/syrian-names.csv`: common Syrian names in Arabic script with the
//! Latin spellings they are met in. Read by the matcher (known names) and by
//! the synthetic-file generator, from this one reader.

const NAMES_CSV: &str = include_str!("../../data/syrian-names.csv");

/// One name of the table.
pub struct NameRow {
    /// `male`, `female` or `family`.
    pub kind: &'static str,
    pub arabic: &'static str,
    /// Most usual spelling first.
    pub latin: Vec<&'static str>,
}

/// The names of the table, most common first within each kind.
pub fn rows() -> impl Iterator<Item = NameRow> {
    NAMES_CSV
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let mut columns = line.splitn(3, ',');
            Some(NameRow {
                kind: columns.next()?,
                arabic: columns.next()?,
                latin: columns.next()?.split('|').collect(),
            })
        })
}
