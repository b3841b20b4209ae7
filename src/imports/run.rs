//! Running an import job — the one code path of `POST /imports` and
//! `sijill import`.
//!
//! The file is read a batch of rows at a time. Each batch is one write
//! transaction: the files it creates and updates, their name keys, one
//! `detainee.create`/`detainee.update` entry each (appended under one
//! chain lock), the job's counts and its report lines. A job that stops
//! (cancelled, crashed, the server stopped) leaves whole batches
//! committed; since rows are matched to files by `external_ref`, running
//! the same file again finishes the work and leaves what was done
//! `unchanged`.
//!
//! - `skip_invalid`: one pass; invalid rows are reported, the rest committed.
//! - `all_or_nothing` (the default): a first pass checks every row and
//!   commits nothing; only if no row is invalid does a second pass commit.
//!   A row that becomes invalid between the two (someone edited a file)
//!   stops the job, failed, with what was committed so far reported.
//! - `dry_run`: the first pass only, with the counts and possible
//!   duplicates the import would have.

use std::collections::HashMap;
use std::path::PathBuf;

use uuid::Uuid;

use super::duplicates::DuplicateFinder;
use super::job::{self, Counts, ImportJob, ImportMode, ImportStatus, NewJob, ReportLine};
use super::mapping::Mapping;
use super::rows::{read_record, Facilities, Layout, ReadRow, RowProblem};
use super::source::{count_records, Record, Table};
use crate::audit::{self, Actor, AuditAction, Changes, Fingerprints, Origin};
use crate::db::{Database, DbConnection, WriteTx};
use crate::detainees::model::ReviewStatus;
use crate::detainees::store::{self as files, Author};
use crate::error::AppError;
use crate::facilities::store::{self as facilities, FacilityFilter};

/// Rows a transaction.
pub const BATCH: usize = 500;

/// What a job needs to run, beside its row.
pub struct Request {
    pub job: NewJob,
    pub mapping: Option<Mapping>,
    /// The uploaded file; the caller removes it when the job ends.
    pub path: PathBuf,
    pub actor: Actor,
    pub origin: Origin,
}

/// Where a running job stands, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// `true` in the checking pass of an all-or-nothing import.
    pub checking: bool,
    pub rows_total: i64,
    pub counts: Counts,
}

