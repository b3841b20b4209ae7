//! An import yields to the people using the service, on PostgreSQL.
//!
//! `priority` runs an import's own process below the server's requests,
//! but on PostgreSQL most of a batch's work is done by the database's
//! process for the import's connection, at the database's priority, in
//! the scheduling group of the database's other processes — the readers'
//! queries among them. With the server saturated by readers, their p99
//! rose to 2.6–7.4 times its idle value while an import ran; pausing after
//! each batch brought it to 2.0 times, and would have tripled the import's
//! time on an idle server (docs/performance.md). So the job pauses only
//! while others are being served:
//!
//! - Before each batch it looks at `pg_stat_activity`: how many sessions
//!   of this database, other than an import's (`Workload::Import` names
//!   them), are in a statement or a transaction. It keeps a moving average
//!   of these looks, `WEIGHT` for the newest.
//! - When that average is `BUSY` or more, the job pauses `factor` times
//!   its last batch's work (`SIJILL_IMPORT_YIELD`, 3 unless set; at most
//!   `MAX_PAUSE`, so that a cancel is still seen soon), then looks again.
//!   A caseworker's request now and then (one look in a hundred or fewer
//!   sees it) costs one pause; readers at work make every look busy.
//! - On an idle database it never pauses.
//!
//! The pauses are counted in the job (`yielded_ms`), so that a data
//! officer sees why a job ran slower than the last. SQLite's readers do
//! not wait for its writer (its readers' p99 was 1.3–1.6 times idle during
//! an import) and it keeps no view of other processes' sessions: imports
//! on SQLite do not pause. Sessions of another role than the import's are
//! hidden from it unless it may read all statistics; the server and its
//! imports share one database URL, so one role.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::{Database, DbConnection, Engine, Workload};
use crate::error::AppError;

/// The newest look's share of the moving average.
const WEIGHT: f64 = 0.25;

/// The average number of others' sessions at work from which the job
/// pauses: one look that sees one session busy reaches it on its own (a
/// pause), and the next looks must see more for the job to go on pausing.
const BUSY: f64 = 0.2;

/// The longest pause between two batches.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// `SIJILL_IMPORT_YIELD` unless set.
pub const DEFAULT_FACTOR: u32 = 3;

/// One job's pacing.
pub struct Pacing {
    /// How many times its last batch's work the job pauses; 0: never.
    factor: u32,
    /// The moving average of others' sessions at work.
    busy: f64,
    /// The work of the last batch, without its pause.
    last_work: Duration,
}

impl Pacing {
    pub fn new(factor: u32) -> Self {
        Pacing {
            factor,
            busy: 0.0,
            last_work: Duration::ZERO,
        }
    }

    /// Before a batch: look, and pause if others are being served; the
    /// pause taken.
    pub fn before_batch(&mut self, db: &Database) -> Duration {
        if self.factor == 0 || db.engine() != Engine::Postgresql {
            return Duration::ZERO;
        }
        // A look that fails is no reason to fail the job: the batch's own
        // transaction says whether the database is there.
        let others = db.read_blocking(others_at_work).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "an import could not look at the database's sessions");
            0
        });
        let pause = self.after_look(others);
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
        pause
    }

    /// The batch's work is done; it took `work`.
    pub fn worked(&mut self, work: Duration) {
        self.last_work = work;
    }

    /// The pause after a look that saw `others` sessions at work.
    fn after_look(&mut self, others: i64) -> Duration {
        self.busy += WEIGHT * (others as f64 - self.busy);
        if self.busy < BUSY {
            Duration::ZERO
        } else {
            self.last_work.saturating_mul(self.factor).min(MAX_PAUSE)
        }
    }
}

/// How many sessions of this database other than imports' (this one's
/// included) are in a statement or a transaction now.
fn others_at_work(conn: &mut DbConnection) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct AtWork {
        #[diesel(sql_type = BigInt)]
        sessions: i64,
    }
    let found: Vec<AtWork> = diesel::sql_query(
        "SELECT count(*) AS sessions FROM pg_stat_activity \
         WHERE datname = current_database() AND backend_type = 'client backend' \
           AND state <> 'idle' AND pid <> pg_backend_pid() \
           AND application_name IS DISTINCT FROM $1",
    )
    .bind::<diesel::sql_types::Text, _>(Workload::Import.application_name())
    .load(conn)?;
    Ok(found.first().map_or(0, |f| f.sessions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacing(last_work_ms: u64) -> Pacing {
        let mut pacing = Pacing::new(DEFAULT_FACTOR);
        pacing.worked(Duration::from_millis(last_work_ms));
        pacing
    }

    #[test]
    fn an_idle_database_is_never_waited_for() {
        let mut p = pacing(150);
        for _ in 0..100 {
            assert_eq!(p.after_look(0), Duration::ZERO);
        }
    }

    #[test]
    fn one_request_seen_costs_one_pause() {
        let mut p = pacing(150);
        assert_eq!(p.after_look(0), Duration::ZERO);
        assert_eq!(p.after_look(1), Duration::from_millis(450));
        assert_eq!(p.after_look(0), Duration::ZERO);
        assert_eq!(p.after_look(0), Duration::ZERO);
    }

    #[test]
    fn readers_at_work_keep_the_job_pausing_until_they_stop() {
        let mut p = pacing(150);
        // Readers: most looks see one or two sessions, some none.
        for others in [1, 2, 0, 1, 1, 0, 2, 1, 0, 1] {
            assert_eq!(p.after_look(others), Duration::from_millis(450));
        }
        // They stop: a few more pauses as the average falls, then none.
        let paused = (0..10).take_while(|_| !p.after_look(0).is_zero()).count();
        assert!(
            (1..=4).contains(&paused),
            "{paused} pauses after the readers stopped"
        );
        assert_eq!(p.after_look(0), Duration::ZERO);
    }

    #[test]
    fn pauses_are_bounded_and_can_be_turned_off() {
        let mut slow = pacing(4_000);
        assert_eq!(slow.after_look(3), MAX_PAUSE);
        let mut off = Pacing::new(0);
        off.worked(Duration::from_millis(150));
        assert_eq!(off.after_look(3), Duration::ZERO);
    }
}
