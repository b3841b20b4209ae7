//! Property tests (proptest) of every parser and of every function that must
//! be total: whatever a client or a stored row holds, these answer — a value
//! or a refusal — and never panic.
//!
//! - `dates`: partial dates (`domain::PartialDate`);
//! - `cursors`: the pagination cursor codec and page bounds (`http::pagination`);
//! - `audit`: canonical JSON (RFC 8785) and the audit entry hash (`audit::model`);
//! - `names`: the name normaliser, tokeniser and keys (`search::names`, `search::keys`),
//!   with the public Wikidata name pairs at `../shared/data/names`;
//! - `permissions`: the permission matrix (`auth::permissions`) against the documented one.
//!
//! The number of cases is proptest's default (256, or `PROPTEST_CASES`).

mod audit;
mod cursors;
mod dates;
mod names;
mod permissions;
mod text;
