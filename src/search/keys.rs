//! Which keys a file is indexed under, and how a query picks its candidates
//! from them. No I/O: the same plan runs against the database
//! (`store::candidates`) and in memory (`eval`).
//!
//! A file is indexed under the key of each name part and under the pairs and
//! triples of the parts written in one name field, in sorted order so that
//! the order of the parts does not matter ("Al-Hassan Mohammed" has the pair
//! `hsn mhmd` too). Among a million files the given name `mhmd` is on a fifth
//! of them, `hsn mhmd` on a few thousand and `hmd hsn mhmd` on a few hundred:
//! a query looks up its most specific combinations first and skips any key
//! shared by too many files to say anything, so the candidates stay few
//! without losing the person asked for.

use std::collections::HashMap;
use std::hash::Hash;

use super::names::{tokens, NameToken};

/// Parts combined at most; a field with more distinct parts combines only
/// its first `MAX_PARTS` (a name is rarely longer; keeps the index bounded).
const MAX_COMBINED: usize = 3;
const MAX_PARTS: usize = 6;

/// A key looked up returns at most this many files; one with more is too
/// common to tell people apart and is used only when nothing rarer matched.
pub const PROBE_LIMIT: usize = 1_000;

/// Candidates returned at most, best first (those sharing the most with the
/// query); a search scores them a round of `SCORED` at a time, until a
/// round's worth passed its filters.
pub const MAX_CANDIDATES: usize = 1_000;

/// Candidates a search scores in one round: the names of these are read.
pub const SCORED: usize = 200;

/// The distinct keys of a name's parts, first-seen order, at most `MAX_PARTS`.
fn part_keys(name: &[NameToken]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for token in name {
        if !keys.contains(&token.key) && keys.len() < MAX_PARTS {
            keys.push(token.key.clone());
        }
    }
    keys
}

/// Every combination of `size` keys, each sorted and joined by a space.
fn combinations(keys: &[String], size: usize) -> Vec<String> {
    fn walk(
        keys: &[String],
        size: usize,
        start: usize,
        acc: &mut Vec<usize>,
        out: &mut Vec<String>,
    ) {
        if acc.len() == size {
            let mut parts: Vec<&str> = acc.iter().map(|&i| keys[i].as_str()).collect();
            parts.sort_unstable();
            out.push(parts.join(" "));
            return;
        }
        for i in start..keys.len() {
            acc.push(i);
            walk(keys, size, i + 1, acc, out);
            acc.pop();
        }
    }
    let mut out = Vec::new();
    walk(keys, size, 0, &mut Vec::new(), &mut out);
    out
}

/// The keys of one name, most specific first: triples, pairs, single parts.
fn levels(name: &[NameToken]) -> Vec<Vec<String>> {
    let keys = part_keys(name);
    (1..=MAX_COMBINED.min(keys.len()))
        .rev()
        .map(|size| combinations(&keys, size))
        .collect()
}