/// Run the job to its end and return it as it ended. Whatever happens, the
/// job ends finished (succeeded, failed or cancelled) with its
/// `import.finish` entry, unless the database itself cannot be reached.
pub fn run(
    db: &Database,
    fingerprints: &Fingerprints,
    request: &Request,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportJob, AppError> {
    let id = request.job.id;
    let outcome = match count_records(&request.path, request.job.format) {
        Ok(rows_total) => {
            let rows_total = i64::try_from(rows_total).unwrap_or(i64::MAX);
            begin(db, request, Some(rows_total))?;
            passes(db, fingerprints, request, rows_total, progress)
        }
        Err(unreadable) => {
            begin(db, request, None)?;
            Ok(Ended::Failed(unreadable.to_string()))
        }
    };
    let (status, error) = match outcome {
        Ok(Ended::Succeeded) => (ImportStatus::Succeeded, None),
        Ok(Ended::Cancelled) => (ImportStatus::Cancelled, None),
        Ok(Ended::Failed(reason)) => (ImportStatus::Failed, Some(reason)),
        Err(e) => {
            tracing::error!(job = %id, error = %e, "import stopped");
            (
                ImportStatus::Failed,
                Some(format!(
                    "the import stopped: {e}; what was committed stays, and running the file again finishes it"
                )),
            )
        }
    };
    finish(
        db,
        id,
        &request.actor,
        &request.origin,
        status,
        error.as_deref(),
    )
}

enum Ended {
    Succeeded,
    Cancelled,
    Failed(String),
}

/// The job runs (its `import.start` entry was written when it was queued).
fn begin(db: &Database, request: &Request, rows_total: Option<i64>) -> Result<(), AppError> {
    db.write_blocking(|tx| job::start(tx, request.job.id, rows_total.unwrap_or(0)))
}

/// A job a stopped server left queued or running ends, failed.
pub fn end_interrupted(db: &Database, id: Uuid) -> Result<ImportJob, AppError> {
    finish(
        db,
        id,
        &Actor::system(),
        &Origin::system("startup"),
        ImportStatus::Failed,
        Some("the server stopped while the import ran; what was committed stays, and running the file again finishes it"),
    )
}

/// The job ends: its status and `import.finish` with its counts.
fn finish(
    db: &Database,
    id: Uuid,
    actor: &Actor,
    origin: &Origin,
    status: ImportStatus,
    error: Option<&str>,
) -> Result<ImportJob, AppError> {
    db.write_blocking(|tx| {
        job::finish(tx, id, status, error)?;
        let ended = job::find(tx, id, None)?.ok_or(AppError::NotFound)?;
        let c = &ended.counts;
        let changes = Changes::new()
            .created("status", status.as_str())
            .created("error", error)
            .created("dry_run", ended.dry_run)
            .created("rows_total", ended.rows_total)
            .created("rows_done", c.rows_done)
            .created("created", c.created)
            .created("updated", c.updated)
            .created("unchanged", c.unchanged)
            .created("invalid", c.invalid)
            .created("possible_duplicates", c.possible_duplicates);
        audit::append(
            tx,
            actor,
            AuditAction::ImportFinish,
            Some(id.to_string()),
            changes,
            origin,
        )?;
        Ok(ended)
    })
}

fn passes(
    db: &Database,
    fingerprints: &Fingerprints,
    request: &Request,
    rows_total: i64,
    progress: &mut dyn FnMut(Progress),
) -> Result<Ended, AppError> {
    let facilities = db.read_blocking(registered_facilities)?;
    let mut layout = Layout::new(request.mapping.clone());
    let mut report = Report::default();
    let job = &request.job;
    let check_first = job.dry_run || job.mode == ImportMode::AllOrNothing;
    if check_first {
        let mut pass = Pass::new(request, &facilities, fingerprints, false);
        // A dry run reports duplicates as the import would; the check of
        // an all-or-nothing import leaves them to the pass that commits.
        pass.find_duplicates = job.dry_run;
        let ended = pass.run(db, &mut layout, &mut report, rows_total, progress)?;
        if !matches!(ended, Ended::Succeeded) || job.dry_run {
            return Ok(ended);
        }
        if pass.counts.invalid > 0 {
            return Ok(Ended::Failed(format!(
                "{} of {} rows are invalid (see the report); nothing was imported. \
                 Fix them, or import with mode=skip_invalid",
                pass.counts.invalid, pass.counts.rows_done
            )));
        }
        db.write_blocking(|tx| job::reset_counts(tx, job.id))?;
    }
    let mut pass = Pass::new(request, &facilities, fingerprints, true);
    pass.find_duplicates = true;
    let ended = pass.run(db, &mut layout, &mut report, rows_total, progress)?;
    if matches!(ended, Ended::Succeeded)
        && job.mode == ImportMode::AllOrNothing
        && pass.counts.invalid > 0
    {
        return Ok(Ended::Failed(format!(
            "{} rows became invalid while the import ran (files were edited meanwhile); \
             the batches before them are committed. Run the file again to finish",
            pass.counts.invalid
        )));
    }
    Ok(ended)
}

fn registered_facilities(conn: &mut DbConnection) -> Result<Facilities, AppError> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = facilities::list(conn, &FacilityFilter::default(), after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        all.extend(
            page.into_iter()
                .map(|f| (f.id, f.fields.name, f.fields.name_ar)),
        );
    }
    Ok(Facilities::new(all))
}

/// The report's next line number, across passes.
#[derive(Default)]
struct Report {
    next_line: i64,
}

/// One reading of the file: checking (nothing written but the job's
/// counts and report) or committing.
struct Pass<'a> {
    request: &'a Request,
    facilities: &'a Facilities,
    fingerprints: &'a Fingerprints,
    commit: bool,
    find_duplicates: bool,
    /// External references seen earlier in the file, and the row.
    seen_refs: HashMap<String, u64>,
    finder: Option<DuplicateFinder>,
    counts: Counts,
}

