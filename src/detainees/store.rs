use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{Category, Detainee, DetaineeFields, DetaineeStatus, ReviewStatus};
use super::scope::FileScope;
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, Changes, Fingerprints};
use crate::db::schema::{counters, detainees, reviews};
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::{stored_date, stored_optional_uuid, stored_uuid, PartialDate};
use crate::error::AppError;
use crate::search::index as name_index;
use crate::search::NameFields;

#[derive(Queryable, Selectable)]
#[diesel(table_name = detainees)]
pub(crate) struct DetaineeRow {
    id: String,
    reference: String,
    organization_id: String,
    full_name: String,
    name_ar: Option<String>,
    aliases: String,
    sex: String,
    birth_date: Option<String>,
    place_of_origin: Option<String>,
    status: String,
    category: String,
    major_crimes_accusation: bool,
    accusation_summary: Option<String>,
    facility_id: Option<String>,
    detained_on: Option<String>,
    last_seen_on: Option<String>,
    released_on: Option<String>,
    notes: Option<String>,
    source_notes: Option<String>,
    review_status: String,
    version: i64,
    created_at: NaiveDateTime,
    created_by: String,
    updated_at: NaiveDateTime,
    updated_by: String,
    archived_at: Option<NaiveDateTime>,
    merged_into: Option<String>,
    external_ref: Option<String>,
}

impl TryFrom<DetaineeRow> for Detainee {
    type Error = AppError;
    fn try_from(row: DetaineeRow) -> Result<Self, AppError> {
        let source_notes = crate::data_key::open_notes(&row.id, row.source_notes)?;
        Ok(Detainee {
            id: stored_uuid(&row.id)?,
            reference: row.reference,
            organization_id: stored_uuid(&row.organization_id)?,
            fields: DetaineeFields {
                full_name: row.full_name,
                name_ar: row.name_ar,
                aliases: serde_json::from_str(&row.aliases).map_err(AppError::internal)?,
                sex: row.sex.parse()?,
                birth_date: stored_date(row.birth_date)?,
                place_of_origin: row.place_of_origin,
                status: row.status.parse()?,
                category: row.category.parse()?,
                major_crimes_accusation: row.major_crimes_accusation,
                accusation_summary: row.accusation_summary,
                facility_id: stored_optional_uuid(row.facility_id)?,
                detained_on: stored_date(row.detained_on)?,
                last_seen_on: stored_date(row.last_seen_on)?,
                released_on: stored_date(row.released_on)?,
                notes: row.notes,
                external_ref: row.external_ref,
            },
            source_notes,
            review_status: row.review_status.parse()?,
            version: row.version,
            created_at: db::to_utc(row.created_at),
            created_by: stored_uuid(&row.created_by)?,
            updated_at: db::to_utc(row.updated_at),
            updated_by: stored_uuid(&row.updated_by)?,
            archived_at: row.archived_at.map(db::to_utc),
            merged_into: stored_optional_uuid(row.merged_into)?,
        })
    }
}

/// The next `count` human-readable references, `SJL-000001` onwards. The
/// counter row stays locked until the transaction ends, so references never
/// repeat.
fn next_references(conn: &mut DbConnection, count: usize) -> Result<Vec<String>, AppError> {
    let count = i64::try_from(count).map_err(AppError::internal)?;
    diesel::update(counters::table.find("detainee_reference"))
        .set(counters::value.eq(counters::value + count))
        .execute(conn)?;
    let last: i64 = counters::table
        .find("detainee_reference")
        .select(counters::value)
        .first(conn)?;
    Ok((last - count + 1..=last)
        .map(|value| format!("SJL-{value:06}"))
        .collect())
}

fn text(date: Option<PartialDate>) -> Option<String> {
    date.map(|d| d.to_string())
}

/// Who opens a file: the owning organisation is the author's.
#[derive(Debug, Clone, Copy)]
pub struct Author {
    pub organization_id: Uuid,
    pub user_id: Uuid,
}

