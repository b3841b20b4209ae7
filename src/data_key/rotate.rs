//! `sijill keys rotate`: everything under the data key re-encrypted under
//! a new one, resumably, then the switch recorded and audited.
//!
//! 1. A new key is generated beside the current one (`data-key.next`) and
//!    its check value recorded as a rotation in progress: from then on no
//!    server starts on the database until the rotation ends.
//! 2. `source_notes` under the old key are re-sealed, a batch a
//!    transaction; attachment objects are copied under the new key, each
//!    record moved to its copy in a transaction, the old object removed.
//!    Work done stays done: an interrupted rotation is run again.
//! 3. One transaction makes the new key the database's and appends
//!    `keys.rotate`; then the files are swapped: the new key becomes
//!    `data-key` and the old one `data-key.retired-{id}` (kept, for the
//!    backups made under it; docs/security.md says when to destroy it).
//!    A crash between the two is finished by running the command again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::attachments::{store as attachments, Storage};
use crate::audit::{self, Actor, AuditAction, Changes, Origin};
use crate::config::Settings;
use crate::db::{key_checks, Database};
use crate::error::AppError;
use crate::keys;
use crate::sealing::SealingKey;

use super::{reseal_notes, KEY_CHECK, NEXT_KEY_CHECK};

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub from: String,
    pub to: String,
    pub notes: usize,
    pub objects: usize,
}

fn next_path(current: &Path) -> PathBuf {
    let mut name = current.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

fn retired_path(current: &Path, id: &str) -> PathBuf {
    let mut name = current.as_os_str().to_owned();
    name.push(format!(".retired-{id}"));
    PathBuf::from(name)
}

fn failed(message: impl Into<String>) -> AppError {
    AppError::internal_msg(message.into())
}

/// Rotate the data key of the database `db` (opened without a key).
pub async fn rotate(
    settings: &Settings,
    db: &Database,
    storage: &Storage,
) -> Result<Rotated, AppError> {
    let current_path = &settings.data_key_file;
    let next_path = next_path(current_path);
    let recorded = key_checks::recorded(db, KEY_CHECK)?;
    let loaded = |path: &Path| -> Result<Arc<SealingKey>, AppError> {
        Ok(Arc::new(SealingKey::new(
            keys::load_or_generate_secret(path).map_err(|e| failed(e.to_string()))?,
        )))
    };
    if !current_path.exists() {
        return Err(failed(format!(
            "{} does not exist: there is no data key to rotate",
            current_path.display()
        )));
    }
    let old = loaded(current_path)?;
    // A switch recorded but the files not yet swapped (a crash in step 3).
    if recorded.as_deref() != Some(old.check_value()) {
        if next_path.exists() {
            let next = loaded(&next_path)?;
            if recorded.as_deref() == Some(next.check_value()) {
                swap_files(current_path, &next_path, old.id())?;
                return Ok(Rotated {
                    from: old.id().to_owned(),
                    to: next.id().to_owned(),
                    notes: 0,
                    objects: 0,
                });
            }
        }
        return Err(failed(format!(
            "{} is not this database's data key (its id is {}): nothing was changed",
            current_path.display(),
            old.id()
        )));
    }
    let in_progress = key_checks::recorded(db, NEXT_KEY_CHECK)?;
    if in_progress.is_none() {
        // Before anything changes: what cannot be read now would stop the
        // rotation half-way, and nothing could start until it ended.
        preflight(db, storage, &old).await?;
    }
    let new = loaded(&next_path)?;
    match in_progress {
        None => {
            let check = new.check_value().to_owned();
            db.write_blocking(move |tx| key_checks::replace(tx.conn(), NEXT_KEY_CHECK, &check))?;
        }
        Some(value) if value == new.check_value() => {}
        Some(_) => {
            return Err(failed(format!(
                "a rotation to another key is in progress, and {} is not that key: restore it",
                next_path.display()
            )))
        }
    }
    let notes = reseal_notes(db, &old, &new)?;
    let objects = move_objects(db, storage, &old, &new).await?;
    let (from, to) = (old.id().to_owned(), new.id().to_owned());
    {
        let (check, from, to) = (new.check_value().to_owned(), from.clone(), to.clone());
        db.write_blocking(move |tx| {
            // Counted now, in the switch's transaction: nothing may be
            // left under the old key when it is retired.
            let left = super::left_under(tx.conn(), &from)?;
            if left > 0 {
                return Err(failed(format!(
                    "{left} values are still under the old key (written while rotating?): run \
                     the rotation again with every server stopped"
                )));
            }
            key_checks::replace(tx.conn(), KEY_CHECK, &check)?;
            key_checks::forget(tx.conn(), NEXT_KEY_CHECK)?;
            let changes = Changes::new()
                .changed("key_id", from, to)
                .created("source_notes_resealed", notes)
                .created("objects_reencrypted", objects);
            audit::append(
                tx,
                &Actor::system(),
                AuditAction::KeysRotate,
                None,
                changes,
                &Origin::system("keys-rotate"),
            )?;
            Ok(())
        })?;
    }
    swap_files(current_path, &next_path, old.id())?;
    Ok(Rotated {
        from,
        to,
        notes,
        objects,
    })
}

/// The old key kept as `…retired-{id}` (a second name for it), then the new
/// one renamed over the current name in one step: at every moment a key
/// file is there under `current`, and a crash in between is finished by
/// running the command again.
fn swap_files(current: &Path, next: &Path, old_id: &str) -> Result<(), AppError> {
    let retired = retired_path(current, old_id);
    let kept = match std::fs::hard_link(current, &retired) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    };
    kept.and_then(|()| std::fs::rename(next, current))
        .and_then(
            |()| match current.parent().filter(|d| !d.as_os_str().is_empty()) {
                Some(dir) => std::fs::File::open(dir)?.sync_all(),
                None => Ok(()),
            },
        )
        .map_err(|e| failed(format!("swapping the key files: {e}")))
}

