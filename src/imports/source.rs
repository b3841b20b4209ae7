//! Reading an uploaded list — CSV, JSON Lines or XLSX — as its headers and
//! records of text cells, whatever the format wrote them as. CSV and JSON
//! Lines are read a record at a time from the file on disk; an XLSX
//! workbook is a zip archive and is read whole by `calamine` (its size is
//! bounded by the upload limit).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::detainees::export::undefused;
use crate::text_enum;

text_enum! {
    pub enum ImportFormat {
        Csv => "csv",
        Jsonl => "jsonl",
        Xlsx => "xlsx",
    }
}

/// One record of the list: its row as the person who keeps the list sees
/// it (the header is row 1; a JSON Lines file's first line is row 1) and
/// its cells as `(header index, text)`, empty cells left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub row: u64,
    pub cells: Vec<(usize, String)>,
}

/// A record that cannot be read at all (a broken CSV quote, a JSON line
/// that is not an object): reported on its row, and the reading goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub row: u64,
    pub message: String,
    /// The reader cannot go past it: nothing after it is read.
    pub rest_unread: bool,
}

/// The file itself cannot be read (not the format it was said to be).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// The list's headers, and its records one after another.
pub struct Table {
    headers: Vec<String>,
    header_index: HashMap<String, usize>,
    records: Records,
}

enum Records {
    Csv {
        reader: csv::Reader<BufReader<File>>,
        record: csv::StringRecord,
        /// Records read: a record is a row of the spreadsheet, whatever
        /// line breaks its cells hold (the header is row 1).
        read: u64,
    },
    Jsonl {
        lines: std::io::Lines<BufReader<File>>,
        row: u64,
    },
    Xlsx {
        rows: std::vec::IntoIter<(u64, Vec<String>)>,
    },
    /// After a record the reader could not get past.
    Done,
}