/// Open a file (with the next reference) and its `detainee.create` entry,
/// in the caller's transaction.
pub fn create(
    conn: &mut WriteTx<'_>,
    actor: &Actor,
    author: Author,
    fields: DetaineeFields,
    source_notes: Option<String>,
    fingerprints: &Fingerprints,
    origin: &Origin,
) -> Result<Detainee, AppError> {
    create_all(
        conn,
        actor,
        author,
        vec![(fields, source_notes)],
        fingerprints,
        origin,
    )?
    .pop()
    .ok_or_else(|| AppError::internal_msg("no file created"))
}

/// Open files in order, each with its reference, its name keys and its
/// `detainee.create` entry, as bulk loads (`load_rows!`: a `COPY` a table
/// on PostgreSQL), in the caller's transaction.
pub fn create_all(
    conn: &mut WriteTx<'_>,
    actor: &Actor,
    author: Author,
    files: Vec<(DetaineeFields, Option<String>)>,
    fingerprints: &Fingerprints,
    origin: &Origin,
) -> Result<Vec<Detainee>, AppError> {
    let (created, entries) = open_all(conn, author, files, fingerprints)?;
    audit::store::append_all(conn, actor, entries, origin)?;
    Ok(created)
}

/// Open files as `create_all` does, returning their `detainee.create`
/// entries for the caller to append with others under one chain lock.
pub fn open_all(
    conn: &mut DbConnection,
    author: Author,
    files: Vec<(DetaineeFields, Option<String>)>,
    fingerprints: &Fingerprints,
) -> Result<(Vec<Detainee>, Vec<audit::store::NewEntry>), AppError> {
    NewFiles::prepare(author, files, fingerprints).open(conn)
}

/// The tables a bulk load of files grows (the files and their name keys),
/// whose planner statistics are refreshed after one
/// (`Database::refresh_statistics`).
pub const BULK_LOADED_TABLES: &[&str] = &["detainees", "name_keys"];

/// Files made ready to open: their ids, name keys and entries worked out
/// without the database, so that `open` — which takes the reference
/// counter, a row every creating transaction waits on until its commit —
/// comes as late in a transaction as the caller can put it.
pub struct NewFiles {
    files: Vec<Detainee>,
    keys: Vec<name_index::FileKeys>,
    changes: Vec<Changes>,
    /// The keys are written (`index`).
    indexed: bool,
}

impl NewFiles {
    pub fn prepare(
        author: Author,
        files: Vec<(DetaineeFields, Option<String>)>,
        fingerprints: &Fingerprints,
    ) -> Self {
        let now = db::to_utc(db::now());
        let files: Vec<Detainee> = files
            .into_iter()
            .map(|(fields, source_notes)| Detainee {
                id: Uuid::now_v7(),
                reference: String::new(),
                organization_id: author.organization_id,
                fields,
                source_notes,
                review_status: ReviewStatus::NotReviewed,
                version: 1,
                created_at: now,
                created_by: author.user_id,
                updated_at: now,
                updated_by: author.user_id,
                archived_at: None,
                merged_into: None,
            })
            .collect();
        let keys = files
            .iter()
            .map(|file| name_index::keys_of(&file.indexed()))
            .collect();
        let changes = files
            .iter()
            .map(|file| {
                Changes::created_from(&file.fields, &[])
                    .created("organization_id", file.organization_id.to_string())
                    .created("review_status", file.review_status.as_str())
                    .changed(
                        "source_notes",
                        serde_json::Value::Null,
                        fingerprints.source_notes(&file.source_notes),
                    )
            })
            .collect();
        NewFiles {
            files,
            keys,
            changes,
            indexed: false,
        }
    }

    /// The files' name keys, bound to no lock: written before `open`
    /// (an import writes them while it looks for duplicates on the other
    /// core); `open` writes them if this was not called.
    pub fn index(&mut self, conn: &mut DbConnection) -> Result<(), AppError> {
        if !self.indexed {
            name_index::insert_new(conn, &self.keys)?;
            self.indexed = true;
        }
        Ok(())
    }

