//! Name matching across spellings and scripts (docs/search.md), with no
//! I/O of its own so that it can be tested and measured alone.
//!
//! A name becomes *tokens*, each with a *key*: a consonant skeleton shared
//! by Arabic script and the usual Latin spellings (`محمد`, `Mohammed`,
//! `Muhammad`, `Mohamad` → `mhmd`). Articles stay attached to the name they
//! belong to (`الحسن`, `Al-Hassan`, `el Hasan` → one token, key `hsn`, with
//! the article noted), and `عبد` compounds are one token (`Abdul Rahman`,
//! `Abdelrahman`, `Abd al-Rahman`, `عبد الرحمن` → key `bdrhmn`). Matching is
//! token by token, order-independent, and explains itself.

pub mod common_keys;
pub mod duplicates;
pub mod eval;
pub mod index;
pub mod keys;
pub mod name_table;
pub mod names;
pub mod routes;
pub mod store;

pub use names::{key_of, score, tokens, NameFields, NameToken, ScoredMatch, TokenMatch};
