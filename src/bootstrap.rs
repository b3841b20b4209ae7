//! First start: with no accounts at all, create the organisation
//! `Administration` and the account `admin`.

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::Origin;
use crate::audit::{self, Actor};
use crate::auth::password::PasswordHasher;
use crate::db::Database;
use crate::error::AppError;
use crate::organizations::{store as organizations, OrganizationKind};
use crate::users::store::{self as users, NewUserRecord};
use crate::users::Role;

pub const ADMIN_ORGANIZATION: &str = "Administration";
pub const ADMIN_USERNAME: &str = "admin";

/// A random password from an alphabet without look-alikes; 24 characters
/// from 54 symbols is about 138 bits.
pub fn random_password() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let password: String = (0..24)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    SecretString::from(password)
}

/// Returns the generated password when one was made up (to be shown once).
/// On a database that already has accounts, nothing is created, and a
/// configured password is said loudly to be unused.
pub fn ensure_first_admin(
    db: &Database,
    hasher: &PasswordHasher,
    configured_password: Option<&SecretString>,
) -> Result<Option<SecretString>, AppError> {
    if warn_if_password_unused(db, configured_password)? {
        return Ok(None);
    }
    let generated = configured_password.is_none().then(random_password);
    let password = configured_password
        .or(generated.as_ref())
        .ok_or_else(|| AppError::internal_msg("no bootstrap password"))?;
    let hash = hasher
        .hash_new_blocking(password, &[ADMIN_USERNAME])
        .map_err(|e| match e {
            AppError::Invalid { detail, .. } => AppError::internal_msg(format!(
                "SIJILL_BOOTSTRAP_ADMIN_PASSWORD is refused: {detail}"
            )),
            other => other,
        })?;
    let origin = Origin::system("bootstrap");
    let created = db.write_blocking(|conn| {
        // Serialise with any other process starting at the same moment.
        audit::store::lock_chain(conn)?;
        if users::count(conn)? > 0 {
            return Ok(false);
        }
        let actor = Actor::system();
        let org = match organizations::find_by_name(conn, ADMIN_ORGANIZATION)? {
            Some(org) => org,
            None => organizations::create(
                conn,
                &actor,
                ADMIN_ORGANIZATION,
                OrganizationKind::Administration,
                &origin,
            )?,
        };
        users::create(
            conn,
            &actor,
            NewUserRecord {
                username: ADMIN_USERNAME,
                display_name: "Administrator",
                role: Role::Admin,
                organization_id: org.id,
                password_hash: &hash,
            },
            &origin,
        )?;
        Ok(true)
    })?;
    Ok(if created { generated } else { None })
}

/// Whether the database already has accounts; if so, and a bootstrap
/// password is configured that is not `admin`'s, say on standard error that
/// it is not used — a newcomer who sets it after the first start would
/// otherwise be left wondering why `admin` does not take it. (When it is
/// `admin`'s password, as when the same shell ran `seed-demo` and then
/// `serve`, there is nothing to say.)
pub fn warn_if_password_unused(
    db: &Database,
    configured_password: Option<&SecretString>,
) -> Result<bool, AppError> {
    let set_up = db.read_blocking(users::count)? > 0;
    let Some(password) = configured_password.filter(|_| set_up) else {
        return Ok(set_up);
    };
    let admin = db.read_blocking(|conn| users::find_for_login(conn, ADMIN_USERNAME))?;
    let is_admins = match admin {
        Some((_, hash)) => crate::auth::password::matches_blocking(password, &hash)?,
        None => false,
    };
    if !is_admins {
        eprintln!(
            "sijill: WARNING: SIJILL_BOOTSTRAP_ADMIN_PASSWORD is set, but this database already \
             has accounts, so it was not used: `{ADMIN_USERNAME}` keeps the password it has, \
             which is not this one. The variable sets the first password only on an empty \
             database; to change a password, log in as an admin and use \
             POST /api/v1/users/{{id}}/password."
        );
        tracing::warn!(
            "SIJILL_BOOTSTRAP_ADMIN_PASSWORD is set but the database already has accounts: not used"
        );
    }
    Ok(set_up)
}

/// Print a generated password once, on standard output, never to the logs.
pub fn announce(password: &SecretString) {
    println!(
        "sijill: created the first account `{ADMIN_USERNAME}` with the password\n\n    {}\n\n\
         It is shown only this once. Log in and give each person their own account.",
        password.expose_secret()
    );
}