    /// Each file with the next reference, as a bulk load (`load_rows!`),
    /// in the caller's transaction; their `detainee.create`
    /// entries returned for the caller to append. The name keys go first
    /// (`index`: the bulk of the rows, bound to no lock), so the counter
    /// is held for the files' rows and what the caller does after.
    pub fn open(
        mut self,
        conn: &mut DbConnection,
    ) -> Result<(Vec<Detainee>, Vec<audit::store::NewEntry>), AppError> {
        if self.files.is_empty() {
            return Ok((self.files, Vec::new()));
        }
        self.index(conn)?;
        let NewFiles {
            mut files,
            keys,
            changes,
            ..
        } = self;
        let references = next_references(conn, files.len())?;
        for (file, reference) in files.iter_mut().zip(references) {
            file.reference = reference;
        }
        let rows = files
            .iter()
            .zip(&keys)
            .map(|(file, keys)| NewDetaineeRow::new(file, keys.search_keys.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        // New ids: a bulk load. 29 parameters a row: 500 rows stay under
        // SQLite's limit.
        crate::load_rows!(conn, detainees::table, rows, 500)?;
        let entries = files
            .iter()
            .zip(changes)
            .map(|(file, changes)| audit::store::NewEntry {
                action: AuditAction::DetaineeCreate,
                entity_id: Some(file.id.to_string()),
                changes: changes.created("reference", file.reference.clone()),
            })
            .collect();
        Ok((files, entries))
    }
}

/// A new file's row, its name keys already noted (`search_keys`).
#[derive(Insertable)]
#[diesel(table_name = detainees, treat_none_as_default_value = false)]
struct NewDetaineeRow<'a> {
    id: String,
    reference: &'a str,
    organization_id: String,
    full_name: &'a str,
    name_ar: Option<&'a str>,
    aliases: String,
    sex: &'static str,
    birth_date: Option<String>,
    place_of_origin: Option<&'a str>,
    status: &'static str,
    category: &'static str,
    major_crimes_accusation: bool,
    accusation_summary: Option<&'a str>,
    facility_id: Option<String>,
    detained_on: Option<String>,
    last_seen_on: Option<String>,
    released_on: Option<String>,
    notes: Option<&'a str>,
    /// Sealed under the data key.
    source_notes: Option<String>,
    review_status: &'static str,
    version: i64,
    created_at: NaiveDateTime,
    created_by: String,
    updated_at: NaiveDateTime,
    updated_by: String,
    archived_at: Option<NaiveDateTime>,
    merged_into: Option<String>,
    search_keys: Option<String>,
    external_ref: Option<&'a str>,
}

impl<'a> NewDetaineeRow<'a> {
    fn new(file: &'a Detainee, search_keys: String) -> Result<Self, AppError> {
        let f = &file.fields;
        let id = file.id.to_string();
        Ok(NewDetaineeRow {
            reference: &file.reference,
            organization_id: file.organization_id.to_string(),
            full_name: &f.full_name,
            name_ar: f.name_ar.as_deref(),
            aliases: serde_json::to_string(&f.aliases).map_err(AppError::internal)?,
            sex: f.sex.as_str(),
            birth_date: text(f.birth_date),
            place_of_origin: f.place_of_origin.as_deref(),
            status: f.status.as_str(),
            category: f.category.as_str(),
            major_crimes_accusation: f.major_crimes_accusation,
            accusation_summary: f.accusation_summary.as_deref(),
            facility_id: f.facility_id.map(|id| id.to_string()),
            detained_on: text(f.detained_on),
            last_seen_on: text(f.last_seen_on),
            released_on: text(f.released_on),
            notes: f.notes.as_deref(),
            source_notes: crate::data_key::seal_notes(&id, file.source_notes.as_deref())?,
            review_status: file.review_status.as_str(),
            version: file.version,
            created_at: file.created_at.naive_utc(),
            created_by: file.created_by.to_string(),
            updated_at: file.updated_at.naive_utc(),
            updated_by: file.updated_by.to_string(),
            archived_at: file.archived_at.map(|t| t.naive_utc()),
            merged_into: file.merged_into.map(|id| id.to_string()),
            search_keys: Some(search_keys),
            external_ref: f.external_ref.as_deref(),
            id,
        })
    }
}

/// Change a locked file's content (`current`, locked with `lock`) to
/// `fields` and `source_notes`, as an edit does: the facility must be
/// registered, a change to what a review decided sends the file back to
/// review, the release gate holds, and the name index follows the names.
/// Returns the file as saved and its `detainee.update` entry for the
/// caller to append (one chain lock for many files), or `None` when
/// nothing changes. The one path of every edit of a file's content (`PATCH
/// /detainees/{id}`, imports).
pub fn revise(
    conn: &mut DbConnection,
    current: &Detainee,
    fields: DetaineeFields,
    source_notes: Option<String>,
    user_id: Uuid,
    fingerprints: &Fingerprints,
) -> Result<Option<(Detainee, audit::store::NewEntry)>, AppError> {
    let Some((review_status, changes)) =
        planned_revision(conn, current, &fields, &source_notes, fingerprints)?
    else {
        return Ok(None);
    };
    let mut next = Detainee {
        fields,
        source_notes,
        review_status,
        updated_at: db::to_utc(db::now()),
        updated_by: user_id,
        ..current.clone()
    };
    save(conn, &mut next)?;
    let names_changed = next.fields.full_name != current.fields.full_name
        || next.fields.name_ar != current.fields.name_ar
        || next.fields.aliases != current.fields.aliases;
    if names_changed {
        name_index::update(conn, &next.indexed())?;
    }
    let entry = audit::store::NewEntry {
        action: AuditAction::DetaineeUpdate,
        entity_id: Some(current.id.to_string()),
        changes: changes.changed("version", current.version, next.version),
    };
    Ok(Some((next, entry)))
}

/// An archived (or merged) file is not edited: restore it first.
pub fn editable(file: &Detainee) -> Result<(), AppError> {
    if file.archived_at.is_some() {
        return Err(AppError::conflict(
            "the file is archived; restore it before editing",
        ));
    }
    Ok(())
}

/// What `revise` would do, writing nothing: the checks of an edit, and the
/// new review status and the changes — `None` when nothing changes.
pub fn planned_revision(
    conn: &mut DbConnection,
    current: &Detainee,
    fields: &DetaineeFields,
    source_notes: &Option<String>,
    fingerprints: &Fingerprints,
) -> Result<Option<(ReviewStatus, Changes)>, AppError> {
    editable(current)?;
    if fields.facility_id != current.fields.facility_id {
        crate::facilities::store::require_registered(conn, fields.facility_id)?;
    }
    let review_status = current.review_status_after(fields);
    fields.release_gate(Some(&current.fields), review_status)?;
    let changes = Changes::diff(&current.fields, fields, &[])
        .changed(
            "source_notes",
            fingerprints.source_notes(&current.source_notes),
            fingerprints.source_notes(source_notes),
        )
        .changed(
            "review_status",
            current.review_status.as_str(),
            review_status.as_str(),
        );
    Ok((!changes.is_empty()).then_some((review_status, changes)))
}

/// The organisation's files with these external references (archived ones
/// too), locked until the end of the transaction when `lock` (PostgreSQL:
/// `FOR UPDATE`, in id order so that transactions lock in one order;
/// SQLite's write transaction already excludes writers).
pub fn by_external_refs(
    conn: &mut DbConnection,
    organization: Uuid,
    refs: &[&str],
    lock: bool,
) -> Result<Vec<Detainee>, AppError> {
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let organization = organization.to_string();
    if lock {
        if let DbConnection::Postgresql(pg) = conn {
            detainees::table
                .filter(detainees::organization_id.eq(&organization))
                .filter(detainees::external_ref.eq_any(refs))
                .select(detainees::id)
                .order(detainees::id)
                .for_update()
                .load::<String>(pg)?;
        }
    }
    detainees::table
        .filter(detainees::organization_id.eq(&organization))
        .filter(detainees::external_ref.eq_any(refs))
        .select(DetaineeRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Detainee::try_from)
        .collect()
}

/// Write every mutable column of `file` and count one more version, in
/// SQL (`version = version + 1`, never a value read earlier), so that one
/// version is one state however writes interleave. `file.version` becomes
/// the new version. The row must be locked in this transaction (`lock`).
pub fn save(conn: &mut DbConnection, file: &mut Detainee) -> Result<(), AppError> {
    let f = &file.fields;
    let id = file.id.to_string();
    let source_notes = crate::data_key::seal_notes(&id, file.source_notes.as_deref())?;
    file.version = diesel::update(detainees::table.find(&id))
        .set((
            (
                detainees::full_name.eq(&f.full_name),
                detainees::name_ar.eq(&f.name_ar),
                detainees::aliases
                    .eq(serde_json::to_string(&f.aliases).map_err(AppError::internal)?),
                detainees::sex.eq(f.sex.as_str()),
                detainees::birth_date.eq(text(f.birth_date)),
                detainees::place_of_origin.eq(&f.place_of_origin),
                detainees::status.eq(f.status.as_str()),
                detainees::category.eq(f.category.as_str()),
                detainees::major_crimes_accusation.eq(f.major_crimes_accusation),
                detainees::accusation_summary.eq(&f.accusation_summary),
                detainees::facility_id.eq(f.facility_id.map(|id| id.to_string())),
            ),
            (
                detainees::detained_on.eq(text(f.detained_on)),
                detainees::last_seen_on.eq(text(f.last_seen_on)),
                detainees::released_on.eq(text(f.released_on)),
                detainees::notes.eq(&f.notes),
                detainees::source_notes.eq(source_notes),
                detainees::review_status.eq(file.review_status.as_str()),
                detainees::version.eq(detainees::version + 1),
                detainees::updated_at.eq(file.updated_at.naive_utc()),
                detainees::updated_by.eq(file.updated_by.to_string()),
                detainees::archived_at.eq(file.archived_at.map(|t| t.naive_utc())),
                detainees::merged_into.eq(file.merged_into.map(|id| id.to_string())),
                detainees::external_ref.eq(&f.external_ref),
            ),
        ))
        .returning(detainees::version)
        .get_result(conn)?;
    Ok(())
}

/// The file, locked until the end of the write transaction, if `scope`
/// includes it. Every path that reads a file and then writes it starts
/// here, so a decision, an edit, a custody record or a merge each sees the
/// file as it is when it commits (PostgreSQL: `SELECT … FOR UPDATE`;
/// SQLite: the write transaction already excludes other writers).
pub fn lock(conn: &mut WriteTx<'_>, id: Uuid, scope: FileScope) -> Result<Detainee, AppError> {
    db::lock_row(conn, "detainees", &id.to_string())?;
    find_in_scope(conn, id, scope)?.ok_or(AppError::NotFound)
}

/// A write to the file that changes none of its content (a custody
/// record): one more version, in SQL. The row must be locked (`lock`).
/// Returns the new version.
pub fn touch(conn: &mut DbConnection, id: Uuid, user_id: Uuid) -> Result<i64, AppError> {
    stamp(conn, id, None, user_id)
}

/// The one way a review changes a file's `review_status`: with one more
/// version, in SQL. The row must be locked (`lock`). Returns the new
/// version.
pub fn set_review_status(
    conn: &mut DbConnection,
    id: Uuid,
    review_status: ReviewStatus,
    user_id: Uuid,
) -> Result<i64, AppError> {
    stamp(conn, id, Some(review_status), user_id)
}

fn stamp(
    conn: &mut DbConnection,
    id: Uuid,
    review_status: Option<ReviewStatus>,
    user_id: Uuid,
) -> Result<i64, AppError> {
    let target = detainees::table.find(id.to_string());
    let stamp = (
        detainees::version.eq(detainees::version + 1),
        detainees::updated_at.eq(db::now()),
        detainees::updated_by.eq(user_id.to_string()),
    );
    let version = match review_status {
        Some(status) => diesel::update(target)
            .set((stamp, detainees::review_status.eq(status.as_str())))
            .returning(detainees::version)
            .get_result(conn)?,
        None => diesel::update(target)
            .set(stamp)
            .returning(detainees::version)
            .get_result(conn)?,
    };
    Ok(version)
}

/// A file by id, archived or not, if the scope includes it.
pub fn find_in_scope(
    conn: &mut DbConnection,
    id: Uuid,
    scope: FileScope,
) -> Result<Option<Detainee>, AppError> {
    let filter = DetaineeFilter {
        id: Some(id),
        include_archived: true,
        ..DetaineeFilter::default()
    };
    Ok(list(conn, scope, &filter, None, 1)?.into_iter().next())
}

#[derive(Debug, Default, Clone)]
pub struct DetaineeFilter {
    pub id: Option<Uuid>,
    /// Any of these files (search candidates).
    pub ids: Option<Vec<Uuid>>,
    pub status: Option<DetaineeStatus>,
    pub category: Option<Category>,
    pub review_status: Option<ReviewStatus>,
    pub facility_id: Option<Uuid>,
    /// Exactly this external reference.
    pub external_ref: Option<String>,
    pub include_archived: bool,
}

impl DetaineeFilter {
    /// The filters a list of files takes (`GET /detainees` and its export).
    pub fn listed(
        status: Option<DetaineeStatus>,
        category: Option<Category>,
        review_status: Option<ReviewStatus>,
        facility_id: Option<Uuid>,
        external_ref: Option<String>,
        include_archived: Option<bool>,
    ) -> Self {
        // A value no reference can be is kept as given — the export's audit
        // entry says what was asked — and matches no file (`scoped`).
        let external_ref = external_ref.map(|given| stored_reference(&given).unwrap_or(given));
        DetaineeFilter {
            status,
            category,
            review_status,
            facility_id,
            external_ref,
            include_archived: include_archived.unwrap_or(false),
            ..Default::default()
        }
    }
}

/// An external reference as files store it (`domain::parse_text`:
/// trimmed), or `None` for a value no reference can be (empty, too long,
/// a control character).
fn stored_reference(given: &str) -> Option<String> {
    crate::domain::parse_text("external_ref", given, crate::domain::MAX_EXTERNAL_REF_CHARS).ok()
}

/// The files in `scope` that pass `filter`, with ids after `after`, as a
/// query to select from (unordered: a count cannot be ordered on
/// PostgreSQL; lists order by id); `None` when nothing can pass (the
/// scope sees nothing, or the filter asks what no file can be).
fn scoped<'a>(
    scope: FileScope,
    filter: &DetaineeFilter,
    after: Option<Uuid>,
) -> Option<detainees::BoxedQuery<'a, db::Backend>> {
    let mut query = detainees::table.into_boxed();
    match scope {
        FileScope::Organization(org) => {
            query = query.filter(detainees::organization_id.eq(org.to_string()))
        }
        FileScope::Reviewer { user, organization } => {
            query = query
                .filter(detainees::organization_id.ne(organization.to_string()))
                .filter(
                    detainees::id.eq_any(
                        reviews::table
                            .filter(crate::actionable_by_reviewer!(user, organization))
                            .select(reviews::detainee_id),
                    ),
                )
        }
        FileScope::All => {}
        FileScope::Nothing => return None,
    }
    if let Some(id) = filter.id {
        query = query.filter(detainees::id.eq(id.to_string()));
    }
    if let Some(ids) = &filter.ids {
        query =
            query.filter(detainees::id.eq_any(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()));
    }
    if let Some(status) = filter.status {
        query = query.filter(detainees::status.eq(status.as_str()));
    }
    if let Some(category) = filter.category {
        query = query.filter(detainees::category.eq(category.as_str()));
    }
    if let Some(review_status) = filter.review_status {
        query = query.filter(detainees::review_status.eq(review_status.as_str()));
    }
    if let Some(facility) = filter.facility_id {
        query = query.filter(detainees::facility_id.eq(facility.to_string()));
    }
    if let Some(external_ref) = &filter.external_ref {
        // A value no reference can be is asked of no file (and a NUL could
        // not even be sent to PostgreSQL as a parameter).
        if stored_reference(external_ref).as_deref() != Some(external_ref.as_str()) {
            return None;
        }
        query = query.filter(detainees::external_ref.eq(external_ref.clone()));
    }
    if !filter.include_archived {
        query = query.filter(detainees::archived_at.is_null());
    }
    if let Some(after) = after {
        query = query.filter(detainees::id.gt(after.to_string()));
    }
    Some(query)
}