/// Every note under `old` opens and every object under it is in the store
/// at its length, or the rotation does not begin (and says what to mend).
async fn preflight(
    db: &Database,
    storage: &Storage,
    old: &Arc<SealingKey>,
) -> Result<(), AppError> {
    let unreadable = super::unreadable_notes(db, old)?;
    let mut problems: Vec<String> = unreadable
        .iter()
        .map(|id| format!("the source notes of file {id} do not open"))
        .collect();
    let mut after: Option<String> = None;
    loop {
        let from = after.clone();
        let page =
            db.read_blocking(move |conn| attachments::objects(conn, from.as_deref(), None, 500))?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for object in page {
            if !storage.holds(&object.stored_as, object.size()).await? {
                problems.push(format!(
                    "object {} ({}) is missing or changed in the store",
                    object.id, object.stored_as
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(failed(format!(
        "nothing was rotated: {} (run `sijill attachments verify`; mend or purge these first)",
        problems.join("; ")
    )))
}

/// Copy every object under `old` to one under `new`, moving its record in
/// a transaction of its own and removing the old object after.
async fn move_objects(
    db: &Database,
    storage: &Storage,
    old: &Arc<SealingKey>,
    new: &Arc<SealingKey>,
) -> Result<usize, AppError> {
    let mut moved = 0;
    loop {
        let new_id = new.id().to_owned();
        let page =
            db.read_blocking(move |conn| attachments::objects(conn, None, Some(&new_id), 100))?;
        if page.is_empty() {
            return Ok(moved);
        }
        for object in page {
            if object.key_id != old.id() {
                return Err(failed(format!(
                    "object {} is under key {}, neither the old nor the new one",
                    object.id, object.key_id
                )));
            }
            let copy = storage
                .reencrypt(old, new, &object.stored_as, object.size())
                .await?;
            let (id, from, to, key_id) = (
                object.id.clone(),
                object.stored_as.clone(),
                copy.clone(),
                new.id().to_owned(),
            );
            let recorded =
                db.write_blocking(move |tx| attachments::moved(tx, &id, &from, &to, &key_id));
            match recorded {
                // The record names the copy now: the old object goes.
                Ok(true) => {
                    storage.remove(&object.stored_as).await?;
                    moved += 1;
                }
                // Purged (or restored by an upload) meanwhile: the copy
                // must not outlive what it copied.
                Ok(false) => storage.remove(&copy).await?,
                Err(e) => {
                    storage.remove(&copy).await?;
                    return Err(e);
                }
            }
        }
    }
}