/// A row's fate in a batch.
enum Fate {
    Invalid(Vec<RowProblem>),
    Unchanged,
    Update,
    Create,
}

impl<'a> Pass<'a> {
    fn new(
        request: &'a Request,
        facilities: &'a Facilities,
        fingerprints: &'a Fingerprints,
        commit: bool,
    ) -> Self {
        Pass {
            request,
            facilities,
            fingerprints,
            commit,
            find_duplicates: false,
            seen_refs: HashMap::new(),
            finder: None,
            counts: Counts::default(),
        }
    }

    fn run(
        &mut self,
        db: &Database,
        layout: &mut Layout,
        report: &mut Report,
        rows_total: i64,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Ended, AppError> {
        let job = &self.request.job;
        let mut table =
            Table::open(&self.request.path, job.format).map_err(|e| AppError::internal_msg(e.0))?;
        loop {
            let mut batch: Vec<Result<Record, (u64, String)>> = Vec::with_capacity(BATCH);
            while batch.len() < BATCH {
                match table.next_record() {
                    None => break,
                    Some(Ok(record)) => batch.push(Ok(record)),
                    Some(Err(broken)) => batch.push(Err((broken.row, broken.message))),
                }
            }
            if batch.is_empty() {
                return Ok(Ended::Succeeded);
            }
            let mut lines: Vec<ReportLine> = layout
                .resolve(table.headers())
                .into_iter()
                .map(|header| ReportLine {
                    row: 1,
                    column: header.clone(),
                    code: "unknown_column".into(),
                    message: format!(
                        "no rule or mapping knows the header `{header}`: the column is left out"
                    ),
                })
                .collect();
            if self.find_duplicates && self.finder.is_none() {
                let organization = job.organization_id;
                self.finder =
                    Some(db.read_blocking(|conn| DuplicateFinder::load(conn, organization))?);
            }
            let rows: Vec<(u64, Result<ReadRow, Vec<RowProblem>>)> = batch
                .into_iter()
                .map(|record| match record {
                    Ok(record) => (
                        record.row,
                        read_record(layout, table.headers(), &record.cells, self.facilities),
                    ),
                    Err((row, message)) => (
                        row,
                        Err(vec![RowProblem::new("", "unreadable_row", message)]),
                    ),
                })
                .collect();
            let headers = table.headers().to_vec();
            let outcome = if self.commit {
                db.write_blocking(|tx| {
                    if job::cancel_requested(tx, job.id)? {
                        return Ok(None);
                    }
                    let (counts, mut more) = self.batch(tx, layout, &headers, &rows)?;
                    lines.append(&mut more);
                    job::count(tx, job.id, &counts)?;
                    job::report(tx, job.id, report.next_line + 1, &lines)?;
                    Ok(Some(counts))
                })?
            } else {
                let cancelled = db.read_blocking(|conn| job::cancel_requested(conn, job.id))?;
                if cancelled {
                    None
                } else {
                    let (counts, mut more) =
                        db.read_blocking(|conn| self.check_batch(conn, layout, &headers, &rows))?;
                    lines.append(&mut more);
                    db.write_blocking(|tx| {
                        job::count(tx, job.id, &counts)?;
                        job::report(tx, job.id, report.next_line + 1, &lines)
                    })?;
                    Some(counts)
                }
            };
            let Some(counts) = outcome else {
                return Ok(Ended::Cancelled);
            };
            report.next_line += lines.len() as i64;
            self.counts.add(&counts);
            progress(Progress {
                checking: !self.commit,
                rows_total,
                counts: self.counts,
            });
        }
    }

    /// External references within the file: a second row with one is
    /// invalid (which of the two is the person?).
    fn file_refs<'r>(
        &mut self,
        column: &str,
        rows: &'r [(u64, Result<ReadRow, Vec<RowProblem>>)],
    ) -> (Vec<&'r str>, HashMap<u64, RowProblem>) {
        let mut refs = Vec::new();
        let mut repeated = HashMap::new();
        for (row, read) in rows {
            let Some(external_ref) = read.as_ref().ok().and_then(ReadRow::external_ref) else {
                continue;
            };
            match self.seen_refs.get(external_ref) {
                Some(first) => {
                    repeated.insert(
                        *row,
                        RowProblem::new(
                            column,
                            "repeated_external_ref",
                            format!("row {first} has the external reference `{external_ref}` too"),
                        ),
                    );
                }
                None => {
                    self.seen_refs.insert(external_ref.to_owned(), *row);
                    refs.push(external_ref);
                }
            }
        }
        (refs, repeated)
    }