impl Table {
    pub fn open(path: &Path, format: ImportFormat) -> Result<Table, Unreadable> {
        let file = File::open(path).map_err(|e| Unreadable(format!("the upload: {e}")))?;
        let (headers, records) = match format {
            ImportFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(BufReader::with_capacity(1 << 16, file));
                let headers = reader
                    .headers()
                    .map_err(|e| Unreadable(format!("not a CSV file: {e}")))?
                    .iter()
                    .map(str::to_owned)
                    .collect();
                let record = csv::StringRecord::new();
                (
                    headers,
                    Records::Csv {
                        reader,
                        record,
                        read: 0,
                    },
                )
            }
            ImportFormat::Jsonl => (
                Vec::new(),
                Records::Jsonl {
                    lines: BufReader::with_capacity(1 << 16, file).lines(),
                    row: 0,
                },
            ),
            ImportFormat::Xlsx => {
                drop(file);
                let (headers, rows) = read_workbook(path)?;
                (
                    headers,
                    Records::Xlsx {
                        rows: rows.into_iter(),
                    },
                )
            }
        };
        let mut table = Table {
            headers: Vec::new(),
            header_index: HashMap::new(),
            records,
        };
        // A CSV file's or a sheet's headers are positional: the n-th header
        // names the n-th cell of every row, blank or repeated. (Two columns
        // that name one field are refused by the job: `Layout::repeated`.
        // A JSON Lines file has none here: it names its keys line by line.)
        table.headers = headers
            .into_iter()
            // A byte-order mark is not part of the first header.
            .map(|header| header.trim_start_matches('\u{feff}').to_owned())
            .collect();
        Ok(table)
    }

    /// The headers met so far (a JSON Lines file names its keys line by line).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    fn header(&mut self, name: &str) -> usize {
        if let Some(&index) = self.header_index.get(name) {
            return index;
        }
        self.headers.push(name.to_owned());
        self.header_index
            .insert(name.to_owned(), self.headers.len() - 1);
        self.headers.len() - 1
    }

    /// The next record with a value in it (a spreadsheet's blank rows are
    /// no one), or `None` at the end.
    pub fn next_record(&mut self) -> Option<Result<Record, Broken>> {
        loop {
            match self.next_raw()? {
                Ok(record) if record.cells.is_empty() => continue,
                other => return Some(other),
            }
        }
    }

    fn next_raw(&mut self) -> Option<Result<Record, Broken>> {
        match &mut self.records {
            Records::Csv {
                reader,
                record,
                read,
            } => match reader.read_record(record) {
                Ok(false) => None,
                Ok(true) => {
                    *read += 1;
                    let row = *read + 1;
                    let cells = record
                        .iter()
                        .enumerate()
                        .filter(|(_, cell)| !cell.trim().is_empty())
                        .map(|(i, cell)| (i, undefused(cell).to_owned()))
                        .collect::<Vec<_>>();
                    if let Some((i, _)) = cells.iter().find(|(i, _)| *i >= self.headers.len()) {
                        return Some(Err(Broken {
                            row,
                            message: format!(
                                "the row has a value in column {} but the header names only {}",
                                i + 1,
                                self.headers.len()
                            ),
                            rest_unread: false,
                        }));
                    }
                    Some(Ok(Record { row, cells }))
                }
                Err(e) => {
                    *read += 1;
                    let row = *read + 1;
                    // An I/O error or broken UTF-8 mid-file: the reader may
                    // not recover, so the rest of the file is not read.
                    let fatal = !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. });
                    if fatal {
                        self.records = Records::Done;
                    }
                    Some(Err(Broken {
                        row,
                        message: format!("not readable as CSV: {e}"),
                        rest_unread: fatal,
                    }))
                }
            },
            Records::Jsonl { lines, row } => loop {
                let line = match lines.next()? {
                    Ok(line) => line,
                    Err(e) => {
                        *row += 1;
                        let broken = Broken {
                            row: *row,
                            message: format!("not readable as UTF-8 text: {e}"),
                            rest_unread: true,
                        };
                        self.records = Records::Done;
                        return Some(Err(broken));
                    }
                };
                *row += 1;
                let row = *row;
                let line = line.trim_start_matches('\u{feff}');
                if line.trim().is_empty() {
                    continue;
                }
                let object = match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(serde_json::Value::Object(object)) => object,
                    Ok(_) => {
                        return Some(Err(Broken {
                            row,
                            message: "the line is not a JSON object".into(),
                            rest_unread: false,
                        }))
                    }
                    Err(e) => {
                        return Some(Err(Broken {
                            row,
                            message: format!("not JSON: {e}"),
                            rest_unread: false,
                        }))
                    }
                };
                let mut cells = Vec::with_capacity(object.len());
                for (key, value) in object {
                    let text = match value {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(text) => text,
                        // Aliases as an array, as the export writes them.
                        other => other.to_string(),
                    };
                    if !text.trim().is_empty() {
                        let index = self.header(&key);
                        cells.push((index, text));
                    }
                }
                return Some(Ok(Record { row, cells }));
            },
            Records::Xlsx { rows } => rows.next().map(|(row, values)| {
                Ok(Record {
                    row,
                    cells: values
                        .into_iter()
                        .enumerate()
                        .filter(|(_, cell)| !cell.trim().is_empty())
                        .collect(),
                })
            }),
            Records::Done => None,
        }
    }
}

/// How many records a file holds, by reading it through once (cheap next
/// to importing it): the total a job's progress is measured against.
pub fn count_records(path: &Path, format: ImportFormat) -> Result<u64, Unreadable> {
    let mut table = Table::open(path, format)?;
    let mut count = 0;
    while table.next_record().is_some() {
        count += 1;
    }
    Ok(count)
}

/// What an XLSX archive may hold once unpacked: a zip of a few megabytes
/// can unpack to gigabytes (a "zip bomb"), and a workbook is read whole.
const MAX_UNPACKED_BYTES: u64 = 2 << 30;
const MAX_PACKING_RATIO: u64 = 200;

/// Refuse an archive that would unpack to more than memory should hold,
/// from the sizes its directory declares (before anything is unpacked).
fn check_unpacked_size(path: &Path) -> Result<(), Unreadable> {
    let file = File::open(path).map_err(|e| Unreadable(format!("the upload: {e}")))?;
    let packed = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| Unreadable(format!("not an XLSX workbook: {e}")))?;
    let mut unpacked: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| Unreadable(format!("not an XLSX workbook: {e}")))?;
        unpacked = unpacked.saturating_add(entry.size());
    }
    if unpacked > MAX_UNPACKED_BYTES || unpacked > packed.saturating_mul(MAX_PACKING_RATIO) {
        return Err(Unreadable(format!(
            "the workbook would unpack to {} MB: too large to read (save it as CSV)",
            unpacked / 1_000_000
        )));
    }
    Ok(())
}

/// A worksheet's rows after the header: `(row number, cells)`.
type SheetRows = Vec<(u64, Vec<String>)>;