/// Every key a file with these name fields is indexed under, sorted, unique.
pub fn file_keys(fields: &[(&'static str, &str)]) -> Vec<String> {
    let mut keys: Vec<String> = fields
        .iter()
        .flat_map(|(_, text)| levels(&tokens(text)).into_iter().flatten())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The keys a query looks up, most specific first.
pub fn query_keys(query: &[NameToken]) -> Vec<String> {
    levels(query).into_iter().flatten().collect()
}

/// Candidates for a query: the files of every key that is specific enough,
/// those sharing the most with the query first (a file under the query's
/// triple is under its pairs and parts too), at most `MAX_CANDIDATES`;
/// when only common keys matched (the query itself is a common name,
/// "Mohammed Ahmad"), the first `PROBE_LIMIT` files of the most specific.
/// `postings(key, limit, must_read)` returns up to `limit` files indexed
/// under `key`, or `None` for a key already known to be too common, unless
/// `must_read`.
pub fn select_candidates<Id, E>(
    keys: &[String],
    mut postings: impl FnMut(&str, usize, bool) -> Result<Option<Vec<Id>>, E>,
) -> Result<Vec<Id>, E>
where
    Id: Clone + Eq + Hash,
{
    // Each file with the number of query parts it shares, summed over the
    // keys it is found under, and the order it was first found in.
    let mut shared: HashMap<Id, (usize, usize)> = HashMap::new();
    let mut common: Vec<&str> = Vec::new();
    for key in keys {
        let files = match postings(key, PROBE_LIMIT + 1, false)? {
            Some(files) if files.len() <= PROBE_LIMIT => files,
            _ => {
                common.push(key);
                continue;
            }
        };
        let parts = key.split(' ').count();
        for id in files {
            let next = shared.len();
            shared.entry(id).or_insert((0, next)).0 += parts;
        }
    }
    if shared.is_empty() {
        return Ok(match common.first() {
            Some(key) => postings(key, PROBE_LIMIT, true)?.unwrap_or_default(),
            None => Vec::new(),
        });
    }
    let mut ranked: Vec<(Id, (usize, usize))> = shared.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)));
    Ok(ranked
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(id, _)| id)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    #[test]
    fn a_file_is_indexed_under_its_parts_and_their_combinations_in_any_order() {
        let keys = file_keys(&[("full_name", "Mohammed Ahmad Al-Hassan")]);
        assert_eq!(
            keys,
            [
                "hmd",
                "hmd hsn",
                "hmd hsn mhmd",
                "hmd mhmd",
                "hsn",
                "hsn mhmd",
                "mhmd"
            ]
        );
        let swapped = file_keys(&[("full_name", "Al-Hassan Mohammed Ahmad")]);
        assert_eq!(keys, swapped);
    }

    #[test]
    fn scripts_share_keys_and_fields_add_theirs() {
        let latin = file_keys(&[("full_name", "Mohamad Abdelrahman Al-Hassan")]);
        let arabic = file_keys(&[("name_ar", "محمد عبد الرحمن الحسن")]);
        assert_eq!(latin, arabic);
        let both = file_keys(&[
            ("full_name", "Mohamad Abdelrahman Al-Hassan"),
            ("aliases", "Abu Khaled"),
        ]);
        assert!(both.len() > latin.len());
        assert!(!both.iter().any(|k| k.contains("xld") && k.contains("hsn")));
    }

    #[test]
    fn long_names_combine_a_bounded_number_of_parts() {
        let keys = file_keys(&[(
            "full_name",
            "A1 Bassel Chadi Darwish Ezz Firas Ghassan Hadi Issa",
        )]);
        // At most 6 parts: 6 + 15 + 20.
        assert!(keys.len() <= 41, "{}", keys.len());
    }

    fn postings_of(
        files: &[&str],
    ) -> impl FnMut(&str, usize, bool) -> Result<Option<Vec<usize>>, Infallible> {
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, name) in files.iter().enumerate() {
            for key in file_keys(&[("full_name", name)]) {
                index.entry(key).or_default().push(i);
            }
        }
        move |key, limit, _| {
            Ok(Some(
                index
                    .get(key)
                    .map(|ids| ids.iter().take(limit).copied().collect())
                    .unwrap_or_default(),
            ))
        }
    }

    #[test]
    fn a_rare_full_name_is_found_among_many_sharing_its_common_parts() {
        let mut files: Vec<String> = (0..PROBE_LIMIT + 500)
            .map(|i| format!("Mohammed Ahmad Person{i}"))
            .collect();
        files.push("Mohammed Ahmad Al-Hassan".to_owned());
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        let query = query_keys(&tokens("محمد أحمد الحسن"));
        let found = select_candidates(&query, postings_of(&names)).unwrap_or_default();
        assert!(found.contains(&(files.len() - 1)));
        assert!(found.len() < 10, "{}", found.len());
    }

    #[test]
    fn files_sharing_the_most_with_the_query_come_first() {
        // More partial matches than are scored: the full match is first.
        let mut files: Vec<String> = (0..PROBE_LIMIT - 100)
            .map(|i| format!("Mohammed Ahmad Person{i}"))
            .collect();
        files.push("Mohammed Ahmad Al-Hassan".to_owned());
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        let query = query_keys(&tokens("Mohammed Ahmad Al-Hassan"));
        let found = select_candidates(&query, postings_of(&names)).unwrap_or_default();
        assert_eq!(found.len(), files.len());
        assert_eq!(found[0], files.len() - 1);
    }

    #[test]
    fn a_common_name_alone_still_gets_some_candidates() {
        let files: Vec<String> = (0..PROBE_LIMIT + 500)
            .map(|i| format!("Mohammed Ahmad Person{i}"))
            .collect();
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        let query = query_keys(&tokens("Mohammed Ahmad"));
        let found = select_candidates(&query, postings_of(&names)).unwrap_or_default();
        assert_eq!(found.len(), PROBE_LIMIT);
    }
}