    /// Check a batch, writing nothing: what each row would do.
    fn check_batch(
        &mut self,
        conn: &mut DbConnection,
        layout: &Layout,
        headers: &[String],
        rows: &[(u64, Result<ReadRow, Vec<RowProblem>>)],
    ) -> Result<(Counts, Vec<ReportLine>), AppError> {
        let ref_column = layout
            .header_of("external_ref", headers)
            .unwrap_or_else(|| "external_ref".into());
        let (refs, mut repeated) = self.file_refs(&ref_column, rows);
        let existing =
            files::by_external_refs(conn, self.request.job.organization_id, &refs, false)?;
        let existing: HashMap<&str, _> = existing
            .iter()
            .filter_map(|f| Some((f.fields.external_ref.as_deref()?, f)))
            .collect();
        let mut counts = Counts::default();
        let mut lines = Vec::new();
        for (row, read) in rows {
            let fate = match (read, repeated.remove(row)) {
                (Err(problems), _) => Fate::Invalid(problems.clone()),
                (Ok(_), Some(problem)) => Fate::Invalid(vec![problem]),
                (Ok(read), None) => match read.external_ref().and_then(|r| existing.get(r)) {
                    Some(current) => {
                        let planned = read
                            .patch
                            .clone()
                            .apply(&current.fields, &current.source_notes)
                            .and_then(|(fields, source_notes)| {
                                files::planned_revision(
                                    conn,
                                    current,
                                    &fields,
                                    &source_notes,
                                    self.fingerprints,
                                )
                            });
                        match planned {
                            Ok(None) => Fate::Unchanged,
                            Ok(Some(_)) => Fate::Update,
                            Err(e) => Fate::Invalid(vec![refusal(layout, headers, &e, current)]),
                        }
                    }
                    None => match self.new_file(read, layout, headers) {
                        Ok((fields, _)) => {
                            self.note_duplicate(*row, &fields, &mut counts, &mut lines);
                            Fate::Create
                        }
                        Err(problem) => Fate::Invalid(vec![problem]),
                    },
                },
            };
            tally(*row, fate, &mut counts, &mut lines);
        }
        Ok((counts, lines))
    }

