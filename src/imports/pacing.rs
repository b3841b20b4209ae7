//! An import yields to the people using the service, on PostgreSQL.
//!
//! `priority` runs an import's own process below the server's requests,
//! but on PostgreSQL most of a batch's work is done by the database's
//! process for the import's connection, at the database's priority, in
//! the scheduling group of the database's other processes — the readers'
//! queries among them. With the server saturated by readers, their p99
//! rose to 2.6–7.4 times its idle value while an import ran; a pause of
//! three times each batch's work, after every batch, brought it to 2.0
//! times — and would make an import on an idle server four times as long
//! (docs/performance.md, the fifth session's pacing experiment). So the
//! job pauses only while others are being served:
//!
//! - Before each batch it looks at `pg_stat_activity`: is any session
//!   of this database, other than an import's (`Workload::Import` names
//!   them), running a statement, or did one end in the last `RECENT_MS`
//!   (50 ms)? A request's statements take a fraction of a millisecond:
//!   looking only for one running at the moment of the look missed most
//!   of the readers (a saturated server was seen at work so seldom that
//!   its import paused 5 s in all). A session idle in a transaction since
//!   earlier — a `psql` left open — is not counted: it takes nothing from
//!   the cores.
//! - When this look and the one before it both saw someone at work, the
//!   job pauses `factor` times its last batch's work (`SIJILL_IMPORT_YIELD`,
//!   3 unless set; at most `MAX_PAUSE`, so that a cancel is still seen
//!   soon), then goes on with the batch. Readers at work are seen by every
//!   look; a poll of a job's progress every fifth of a second by one look
//!   in five, and so costs a pause before one batch in twenty-five or so.
//!   With the default, an import takes at most four times as long.
//! - On an idle database it never pauses.
//!
//! The pauses are counted in the job (`yielded_ms`, with the batch that
//! follows each), so that a data officer sees why a job ran slower than
//! the last. SQLite's readers do not wait for its writer (their p99 stayed
//! within 3 times idle during an import, 1.3–2.6 times in the fifth
//! session's runs) and it keeps no view of other processes' sessions:
//! imports on SQLite do not pause. Sessions of another role than the
//! import's are hidden from it unless it may read all statistics; the
//! server and its imports share one database URL, so one role.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::{Database, DbConnection, Engine, Workload};
use crate::error::AppError;

/// How recently a session must have run a statement to count as at work.
const RECENT_MS: i32 = 50;

/// The longest pause between two batches.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// `SIJILL_IMPORT_YIELD` unless set.
pub const DEFAULT_FACTOR: u32 = 3;

/// One job's pacing.
pub struct Pacing {
    /// How many times its last batch's work the job pauses; 0: never.
    factor: u32,
    /// The look before this one saw someone at work.
    seen_before: bool,
    /// The work of the last batch, without its pause.
    last_work: Duration,
}

impl Pacing {
    pub fn new(factor: u32) -> Self {
        Pacing {
            factor,
            seen_before: false,
            last_work: Duration::ZERO,
        }
    }

    /// Before a batch: look, and pause if others are being served; how
    /// long it paused.
    pub fn pause_if_busy(&mut self, db: &Database) -> Duration {
        if self.factor == 0 || db.engine() != Engine::Postgresql {
            return Duration::ZERO;
        }
        // A look that fails is no reason to fail the job: the batch's own
        // transaction says whether the database is there.
        let seen = db.read_blocking(someone_at_work).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "an import could not look at the database's sessions");
            false
        });
        let pause = self.after_look(seen);
        tracing::debug!(seen, ?pause, "an import looked at the database");
        if pause.is_zero() {
            return pause;
        }
        let paused = std::time::Instant::now();
        std::thread::sleep(pause);
        paused.elapsed()
    }

    /// The batch's work is done; it took `work`.
    pub fn worked(&mut self, work: Duration) {
        self.last_work = work;
    }

    /// The pause after a look that saw someone at work or not.
    fn after_look(&mut self, seen: bool) -> Duration {
        let busy = seen && self.seen_before;
        self.seen_before = seen;
        if busy {
            self.last_work.saturating_mul(self.factor).min(MAX_PAUSE)
        } else {
            Duration::ZERO
        }
    }
}

/// Is a session of this database, other than imports' (this one among
/// them), running a statement, or did one end in the last `RECENT_MS`?
/// (`state_change` is when an idle session's last statement ended.)
fn someone_at_work(conn: &mut DbConnection) -> Result<bool, AppError> {
    #[derive(QueryableByName)]
    struct Seen {
        #[diesel(sql_type = Bool)]
        seen: bool,
    }
    let found: Vec<Seen> = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
           WHERE datname = current_database() AND backend_type = 'client backend' \
             AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM $1 \
             AND (state = 'active' \
                  OR state_change > clock_timestamp() - $2 * interval '1 millisecond')) \
         AS seen",
    )
    .bind::<diesel::sql_types::Text, _>(Workload::Import.application_name())
    .bind::<diesel::sql_types::Integer, _>(RECENT_MS)
    .load(conn)?;
    Ok(found.first().is_some_and(|f| f.seen))
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
            assert_eq!(p.after_look(false), Duration::ZERO);
        }
    }

    #[test]
    fn a_poll_now_and_then_costs_no_pause() {
        let mut p = pacing(150);
        // A poll seen by one look in three.
        for seen in [true, false, false, true, false, false, true, false, true] {
            assert_eq!(p.after_look(seen), Duration::ZERO);
        }
    }

    #[test]
    fn others_at_work_are_waited_for_from_the_second_look_until_they_stop() {
        let mut p = pacing(150);
        let paused: Vec<Duration> = [true, true, true, true, false, true, true]
            .into_iter()
            .map(|seen| p.after_look(seen))
            .collect();
        let (no, yes) = (Duration::ZERO, Duration::from_millis(450));
        assert_eq!(paused, [no, yes, yes, yes, no, no, yes]);
    }

    #[test]
    fn pauses_follow_the_last_batch_are_bounded_and_can_be_turned_off() {
        let mut p = pacing(150);
        p.after_look(true);
        p.worked(Duration::from_millis(200));
        assert_eq!(p.after_look(true), Duration::from_millis(600));
        let mut slow = pacing(4_000);
        slow.after_look(true);
        assert_eq!(slow.after_look(true), MAX_PAUSE);
        let mut off = Pacing::new(0);
        off.worked(Duration::from_millis(150));
        off.after_look(true);
        assert_eq!(off.after_look(true), Duration::ZERO);
    }
}
