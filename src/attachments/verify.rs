//! `sijill attachments verify`: every stored object read back, decrypted
//! and hashed, and compared with its record; objects no record names are
//! listed too (an upload or purge cut short by a crash).

use std::sync::Arc;

use super::storage::{ObjectProblem, Storage};
use super::store;
use crate::db::Database;
use crate::error::AppError;
use crate::sealing::SealingKey;

/// One object that is not as its record says.
#[derive(Debug)]
pub struct Finding {
    /// The record's id (`attachment_objects`), or none for an object no
    /// record names.
    pub object_id: Option<String>,
    pub stored_as: String,
    pub problem: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub checked: usize,
    pub bytes: u64,
    pub findings: Vec<Finding>,
    /// Objects in the store that no record names.
    pub unrecorded: Vec<String>,
    /// Objects no record names yet, written in the last ten minutes: an
    /// upload may be under way; not judged.
    pub recent: usize,
}

/// Check every recorded object, `progress` told after each.
pub async fn verify(
    db: &Database,
    storage: &Storage,
    key: &Arc<SealingKey>,
    mut progress: impl FnMut(usize),
) -> Result<Report, AppError> {
    let mut report = Report::default();
    let mut after: Option<String> = None;
    loop {
        let page = {
            let after = after.clone();
            db.read_blocking(move |conn| store::objects(conn, after.as_deref(), None, 500))?
        };
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id.clone());
        for object in page {
            let problem = if object.key_id != key.id() {
                Some(format!(
                    "encrypted under key {}, not this key ({}): finish the rotation",
                    object.key_id,
                    key.id()
                ))
            } else {
                match storage.rehash(key, &object.stored_as, object.size()).await {
                    Ok(sha256) if sha256 == object.sha256 => None,
                    Ok(sha256) => Some(format!(
                        "changed: its content hashes to {sha256}, its record says {}",
                        object.sha256
                    )),
                    Err(ObjectProblem::Unreadable(e)) => {
                        return Err(AppError::Unavailable(format!("the attachment store: {e}")))
                    }
                    Err(problem) => Some(problem.to_string()),
                }
            };
            report.checked += 1;
            report.bytes += object.size();
            if let Some(problem) = problem {
                report.findings.push(Finding {
                    object_id: Some(object.id),
                    stored_as: object.stored_as,
                    problem,
                });
            }
            progress(report.checked);
        }
    }
    let recorded = db.read_blocking(store::names_recorded)?;
    let recent_since = chrono::Utc::now() - chrono::Duration::minutes(10);
    for (name, written) in storage.object_ids().await? {
        if recorded.contains(&name) {
            continue;
        }
        if written > recent_since {
            report.recent += 1;
        } else {
            report.unrecorded.push(name);
        }
    }
    Ok(report)
}