    /// Commit a batch, in the caller's transaction.
    fn batch(
        &mut self,
        tx: &mut WriteTx<'_>,
        layout: &Layout,
        headers: &[String],
        rows: &[(u64, Result<ReadRow, Vec<RowProblem>>)],
    ) -> Result<(Counts, Vec<ReportLine>), AppError> {
        let request = self.request;
        let job = &request.job;
        let ref_column = layout
            .header_of("external_ref", headers)
            .unwrap_or_else(|| "external_ref".into());
        let (refs, mut repeated) = self.file_refs(&ref_column, rows);
        let existing = files::by_external_refs(tx, job.organization_id, &refs, true)?;
        let existing: HashMap<String, _> = existing
            .into_iter()
            .filter_map(|f| Some((f.fields.external_ref.clone()?, f)))
            .collect();
        let mut counts = Counts::default();
        let mut lines = Vec::new();
        let mut entries = Vec::new();
        let mut new_files = Vec::new();
        for (row, read) in rows {
            let fate = match (read, repeated.remove(row)) {
                (Err(problems), _) => Fate::Invalid(problems.clone()),
                (Ok(_), Some(problem)) => Fate::Invalid(vec![problem]),
                (Ok(read), None) => match read.external_ref().and_then(|r| existing.get(r)) {
                    Some(current) => {
                        let revised = read
                            .patch
                            .clone()
                            .apply(&current.fields, &current.source_notes)
                            .and_then(|(fields, source_notes)| {
                                files::revise(
                                    tx,
                                    current,
                                    fields,
                                    source_notes,
                                    job.created_by,
                                    self.fingerprints,
                                )
                            });
                        match revised {
                            Ok(None) => Fate::Unchanged,
                            Ok(Some((_, entry))) => {
                                entries.push(entry);
                                Fate::Update
                            }
                            Err(e) if is_refusal(&e) => {
                                Fate::Invalid(vec![refusal(layout, headers, &e, current)])
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    None => match self.new_file(read, layout, headers) {
                        Ok(file) => {
                            self.note_duplicate(*row, &file.0, &mut counts, &mut lines);
                            new_files.push(file);
                            Fate::Create
                        }
                        Err(problem) => Fate::Invalid(vec![problem]),
                    },
                },
            };
            tally(*row, fate, &mut counts, &mut lines);
        }
        let author = Author {
            organization_id: job.organization_id,
            user_id: job.created_by,
        };
        let (_, mut created) = files::open_all(tx, author, new_files, self.fingerprints)?;
        created.append(&mut entries);
        audit::store::append_all(tx, &request.actor, created, &request.origin)?;
        Ok((counts, lines))
    }

    /// A row's new file, valid and through the release gate, or the problem.
    fn new_file(
        &self,
        read: &ReadRow,
        layout: &Layout,
        headers: &[String],
    ) -> Result<(crate::detainees::model::DetaineeFields, Option<String>), RowProblem> {
        let (fields, source_notes) = read
            .new_file()
            .map_err(|e| RowProblem::refused(layout, headers, &e))?;
        fields
            .release_gate(None, ReviewStatus::NotReviewed)
            .map_err(|e| RowProblem::refused(layout, headers, &e))?;
        Ok((fields, source_notes))
    }

    /// Report a new file that may be someone already known, and know it.
    fn note_duplicate(
        &mut self,
        row: u64,
        fields: &crate::detainees::model::DetaineeFields,
        counts: &mut Counts,
        lines: &mut Vec<ReportLine>,
    ) {
        let Some(finder) = self.finder.as_mut() else {
            return;
        };
        if let Some(found) = finder.check(fields) {
            counts.possible_duplicates += 1;
            lines.push(ReportLine {
                row: row as i64,
                column: String::new(),
                code: "possible_duplicate".into(),
                message: format!(
                    "may be the same person as {} (score {:.3}: {})",
                    found.label,
                    found.score,
                    found.reasons.join("; ")
                ),
            });
        }
        finder.add(format!("row {row}"), fields);
    }
}

/// A refusal that makes a row invalid (the file's rules), not an error
/// that stops the job (the database).
fn is_refusal(error: &AppError) -> bool {
    matches!(error, AppError::Invalid { .. } | AppError::Conflict { .. })
}

/// The problem of a row whose file refused the change.
fn refusal(
    layout: &Layout,
    headers: &[String],
    error: &AppError,
    current: &crate::detainees::Detainee,
) -> RowProblem {
    let mut problem = RowProblem::refused(layout, headers, error);
    problem.message = format!("{} ({})", problem.message, current.reference);
    if current.archived_at.is_some() {
        problem.code = "archived_file";
    }
    problem
}

fn tally(row: u64, fate: Fate, counts: &mut Counts, lines: &mut Vec<ReportLine>) {
    counts.rows_done += 1;
    match fate {
        Fate::Invalid(problems) => {
            counts.invalid += 1;
            lines.extend(problems.into_iter().map(|p| ReportLine {
                row: row as i64,
                column: p.column,
                code: p.code.into(),
                message: p.message,
            }));
        }
        Fate::Unchanged => counts.unchanged += 1,
        Fate::Update => counts.updated += 1,
        Fate::Create => counts.created += 1,
    }
}