/// Files in the scope, in id order after `after`.
pub fn list(
    conn: &mut DbConnection,
    scope: FileScope,
    filter: &DetaineeFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<Detainee>, AppError> {
    let Some(query) = scoped(scope, filter, after) else {
        return Ok(Vec::new());
    };
    query
        .order(detainees::id.asc())
        .select(DetaineeRow::as_select())
        .limit(fetch)
        .load(conn)?
        .into_iter()
        .map(Detainee::try_from)
        .collect()
}

/// How many files in `scope` pass `filter`.
pub fn count(
    conn: &mut DbConnection,
    scope: FileScope,
    filter: &DetaineeFilter,
) -> Result<i64, AppError> {
    let Some(query) = scoped(scope, filter, None) else {
        return Ok(0);
    };
    Ok(query.count().get_result(conn)?)
}

/// Index up to `batch` files that the name index does not hold yet (created
/// before it existed, or before its form changed): one read of the files,
/// one multi-row insert of their keys. Returns how many.
pub fn index_unindexed(conn: &mut DbConnection, batch: i64) -> Result<usize, AppError> {
    let missing = name_index::unindexed(conn, batch)?;
    if missing.is_empty() {
        return Ok(0);
    }
    let filter = DetaineeFilter {
        ids: Some(missing),
        include_archived: true,
        ..Default::default()
    };
    let files = list(conn, FileScope::All, &filter, None, batch)?;
    let indexed: Vec<_> = files.iter().map(Detainee::indexed).collect();
    name_index::add(conn, &indexed)?;
    Ok(files.len())
}

/// Only the names of the files in the scope (what a search scores), in id
/// order: a search reads a few thousand of these and whole files only for
/// the hits it returns.
pub fn names(
    conn: &mut DbConnection,
    scope: FileScope,
    filter: &DetaineeFilter,
    fetch: i64,
) -> Result<Vec<(Uuid, NameFields)>, AppError> {
    let Some(query) = scoped(scope, filter, None) else {
        return Ok(Vec::new());
    };
    query
        .order(detainees::id.asc())
        .select((
            detainees::id,
            detainees::full_name,
            detainees::name_ar,
            detainees::aliases,
        ))
        .limit(fetch)
        .load::<(String, String, Option<String>, String)>(conn)?
        .into_iter()
        .map(|(id, full_name, name_ar, aliases)| {
            Ok((
                stored_uuid(&id)?,
                NameFields {
                    full_name,
                    name_ar,
                    aliases: serde_json::from_str(&aliases).map_err(AppError::internal)?,
                },
            ))
        })
        .collect()
}
