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

use super::duplicates::{DuplicateSearch, PossibleDuplicate};
use super::job::{self, Counts, ImportJob, ImportMode, ImportStatus, NewJob, ReportLine, Start};
use super::mapping::Mapping;
use super::pacing::Pacing;
use super::rows::{read_record, Facilities, Layout, ReadRow, RowProblem};
use super::source::{count_records, Broken, Record, Table};
use crate::audit::{self, Actor, AuditAction, Changes, Fingerprints, Origin};
use crate::auth::permissions::{allows, Action};
use crate::db::{Database, DbConnection, Engine};
use crate::detainees::model::ReviewStatus;
use crate::detainees::store::{self as files, Author, NewFiles};
use crate::error::AppError;
use crate::facilities::store::{self as facilities, FacilityFilter};

/// Rows a transaction. On SQLite, with one writer at a time, every other
/// write waits for the batch in progress, so its batches are smaller; on
/// PostgreSQL other writers wait only for a batch's end (`NewFiles`).
pub fn batch_rows(engine: Engine) -> usize {
    match engine {
        Engine::Sqlite => 250,
        Engine::Postgresql => 1_000,
    }
}

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
    /// Another job of the organisation that runs first.
    pub waiting_for: Option<Uuid>,
    pub rows_total: i64,
    pub counts: Counts,
    /// The job paused before its last batch, others being served: it is
    /// giving way to them.
    pub yielding: bool,
}

