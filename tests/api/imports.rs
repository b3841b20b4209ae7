//! The import corpus (scripts/import_corpus.py) read by the import rules
//! (src/imports): every header is known, every date a row writes in
//! another format is read, and every value the corpus makes unreadable is
//! refused — the corpus and the rules agree before any import runs.

use std::collections::HashMap;

use serde_json::Value;
use sijill::imports::columns::{column_of, Column, Field};
use sijill::imports::values::{read_date, read_enum, SEX, STATUS};

use crate::helpers::*;
use crate::scenarios;

scenarios! {
    sqlite_with_python3: [
        the_corpus_and_the_rules_agree,
    ],
}

async fn the_corpus_and_the_rules_agree(_engine: Engine) {
    let dir = std::env::temp_dir().join(format!("sijill-corpus-{}", uuid::Uuid::now_v7().simple()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/import_corpus.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(&dir)
        .args(["--rows", "3000", "--seed", "7"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mut reader = csv::Reader::from_path(dir.join("corpus.csv")).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| column_of(h).unwrap_or_else(|| panic!("unknown header {h}")))
        .collect();
    let rows: Vec<HashMap<Column, String>> = reader
        .records()
        .map(|r| {
            columns
                .iter()
                .copied()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3000);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    let row = |line: &Value| &rows[line.as_u64().unwrap() as usize - 2];
    let dates = [Field::BirthDate, Field::DetainedOn, Field::LastSeenOn];
    for line in truth["mixed_dates"].as_array().unwrap() {
        for field in dates {
            let cell = &row(line)[&Column::Field(field)];
            assert!(read_date(cell).is_ok(), "line {line}: {cell}");
        }
    }
    for unreadable in truth["unreadable"].as_array().unwrap() {
        let cell = unreadable["found"].as_str().unwrap();
        let refused = match unreadable["column"].as_str().unwrap() {
            "الحالة" => read_enum(cell, STATUS, "a status").is_err(),
            "الجنس" => read_enum(cell, SEX, "a sex").is_err(),
            _ => read_date(cell).is_err(),
        };
        assert!(refused, "{unreadable}");
    }
    for line in truth["new"].as_array().unwrap() {
        let r = row(line);
        assert!(read_enum(&r[&Column::Field(Field::Status)], STATUS, "a status").is_ok());
        assert!(read_enum(&r[&Column::Field(Field::Sex)], SEX, "a sex").is_ok());
        for field in dates {
            assert!(read_date(&r[&Column::Field(field)]).is_ok());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