/// The first worksheet: its first row the headers, the rest the records.
fn read_workbook(path: &Path) -> Result<(Vec<String>, SheetRows), Unreadable> {
    use calamine::Reader;
    check_unpacked_size(path)?;
    let mut workbook = calamine::open_workbook_auto(path)
        .map_err(|e| Unreadable(format!("not an XLSX workbook: {e}")))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| Unreadable("the workbook has no worksheet".into()))?
        .map_err(|e| Unreadable(format!("the first worksheet cannot be read: {e}")))?;
    let first_row = u64::from(range.start().map_or(0, |(row, _)| row));
    let mut rows = range.rows();
    let headers = rows
        .next()
        .map(|cells| cells.iter().map(cell_text).collect())
        .unwrap_or_default();
    let records = rows
        .enumerate()
        .map(|(i, cells)| {
            (
                first_row + i as u64 + 2,
                cells.iter().map(cell_text).collect(),
            )
        })
        .collect();
    Ok((headers, records))
}

/// A spreadsheet cell as the text a person reads in it: whole numbers
/// without a fraction, dates as ISO dates (a date cell is a day, never a
/// time of day, in these lists).
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::{Data, DataType};
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(_) | Data::DateTimeIso(_) => cell
            .as_date()
            .map(|d| d.to_string())
            .unwrap_or_else(|| cell.to_string()),
        Data::DurationIso(text) => text.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "sijill-source-{}-{name}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn all(table: &mut Table) -> Vec<Result<Record, Broken>> {
        std::iter::from_fn(|| table.next_record()).collect()
    }

    #[test]
    fn csv_with_a_byte_order_mark_quotes_and_empty_cells() {
        let path = written(
            "a.csv",
            "\u{feff}الاسم,notes\r\nمحمد,\"two\nlines, a comma\"\r\n,\r\n,x\r\n",
        );
        let mut table = Table::open(&path, ImportFormat::Csv).unwrap();
        assert_eq!(table.headers(), ["الاسم", "notes"]);
        let records = all(&mut table);
        assert_eq!(
            records[0],
            Ok(Record {
                row: 2,
                cells: vec![(0, "محمد".into()), (1, "two\nlines, a comma".into())]
            })
        );
        // The row numbers are the rows a spreadsheet shows (a cell's line
        // breaks do not count); a blank row is skipped.
        assert_eq!(
            records[1],
            Ok(Record {
                row: 4,
                cells: vec![(1, "x".into())]
            })
        );
        assert_eq!(count_records(&path, ImportFormat::Csv).unwrap(), 2);
    }

    #[test]
    fn blank_headers_keep_their_column() {
        // Spreadsheets often have unheaded columns between headed ones.
        let path = written("blank.csv", "full_name,,,sex,status,,\nA,x,,M,detained,,\n");
        let mut table = Table::open(&path, ImportFormat::Csv).unwrap();
        assert_eq!(
            table.headers(),
            ["full_name", "", "", "sex", "status", "", ""]
        );
        let records = all(&mut table);
        assert_eq!(
            records[0],
            Ok(Record {
                row: 2,
                cells: vec![
                    (0, "A".into()),
                    (1, "x".into()),
                    (3, "M".into()),
                    (4, "detained".into())
                ]
            })
        );
    }

    #[test]
    fn json_lines_name_their_keys_line_by_line() {
        let path = written(
            "a.jsonl",
            "{\"full_name\":\"A\",\"aliases\":[\"B\"]}\n\n[1]\n{\"status\":\"detained\",\"notes\":null}\n",
        );
        let mut table = Table::open(&path, ImportFormat::Jsonl).unwrap();
        let records = all(&mut table);
        let mut headers = table.headers().to_vec();
        headers.sort();
        assert_eq!(headers, ["aliases", "full_name", "status"]);
        let header = |name: &str| table.headers().iter().position(|h| h == name).unwrap();
        let first = records[0].as_ref().unwrap();
        assert!(first.cells.contains(&(header("aliases"), "[\"B\"]".into())));
        assert_eq!(records[1].as_ref().unwrap_err().row, 3);
        assert_eq!(
            records[2],
            Ok(Record {
                row: 4,
                cells: vec![(header("status"), "detained".into())]
            })
        );
    }

    #[test]
    fn a_file_that_is_not_a_workbook_is_unreadable() {
        let path = written("a.xlsx", "name\nx\n");
        assert!(Table::open(&path, ImportFormat::Xlsx).is_err());
    }
}