/// Run the job to its end and return it as it ended, pausing between
/// batches as `pacing` says. Whatever happens, the job ends finished
/// (succeeded, failed or cancelled) with its `import.finish` entry, unless
/// the database itself cannot be reached.
pub fn run(
    db: &Database,
    fingerprints: &Fingerprints,
    request: &Request,
    mut pacing: Pacing,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportJob, AppError> {
    let id = request.job.id;
    let counted = count_records(&request.path, request.job.format);
    let rows_total = counted
        .as_ref()
        .ok()
        .map(|n| i64::try_from(*n).unwrap_or(i64::MAX));
    match begin(db, request, rows_total, progress)? {
        Some(Ended::Cancelled) => {
            return finish(
                db,
                id,
                &request.actor,
                &request.origin,
                ImportStatus::Cancelled,
                None,
            )
        }
        Some(_) => {
            // Ended by someone else meanwhile: as it is.
            return db
                .read_blocking(|conn| job::find(conn, id, None))?
                .ok_or(AppError::NotFound);
        }
        None => {}
    }
    let outcome = match (counted, rows_total) {
        (Ok(_), Some(rows_total)) => {
            passes(db, fingerprints, request, rows_total, &mut pacing, progress)
        }
        (Err(unreadable), _) => Ok(Ended::Failed(unreadable.to_string())),
        (Ok(_), None) => Ok(Ended::Failed("the file could not be counted".into())),
    };
    let (status, error) = match outcome {
        Ok(Ended::Succeeded) => (ImportStatus::Succeeded, None),
        Ok(Ended::Cancelled) => (ImportStatus::Cancelled, None),
        Ok(Ended::Failed(reason)) => (ImportStatus::Failed, Some(reason)),
        Err(e) => {
            tracing::error!(job = %id, error = ?e, "import stopped");
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

/// The job starts running (its `import.start` entry was written when it
/// was queued) once no other job of its organisation runs, in this process
/// or another; `Some` when it ends before that (cancelled, or ended by
/// someone else).
fn begin(
    db: &Database,
    request: &Request,
    rows_total: Option<i64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<Ended>, AppError> {
    let job = &request.job;
    loop {
        match db.write_blocking(|tx| {
            job::start(tx, job.id, job.organization_id, rows_total, &job.runner)
        })? {
            Start::Running => return Ok(None),
            Start::NotQueued => return Ok(Some(Ended::Failed(String::new()))),
            Start::Waiting(other) => {
                if db.read_blocking(|conn| job::cancel_requested(conn, job.id))? {
                    return Ok(Some(Ended::Cancelled));
                }
                progress(Progress {
                    checking: false,
                    waiting_for: Some(other),
                    rows_total: rows_total.unwrap_or(0),
                    counts: Counts::default(),
                    yielding: false,
                });
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}

/// A job whose runner is gone (a stopped server, a killed `sijill
/// import`) ends, failed.
pub fn end_interrupted(db: &Database, id: Uuid) -> Result<ImportJob, AppError> {
    end_failed(
        db,
        id,
        "the import stopped with the process that ran it; what was committed stays, and running the file again finishes it",
    )
}

/// A job that cannot run ends, failed, for `reason` (by the system).
pub fn end_failed(db: &Database, id: Uuid, reason: &str) -> Result<ImportJob, AppError> {
    finish(
        db,
        id,
        &Actor::system(),
        &Origin::system("startup"),
        ImportStatus::Failed,
        Some(reason),
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
        let ended_now = job::finish(tx, id, status, error)?;
        let ended = job::find(tx, id, None)?.ok_or(AppError::NotFound)?;
        if !ended_now {
            // Someone else ended it (a server that took this process for
            // dead): one `import.finish` a job.
            return Ok(ended);
        }
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
    pacing: &mut Pacing,
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
        if job.dry_run {
            pass.duplicates = Some(DuplicateSearch::start(db, job.organization_id)?);
        }
        let ended = pass.run(db, &mut layout, &mut report, rows_total, pacing, progress)?;
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
    pass.duplicates = Some(DuplicateSearch::start(db, job.organization_id)?);
    // All or nothing: a row the check passed and the commit refuses (a
    // file edited meanwhile) stops the job with its batch rolled back.
    pass.stop_on_invalid = job.mode == ImportMode::AllOrNothing;
    let ended = pass.run(db, &mut layout, &mut report, rows_total, pacing, progress);
    // Whatever ended the pass, the batches it committed stay: a bulk load,
    // after which the next import's duplicate search and the caseworkers'
    // lists are planned on the files as they are now. Before the job ends,
    // so that its end means the database is ready for the next.
    db.refresh_statistics(
        files::BULK_LOADED_TABLES,
        pass.counts.created + pass.counts.updated,
    );
    ended
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
    stop_on_invalid: bool,
    /// Why a batch was rolled back on purpose (`stop_on_invalid`).
    stopped: Option<String>,
    /// External references seen earlier in the file, and the row.
    seen_refs: HashMap<String, u64>,
    /// Possible duplicates are looked for (all but the check of an
    /// all-or-nothing import).
    duplicates: Option<DuplicateSearch>,
    counts: Counts,
}

/// A row's fate in a batch.
enum Fate {
    Invalid(Vec<RowProblem>),
    Unchanged,
    Update,
    Create,
}

/// A batch of read rows.
type Rows = [(u64, Result<ReadRow, Vec<RowProblem>>)];

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
            stop_on_invalid: false,
            stopped: None,
            seen_refs: HashMap::new(),
            duplicates: None,
            counts: Counts::default(),
        }
    }

    fn run(
        &mut self,
        db: &Database,
        layout: &mut Layout,
        report: &mut Report,
        rows_total: i64,
        pacing: &mut Pacing,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Ended, AppError> {
        let job = &self.request.job;
        let mut table =
            Table::open(&self.request.path, job.format).map_err(|e| AppError::internal_msg(e.0))?;
        let batch_rows = batch_rows(db.engine());
        loop {
            let started = std::time::Instant::now();
            let mut batch: Vec<Result<Record, Broken>> = Vec::with_capacity(batch_rows);
            while batch.len() < batch_rows {
                match table.next_record() {
                    None => break,
                    Some(record) => batch.push(record),
                }
            }
            if batch.is_empty() {
                return Ok(Ended::Succeeded);
            }
            // Outside any transaction: a pause holds nothing others wait for.
            let yielded = pacing.pause_if_busy(db);
            let mut lines: Vec<ReportLine> = layout
                .resolve(table.headers())
                .into_iter()
                .map(|(index, header)| ReportLine {
                    row: 1,
                    column: header.clone(),
                    code: "unknown_column".into(),
                    message: if header.trim().is_empty() {
                        format!(
                            "column {} has no header: its values are left out",
                            index + 1
                        )
                    } else {
                        format!(
                            "no rule or mapping knows the header `{header}`: the column is left out"
                        )
                    },
                })
                .collect();
            if let Some((first, second)) = layout.repeated(table.headers()) {
                let headers = table.headers();
                return Ok(Ended::Failed(format!(
                    "the headers `{}` (column {}) and `{}` (column {}) read the same and name \
                     one field: which of the two holds it? Rename or remove one{}",
                    headers[first],
                    first + 1,
                    headers[second],
                    second + 1,
                    if !self.commit || self.counts.rows_done == 0 {
                        "; nothing was imported"
                    } else {
                        "; the rows read before it were imported"
                    }
                )));
            }
            // A record the reader could not get past ends the reading: the
            // job fails rather than pass for whole.
            let unreadable_rest = batch
                .iter()
                .find_map(|r| r.as_ref().err().filter(|b| b.rest_unread).map(|b| b.row));
            let rows: Vec<(u64, Result<ReadRow, Vec<RowProblem>>)> = batch
                .into_iter()
                .map(|record| match record {
                    Ok(record) => (
                        record.row,
                        read_record(layout, table.headers(), &record.cells, self.facilities),
                    ),
                    Err(broken) => (
                        broken.row,
                        Err(vec![RowProblem::new("", "unreadable_row", broken.message)]),
                    ),
                })
                .collect();
            let headers = table.headers().to_vec();
            let first_line = report.next_line + 1;
            let outcome = if self.commit {
                db.write_blocking(|tx| {
                    if job::cancel_requested(tx, job.id)? {
                        return Ok(None);
                    }
                    self.still_allowed(tx)?;
                    let Classified {
                        counts,
                        lines: mut more,
                        new_files,
                        updates,
                    } = self.classify(tx, layout, &headers, &rows)?;
                    if self.stop_on_invalid && counts.invalid > 0 {
                        self.stopped = Some(format!(
                            "{} rows of the batch from row {} became invalid while the import ran \
                             (files were edited meanwhile); that batch was rolled back, the ones \
                             before it are committed. Run the file again to finish",
                            counts.invalid,
                            rows.first().map_or(0, |r| r.0)
                        ));
                        return Err(AppError::conflict("rolled back"));
                    }
                    lines.append(&mut more);
                    job::count(tx, job.id, &counts, yielded)?;
                    job::report(tx, job.id, first_line, &lines)?;
                    // The locks other writers wait on until the batch
                    // commits, taken last: the reference counter (every
                    // transaction that opens a file; taken here by opening
                    // the new files), then the chain (every change), under
                    // which every file's entry is appended at once.
                    let (_, mut entries) = new_files.open(tx)?;
                    entries.extend(updates);
                    let (actor, origin) = (&self.request.actor, &self.request.origin);
                    audit::store::append_all(tx, actor, entries, origin)?;
                    Ok(Some(counts))
                })
            } else {
                self.check(db, layout, &headers, &rows).and_then(|checked| {
                    let Some((counts, mut more)) = checked else {
                        return Ok(None);
                    };
                    lines.append(&mut more);
                    db.write_blocking(|tx| {
                        job::count(tx, job.id, &counts, yielded)?;
                        job::report(tx, job.id, first_line, &lines)
                    })?;
                    Ok(Some(counts))
                })
            };
            let outcome = match outcome {
                Err(_) if self.stopped.is_some() => {
                    return Ok(Ended::Failed(self.stopped.take().unwrap_or_default()))
                }
                other => other?,
            };
            let Some(counts) = outcome else {
                return Ok(Ended::Cancelled);
            };
            pacing.worked(started.elapsed().saturating_sub(yielded));
            report.next_line += lines.len() as i64;
            self.counts.add(&counts);
            progress(Progress {
                checking: !self.commit,
                waiting_for: None,
                rows_total,
                counts: self.counts,
                yielding: !yielded.is_zero(),
            });
            if let Some(row) = unreadable_rest {
                return Ok(Ended::Failed(format!(
                    "row {row} could not be read, nor anything after it (see the report); \
                     the rows before it were {}",
                    if self.commit {
                        "imported"
                    } else {
                        "checked, and nothing was imported"
                    }
                )));
            }
        }
    }

    /// The check of a batch, writing nothing (a read transaction); `None`
    /// when the job was cancelled.
    fn check(
        &mut self,
        db: &Database,
        layout: &Layout,
        headers: &[String],
        rows: &Rows,
    ) -> Result<Option<(Counts, Vec<ReportLine>)>, AppError> {
        let id = self.request.job.id;
        db.read_blocking(|conn| {
            if job::cancel_requested(conn, id)? {
                return Ok(None);
            }
            let Classified { counts, lines, .. } = self.classify(conn, layout, headers, rows)?;
            Ok(Some((counts, lines)))
        })
    }

    /// The account that started the job must still be an active caseworker
    /// of the organisation for each batch it commits: deactivating an
    /// account, or moving it, stops its imports.
    fn still_allowed(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        let job = &self.request.job;
        let user = crate::users::store::find(conn, job.created_by)?;
        let allowed = user.is_some_and(|u| {
            u.active
                && u.organization_id == job.organization_id
                && allows(u.role, Action::ImportDetainees)
        });
        if allowed {
            Ok(())
        } else {
            Err(AppError::ForbiddenBecause(
                "the account that started the import may no longer import into this organisation",
            ))
        }
    }

    /// External references within the file: a second row with one is
    /// invalid (which of the two is the person?).
    fn file_refs<'r>(
        &mut self,
        column: &str,
        rows: &'r Rows,
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

    /// What each row of a batch does: checked only (`self.commit` false:
    /// nothing written), or written in the caller's write transaction —
    /// the files it creates and updates — with their entries returned, for
    /// the caller to append under one chain lock. The one path of both
    /// passes.
    fn classify(
        &mut self,
        conn: &mut DbConnection,
        layout: &Layout,
        headers: &[String],
        rows: &Rows,
    ) -> Result<Classified, AppError> {
        let job = &self.request.job;
        let ref_column = layout
            .header_of("external_ref", headers)
            .unwrap_or_else(|| "external_ref".into());
        let (refs, mut repeated) = self.file_refs(&ref_column, rows);
        let existing = files::by_external_refs(conn, job.organization_id, &refs, self.commit)?;
        let existing: HashMap<String, _> = existing
            .into_iter()
            .filter_map(|f| Some((f.fields.external_ref.clone()?, f)))
            .collect();
        let mut counts = Counts::default();
        let mut lines = Vec::new();
        let mut entries = Vec::new();
        let mut new_files = Vec::new();
        let mut new_rows = Vec::new();
        for (row, read) in rows {
            let fate = match (read, repeated.remove(row)) {
                (Err(problems), _) => Fate::Invalid(problems.clone()),
                (Ok(_), Some(problem)) => Fate::Invalid(vec![problem]),
                (Ok(read), None) => match read.external_ref().and_then(|r| existing.get(r)) {
                    Some(current) => match self.update(conn, read, current) {
                        Ok(None) => Fate::Unchanged,
                        Ok(Some(entry)) => {
                            entries.extend(entry);
                            Fate::Update
                        }
                        Err(e) if is_refusal(&e) => {
                            Fate::Invalid(vec![refusal(layout, headers, &e, current)])
                        }
                        Err(e) => return Err(e),
                    },
                    None => match self.new_file(read, layout, headers) {
                        Ok(file) => {
                            if self.duplicates.is_some() {
                                new_rows.push((*row, file.0.clone()));
                            }
                            new_files.push(file);
                            Fate::Create
                        }
                        Err(problem) => Fate::Invalid(vec![problem]),
                    },
                },
            };
            tally(*row, fate, &mut counts, &mut lines);
        }
        // Possible duplicates are looked for on the other core while this
        // one works out the new files and writes their name keys: the two
        // are the cost of an import. The files themselves are opened by
        // the caller, last (`NewFiles::open` takes the reference counter).
        if let Some(search) = &self.duplicates {
            search.send(new_rows)?;
        }
        let author = Author {
            organization_id: job.organization_id,
            user_id: job.created_by,
        };
        let mut new_files = NewFiles::prepare(
            author,
            if self.commit { new_files } else { Vec::new() },
            self.fingerprints,
        );
        let indexed = new_files.index(conn);
        let duplicates = match &self.duplicates {
            Some(search) => search.receive()?,
            None => Vec::new(),
        };
        // The search's answer is awaited even if the keys failed, so that
        // it is ready for the next batch's question.
        indexed?;
        counts.possible_duplicates += duplicates.len() as i64;
        lines.extend(
            duplicates
                .into_iter()
                .map(|(row, found)| duplicate_line(row, found)),
        );
        // The report in the order of the rows.
        lines.sort_by_key(|line| line.row);
        Ok(Classified {
            counts,
            lines,
            new_files,
            updates: entries,
        })
    }

    /// A row's change to an existing file: `None` when nothing changes;
    /// `Some` with its entry (`None` inside when only checking).
    fn update(
        &self,
        conn: &mut DbConnection,
        read: &ReadRow,
        current: &crate::detainees::Detainee,
    ) -> Result<Option<Option<audit::store::NewEntry>>, AppError> {
        let (fields, source_notes) = read
            .patch
            .clone()
            .apply(&current.fields, &current.source_notes)?;
        if self.commit {
            let revised = files::revise(
                conn,
                current,
                fields,
                source_notes,
                self.request.job.created_by,
                self.fingerprints,
            )?;
            Ok(revised.map(|(_, entry)| Some(entry)))
        } else {
            let planned =
                files::planned_revision(conn, current, &fields, &source_notes, self.fingerprints)?;
            Ok(planned.map(|_| None))
        }
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
}

/// What `classify` made of a batch: its counts and report lines, the new
/// files ready to open (none when only checking) and the entries of the
/// files it updated.
struct Classified {
    counts: Counts,
    lines: Vec<ReportLine>,
    new_files: NewFiles,
    updates: Vec<audit::store::NewEntry>,
}

/// The report's line for a new file that may be a person already known.
fn duplicate_line(row: u64, found: PossibleDuplicate) -> ReportLine {
    ReportLine {
        row: row as i64,
        column: String::new(),
        code: "possible_duplicate".into(),
        message: format!(
            "may be the same person as {} (score {:.3}: {})",
            found.label,
            found.score,
            found.reasons.join("; ")
        ),
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
