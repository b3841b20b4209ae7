//! The command line: `serve` (default), `migrate`, `organization create`,
//! `user create`, `user mfa-enrol`, `user mfa-reset`, `totp-code`,
//! `audit verify`, `audit export`, `export`, `import`, `backup`, `seed-demo` (demo and synthetic data) and
//! `eval-search` (recall of name search on a case set).

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::SecretString;
use uuid::Uuid;

use crate::audit::Origin;
use crate::audit::{self, Actor, Fingerprints};
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::{Database, Workload};
use crate::domain::{parse_text, Username};
use crate::error::AppError;
use crate::organizations::{store as organizations, OrganizationKind};
use crate::startup::Application;
use crate::users::store::{self as users, NewUserRecord};
use crate::users::Role;
use crate::{bootstrap, telemetry};

#[derive(Parser)]
#[command(
    name = "sijill",
    version,
    about = "Case records for detained and disappeared people, with independent review and a tamper-evident audit log.\nSettings come from the environment (see the README)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage organisations.
    Organization {
        #[command(subcommand)]
        command: OrganizationCommand,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load demo data: the facilities named in the public record, a
    /// documentation organisation with a caseworker and an auditor, and a few
    /// dozen fictional files. Passwords: SIJILL_DEMO_PASSWORD, or random and
    /// printed once.
    SeedDemo {
        /// Also add this many synthetic files (for load tests).
        #[arg(long, default_value_t = 0)]
        files: usize,
        /// Write the ids of the synthetic files to this file, one a line.
        #[arg(long)]
        ids_out: Option<std::path::PathBuf>,
        /// Which synthetic people: the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write searches for synthetic people to this file, one a line as
        /// `query<TAB>file id` (another spelling or script, parts missing or
        /// in another order), for search benchmarks.
        #[arg(long)]
        queries_out: Option<std::path::PathBuf>,
        /// How many searches `--queries-out` writes, spread over the files.
        #[arg(long, default_value_t = 2000)]
        queries: usize,
    },
    /// Measure name search on a case set: recall@1, recall@5 and MRR.
    EvalSearch {
        /// CSV of `query,expected_full_name` (with a header).
        cases: std::path::PathBuf,
        /// CSV of `full_name,name_ar,aliases` (aliases separated by `;`, with a header).
        #[arg(long)]
        files: std::path::PathBuf,
    },
    /// Print the current TOTP code of a base32 secret read from standard
    /// input (for trying the second factor without a phone).
    TotpCode,
    /// Write the files an account may see as CSV or JSON Lines, as
    /// GET /detainees/export would answer it (audited as that account, and
    /// every file in the access log).
    Export {
        /// The account whose files (and whose permission) the export is.
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::detainees::export::ExportFormat,
        /// Include archived (and merged) files.
        #[arg(long)]
        include_archived: bool,
        /// The file to write (standard output when absent).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Import a list (CSV, JSON Lines or XLSX) into an account's
    /// organisation, as POST /imports does (the same job, report and audit
    /// entries), with a progress bar. Exits 0 when the job succeeded.
    Import {
        /// The list to import.
        file: std::path::PathBuf,
        /// The caseworker the import is done as (their organisation's files).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        /// The file's format (default: from its extension).
        #[arg(long, value_parser = parse_import_format)]
        format: Option<crate::imports::source::ImportFormat>,
        /// `all_or_nothing` (the default) or `skip_invalid`.
        #[arg(long, value_parser = parse_import_mode, default_value = "all_or_nothing")]
        mode: crate::imports::job::ImportMode,
        /// Check and count, commit nothing.
        #[arg(long)]
        dry_run: bool,
        /// A saved mapping of the organisation (POST /import-mappings).
        #[arg(long)]
        mapping: Option<Uuid>,
        /// Where to write the report (CSV: row, column, code, message);
        /// standard error shows its first lines when absent.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
    },
    /// Run a job the server queued (the server starts this: see
    /// src/imports/worker.rs).
    #[command(hide = true)]
    ImportWorker {
        job: Uuid,
        /// The job's upload.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Write a consistent copy of the SQLite database to DEST while the
    /// server runs (for PostgreSQL, see docs/operations.md: pg_dump).
    Backup { dest: std::path::PathBuf },
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Work with the attachment store.
    Attachments {
        #[command(subcommand)]
        command: AttachmentsCommand,
    },
    /// Work with the data key (SIJILL_DATA_KEY_FILE).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum AttachmentsCommand {
    /// Read back, decrypt and re-hash every stored object; name each one
    /// changed or missing (exit status 1), and objects no record names.
    Verify,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-encrypt source notes and attachments under a new data key
    /// (audited). Stop every server first; run it again if interrupted.
    Rotate,
}

#[derive(Subcommand)]
enum OrganizationCommand {
    /// Create an organisation (audited as the system).
    Create {
        #[arg(long)]
        name: String,
        /// administration, documentation, independent_review or family_association.
        #[arg(long, value_parser = parse_kind)]
        kind: OrganizationKind,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (audited as the system). The password is read from
    /// standard input with --password-stdin, otherwise generated and printed once.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// admin, caseworker, reviewer, family_representative or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The organisation's name or id.
        #[arg(long)]
        organization: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give an account a second factor now, confirmed (audited as the
    /// system): prints its secret, its otpauth:// URI and ten recovery
    /// codes, once. For scripted set-up; people enrol through the API.
    MfaEnrol { username: String },
    /// Remove an account's second factor and end its sessions (audited as
    /// the system); it enrols again at its next login.
    MfaReset { username: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit status 1 if it is broken.
    Verify {
        /// Also check an earlier checkpoint: its seq …
        #[arg(long, requires = "hash")]
        seq: Option<i64>,
        /// … and its hash.
        #[arg(long, requires = "seq")]
        hash: Option<String>,
    },
    /// Write the log as JSON Lines ending with a signed checkpoint line (as
    /// GET /audit/export; audited as the system). Verify the file with
    /// scripts/verify_audit_chain.py --file.
    Export {
        /// Only the entries with a greater seq.
        #[arg(long, default_value_t = 0)]
        after_seq: i64,
        /// The file to write (standard output when absent).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

fn parse_import_format(value: &str) -> Result<crate::imports::source::ImportFormat, String> {
    use crate::imports::source::ImportFormat;
    ImportFormat::ALL
        .iter()
        .copied()
        .find(|f| f.as_str() == value)
        .ok_or_else(|| format!("unknown format `{value}` (csv, jsonl, xlsx)"))
}

fn parse_import_mode(value: &str) -> Result<crate::imports::job::ImportMode, String> {
    use crate::imports::job::ImportMode;
    ImportMode::ALL
        .iter()
        .copied()
        .find(|m| m.as_str() == value)
        .ok_or_else(|| format!("unknown mode `{value}` (all_or_nothing, skip_invalid)"))
}

fn parse_kind(value: &str) -> Result<OrganizationKind, String> {
    OrganizationKind::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == value)
        .ok_or_else(|| format!("unknown organisation kind `{value}`"))
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::ALL
        .iter()
        .copied()
        .find(|r| r.as_str() == value)
        .ok_or_else(|| format!("unknown role `{value}`"))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("sijill: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => open_for_writing(&settings).map(|_| {
            println!("sijill: the database is up to date");
            ExitCode::SUCCESS
        }),
        Command::Organization {
            command: OrganizationCommand::Create { name, kind },
        } => create_organization(&settings, &name, kind),
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    display_name,
                    role,
                    organization,
                    password_stdin,
                },
        } => create_user(
            &settings,
            &username,
            &display_name,
            role,
            &organization,
            password_stdin,
        ),
        Command::User {
            command: UserCommand::MfaEnrol { username },
        } => mfa_enrol(&settings, &username),
        Command::User {
            command: UserCommand::MfaReset { username },
        } => mfa_reset(&settings, &username),
        Command::TotpCode => totp_code(),
        Command::Audit {
            command: AuditCommand::Verify { seq, hash },
        } => verify_audit(&settings, seq.zip(hash)),
        Command::Audit {
            command: AuditCommand::Export { after_seq, out },
        } => export_audit(&settings, after_seq, out),
        Command::Backup { dest } => backup(&settings, &dest),
        Command::Attachments {
            command: AttachmentsCommand::Verify,
        } => verify_attachments(&settings),
        Command::Keys {
            command: KeysCommand::Rotate,
        } => rotate_keys(&settings),
        Command::Import {
            file,
            as_user,
            format,
            mode,
            dry_run,
            mapping,
            report,
        } => import_file(
            &settings,
            &file,
            &as_user,
            ImportOptions {
                format,
                mode,
                dry_run,
                mapping,
                report,
            },
        ),
        Command::ImportWorker { job, file } => crate::imports::worker::work(&settings, job, file)
            .map(|ended| {
                tracing::info!(job = %ended.id, status = %ended.status, rows = ended.counts.rows_done, "import finished");
                ExitCode::SUCCESS
            }),
        Command::Export {
            as_user,
            format,
            include_archived,
            out,
        } => export_files(&settings, &as_user, format, include_archived, out),
        Command::SeedDemo {
            files,
            ids_out,
            seed,
            queries_out,
            queries,
        } => seed_demo(
            &settings,
            SyntheticFiles {
                files,
                seed,
                ids_out,
                queries_out,
                queries,
            },
        ),
        Command::EvalSearch { cases, files } => eval_search(&cases, &files),
    };
    result.unwrap_or_else(|message| {
        eprintln!("sijill: {message}");
        ExitCode::FAILURE
    })
}

fn serve(settings: Settings) -> Result<ExitCode, String> {
    let runtime = actix_web::rt::System::new();
    runtime.block_on(async move {
        let app = Application::build(settings.clone()).map_err(|e| e.to_string())?;
        // Printed (not only logged) so scripts and tests can read the port.
        println!(
            "sijill: listening on http://{}",
            listen_address(&settings.bind, app.port())
        );
        tracing::info!(port = app.port(), "serving");
        app.run_until_stopped().await.map_err(|e| e.to_string())?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

fn listen_address(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map_or(bind, |(host, _)| host);
    format!("{host}:{port}")
}

fn open(settings: &Settings) -> Result<Database, String> {
    crate::startup::open_database(settings, 2).map_err(|e| e.to_string())
}

/// Open the database for a command that only reads; still say when a
/// bootstrap password is set but unused (as every command does).
fn open_for_reading(settings: &Settings) -> Result<Database, String> {
    let db = open(settings)?;
    bootstrap::warn_if_password_unused(&db, settings.bootstrap_admin_password.as_ref())
        .map_err(describe)?;
    Ok(db)
}

/// Open the database for a command that may add accounts or data: on an
/// empty database, the first admin is created first (as `serve` would), so
/// that scripted set-up never leaves a service without an administrator.
fn open_for_writing(settings: &Settings) -> Result<(Database, PasswordHasher), String> {
    ready_for_writing(settings, open(settings)?)
}

/// The database for `sijill import`: as `open_for_writing`, for an
/// import's workload (`Workload::Import`: SQLite's file read without the
/// memory map; PostgreSQL's connections named as an import's).
fn open_for_import(settings: &Settings) -> Result<(Database, PasswordHasher), String> {
    let db = crate::startup::open_database_with(settings, 2, Workload::Import)
        .map_err(|e| e.to_string())?;
    ready_for_writing(settings, db)
}

/// `db` ready for a command that may add accounts or data (as
/// `open_for_writing`).
fn ready_for_writing(
    settings: &Settings,
    db: Database,
) -> Result<(Database, PasswordHasher), String> {
    let hasher = PasswordHasher::new(settings.password_hash, 1).map_err(describe)?;
    if let Some(password) =
        bootstrap::ensure_first_admin(&db, &hasher, settings.bootstrap_admin_password.as_ref())
            .map_err(describe)?
    {
        bootstrap::announce(&password);
    }
    Ok((db, hasher))
}

fn describe(err: AppError) -> String {
    match err {
        AppError::Invalid { detail, .. } | AppError::Conflict { detail, .. } => detail,
        other => format!("{other:?}"),
    }
}

fn create_organization(
    settings: &Settings,
    name: &str,
    kind: OrganizationKind,
) -> Result<ExitCode, String> {
    let name = parse_text("name", name, 200).map_err(describe)?;
    let (db, _) = open_for_writing(settings)?;
    let origin = Origin::system("cli");
    let org = db
        .write_blocking(|conn| organizations::create(conn, &Actor::system(), &name, kind, &origin))
        .map_err(describe)?;
    println!("{}", org.id);
    Ok(ExitCode::SUCCESS)
}

fn create_user(
    settings: &Settings,
    username: &str,
    display_name: &str,
    role: Role,
    organization: &str,
    password_stdin: bool,
) -> Result<ExitCode, String> {
    let username = Username::parse(username).map_err(describe)?;
    let display_name = parse_text("display_name", display_name, 200).map_err(describe)?;
    let (password, generated) = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        // Only the line break a shell adds is removed; the password is otherwise taken as typed.
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        (SecretString::from(text.to_owned()), false)
    } else {
        (bootstrap::random_password(), true)
    };
    let (db, hasher) = open_for_writing(settings)?;
    let hash = hasher
        .hash_new_blocking(&password, &[username.as_str(), &display_name])
        .map_err(describe)?;
    let origin = Origin::system("cli");
    let organization = organization.to_owned();
    let user = db
        .write_blocking(|conn| {
            let org = match Uuid::parse_str(&organization) {
                Ok(id) => organizations::find(conn, id)?,
                Err(_) => organizations::find_by_name(conn, &organization)?,
            }
            .ok_or_else(|| AppError::validation(format!("no organisation `{organization}`")))?;
            if !role.fits(org.kind) {
                return Err(AppError::validation(format!(
                    "the role {role} cannot belong to a {} organisation",
                    org.kind
                )));
            }
            users::create(
                conn,
                &Actor::system(),
                NewUserRecord {
                    username: username.as_str(),
                    display_name: &display_name,
                    role,
                    organization_id: org.id,
                    password_hash: &hash,
                },
                &origin,
            )
        })
        .map_err(describe)?;
    println!("{}", user.id);
    if generated {
        use secrecy::ExposeSecret;
        eprintln!(
            "password for {}: {}",
            user.username,
            password.expose_secret()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The account named `username`, or a message saying there is none.
fn account_named(db: &Database, username: &str) -> Result<crate::users::User, String> {
    let name = Username::parse(username).map_err(describe)?;
    let name = name.as_str().to_owned();
    db.read_blocking(move |conn| users::find_for_login(conn, &name))
        .map_err(describe)?
        .map(|(user, _)| user)
        .ok_or_else(|| format!("no account `{username}`"))
}

fn mfa_enrol(settings: &Settings, username: &str) -> Result<ExitCode, String> {
    use crate::auth::mfa::{codes, routes as mfa};
    let (db, hasher) = open_for_writing(settings)?;
    let user = account_named(&db, username)?;
    let sealing = crate::db::key_checks::sealing_key(
        &settings.mfa_key_file,
        &db,
        crate::auth::mfa::KEY_CHECK,
        "SIJILL_MFA_KEY_FILE",
    )
    .map_err(|e| e.to_string())?;
    let secret = codes::new_secret();
    let sealed = crate::auth::mfa::Mfa::new(
        Vec::new(),
        settings.mfa_token_ttl,
        settings.token_issuer.clone(),
        sealing,
    )
    .seal_secret(user.id, &secret)
    .map_err(describe)?;
    let (shown, raw): (Vec<String>, Vec<SecretString>) =
        codes::new_recovery_codes().into_iter().unzip();
    let hashes = hasher.hash_secrets_blocking(raw).map_err(describe)?;
    let origin = Origin::system("cli");
    db.write_blocking(|tx| {
        mfa::enrol_confirmed(tx, &Actor::system(), user.id, &sealed, &hashes, &origin)
    })
    .map_err(describe)?;
    println!("secret: {}", codes::base32(&secret));
    println!(
        "otpauth_uri: {}",
        codes::otpauth_uri(&secret, &settings.token_issuer, &user.username)
    );
    println!("recovery codes (each works once):");
    for code in shown {
        println!("  {code}");
    }
    Ok(ExitCode::SUCCESS)
}

fn mfa_reset(settings: &Settings, username: &str) -> Result<ExitCode, String> {
    let (db, _) = open_for_writing(settings)?;
    let user = account_named(&db, username)?;
    let origin = Origin::system("cli");
    db.write_blocking(|tx| {
        crate::auth::mfa::routes::reset_account(tx, &Actor::system(), user.id, &origin)
    })
    .map_err(describe)?;
    println!(
        "sijill: the second factor of {} is removed and its sessions ended",
        user.username
    );
    Ok(ExitCode::SUCCESS)
}

fn totp_code() -> Result<ExitCode, String> {
    use crate::auth::mfa::codes;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let secret = codes::decode_base32(&text)
        .ok_or("expected a base32 secret on standard input (as POST /auth/mfa/totp gives it)")?;
    let now = chrono::Utc::now().timestamp();
    println!("{}", codes::code_at(&secret, now));
    let left = codes::STEP_SECONDS as i64 - now.rem_euclid(codes::STEP_SECONDS as i64);
    eprintln!("valid for {left} more seconds");
    Ok(ExitCode::SUCCESS)
}

fn export_audit(
    settings: &Settings,
    after_seq: i64,
    out: Option<std::path::PathBuf>,
) -> Result<ExitCode, String> {
    use std::io::Write;
    if after_seq < 0 {
        return Err("--after-seq must be 0 or more".into());
    }
    let (db, _) = open_for_writing(settings)?;
    let signer = audit::CheckpointSigner::new(
        crate::keys::load_or_generate(&settings.audit_key_file).map_err(|e| e.to_string())?,
    );
    // Written beside its place and renamed there when whole: a file under
    // that name is never a partial export.
    let mut writer = open_output(out.as_deref())?;
    let origin = Origin::system("cli");
    let (range, head_hash) = db
        .write_blocking(|tx| audit::export::begin(tx, &Actor::system(), after_seq, &origin))
        .map_err(describe)?;
    let mut cursor = range.after_seq;
    let mut written = 0_i64;
    while let Some((lines, last)) = db
        .read_blocking(move |conn| audit::export::next_batch(conn, range, cursor))
        .map_err(describe)?
    {
        writer.write_all(&lines).map_err(|e| e.to_string())?;
        written += last - cursor;
        cursor = last;
    }
    let checkpoint = audit::export::checkpoint_line(&signer, range, head_hash).map_err(describe)?;
    writer.write_all(&checkpoint).map_err(|e| e.to_string())?;
    writer.flush().map_err(|e| e.to_string())?;
    drop(writer);
    finish_output(out.as_deref())?;
    eprintln!(
        "sijill: exported {written} audit entries (seq {} to {}) and a signed checkpoint",
        range.after_seq + 1,
        range.through_seq
    );
    Ok(ExitCode::SUCCESS)
}

fn export_files(
    settings: &Settings,
    username: &str,
    format: crate::detainees::export::ExportFormat,
    include_archived: bool,
    out: Option<std::path::PathBuf>,
) -> Result<ExitCode, String> {
    use crate::auth::permissions::{allows, Action};
    use crate::detainees::export::{self, Exporter};
    use crate::detainees::scope::FileScope;
    use crate::detainees::store::DetaineeFilter;
    let (db, _) = open_for_writing(settings)?;
    let user = account_named(&db, username)?;
    if !user.active || !allows(user.role, Action::ReadDetainees) {
        return Err(format!("{} may not read files", user.username));
    }
    let caller = crate::auth::Caller {
        user,
        session_id: Uuid::nil(),
        second_factor: None,
        enrolment_only: false,
    };
    let scope = FileScope::of(&caller);
    let filter = DetaineeFilter {
        include_archived,
        ..Default::default()
    };
    let origin = Origin::system("cli");
    let through = Uuid::now_v7();
    let count = db
        .write_blocking(|tx| export::begin(tx, &caller.actor(), scope, &filter, format, &origin))
        .map_err(describe)?;
    let access_log = crate::audit::access::AccessLog::start(db.clone()).map_err(describe)?;
    let exporter = Exporter {
        caller,
        scope,
        filter,
        format,
        through,
        access_log: access_log.clone(),
        origin,
    };
    let mut writer = open_output(out.as_deref())?;
    let mut write = |bytes: &[u8]| writer.write_all(bytes).map_err(|e| e.to_string());
    write(&export::preamble(format).map_err(describe)?)?;
    let mut cursor = None;
    while let Some((bytes, next)) = db
        .read_blocking(|conn| exporter.next_batch(conn, cursor))
        .map_err(describe)?
    {
        write(&bytes)?;
        cursor = next;
    }
    writer.flush().map_err(|e| e.to_string())?;
    drop(writer);
    finish_output(out.as_deref())?;
    if !access_log.flush_blocking(std::time::Duration::from_secs(30)) {
        return Err("the access log could not be written: the export is not recorded whole".into());
    }
    eprintln!("sijill: exported {count} files");
    Ok(ExitCode::SUCCESS)
}

struct ImportOptions {
    format: Option<crate::imports::source::ImportFormat>,
    mode: crate::imports::job::ImportMode,
    dry_run: bool,
    mapping: Option<Uuid>,
    report: Option<std::path::PathBuf>,
}

fn import_file(
    settings: &Settings,
    path: &std::path::Path,
    username: &str,
    options: ImportOptions,
) -> Result<ExitCode, String> {
    use crate::auth::permissions::{allows, Action};
    use crate::imports::job::{self, ImportStatus, NewJob};
    use crate::imports::mapping;
    use crate::imports::run::{self, Request};
    use crate::imports::source::ImportFormat;
    use sha2::{Digest, Sha256};
    // Below the server's requests, before any thread starts (they inherit
    // it); its session's group too when started with `setsid -w`.
    crate::imports::priority::lower_this_process();
    let format = match options.format {
        Some(format) => format,
        None => match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => ImportFormat::Csv,
            Some("jsonl" | "ndjson") => ImportFormat::Jsonl,
            Some("xlsx") => ImportFormat::Xlsx,
            _ => return Err("say the file's format: --format csv|jsonl|xlsx".into()),
        },
    };
    let (db, _) = open_for_import(settings)?;
    let user = account_named(&db, username)?;
    if !user.active || !allows(user.role, Action::ImportDetainees) {
        return Err(format!("{} may not import files", user.username));
    }
    let mapping = match options.mapping {
        None => None,
        Some(id) => {
            let organization = user.organization_id;
            let saved = db
                .read_blocking(|conn| mapping::load(conn, organization, id))
                .map_err(describe)?
                .ok_or_else(|| format!("no mapping {id} in {}'s organisation", user.username))?;
            Some(saved)
        }
    };
    // The job reads a copy, taken while hashing: the file it imports is the
    // file its `import.start` entry names, whatever happens to the original.
    let id = Uuid::now_v7();
    let imports = crate::imports::queue::Imports::for_settings(settings)
        .map_err(|e| format!("the imports directory: {e}"))?;
    let upload = imports.upload(id);
    let mut hasher = Sha256::new();
    let bytes = {
        let mut source =
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let copy = std::fs::File::create(upload.path()).map_err(|e| e.to_string())?;
        let mut tee = HashingWriter {
            inner: std::io::BufWriter::new(copy),
            hasher: &mut hasher,
        };
        let bytes =
            std::io::copy(&mut source, &mut tee).map_err(|e| format!("{}: {e}", path.display()))?;
        std::io::Write::flush(&mut tee.inner).map_err(|e| e.to_string())?;
        bytes
    };
    let fingerprints = Fingerprints::for_database(&settings.fingerprint_key_file, &db)
        .map_err(|e| e.to_string())?;
    let caller = crate::auth::Caller {
        user,
        session_id: Uuid::nil(),
        second_factor: None,
        enrolment_only: false,
    };
    let request = Request {
        job: NewJob {
            id,
            organization_id: caller.user.organization_id,
            created_by: caller.user.id,
            format,
            mode: options.mode,
            dry_run: options.dry_run,
            mapping_id: options.mapping,
            file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            file_sha256: hex::encode(hasher.finalize()),
            file_bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            runner: job::Runner::this_process(job::RunnerKind::Cli),
        },
        mapping,
        path: upload.path().to_owned(),
        actor: caller.actor(),
        origin: Origin::system("cli"),
    };
    crate::imports::routes::queue(&db, &request).map_err(describe)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>9} [{bar:30}] {pos}/{len} rows  {per_sec}  ETA {eta}",
        )
        .map_err(|e| e.to_string())?
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let pacing = crate::imports::pacing::Pacing::new(settings.import_yield);
    let ended = run::run(&db, &fingerprints, &request, pacing, &mut |progress| {
        bar.set_length(u64::try_from(progress.rows_total).unwrap_or(0));
        bar.set_message(match (progress.yielding, progress.checking) {
            (true, _) => "yielding",
            (false, true) => "checking",
            (false, false) => "importing",
        });
        bar.set_position(u64::try_from(progress.counts.rows_done).unwrap_or(0));
    })
    .map_err(describe)?;
    bar.finish_and_clear();
    drop(upload);
    let c = &ended.counts;
    eprintln!(
        "sijill: import {} {} in {:.1} s: {} rows, {} created, {} updated, {} unchanged, {} invalid, {} possible duplicates{}{}",
        ended.id,
        ended.status,
        started.elapsed().as_secs_f64(),
        c.rows_done,
        c.created,
        c.updated,
        c.unchanged,
        c.invalid,
        c.possible_duplicates,
        if ended.dry_run { " (dry run: nothing committed)" } else { "" },
        if ended.yielded_ms > 0 {
            format!(
                "; paused {:.1} s in all while others were served",
                ended.yielded_ms as f64 / 1000.0
            )
        } else {
            String::new()
        },
    );
    if let Some(error) = &ended.error {
        eprintln!("sijill: {error}");
    }
    // The report, from the job's stored lines: the same as GET /imports/{id}/report.
    let mut out: Box<dyn std::io::Write> = match &options.report {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::sink()),
    };
    let mut shown = 0;
    let mut after = 0;
    let head = crate::imports::routes::report_csv(&[], true).map_err(describe)?;
    out.write_all(&head).map_err(|e| e.to_string())?;
    loop {
        let id = ended.id;
        let lines = db
            .read_blocking(|conn| job::report_lines(conn, id, after, 2_000))
            .map_err(describe)?;
        let Some((last, _)) = lines.last() else { break };
        after = *last;
        let lines: Vec<_> = lines.into_iter().map(|(_, line)| line).collect();
        if options.report.is_none() {
            for line in lines.iter().take(20usize.saturating_sub(shown)) {
                eprintln!(
                    "  row {} {} {}: {}",
                    line.row, line.column, line.code, line.message
                );
                shown += 1;
            }
        }
        out.write_all(&crate::imports::routes::report_csv(&lines, false).map_err(describe)?)
            .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    match &options.report {
        Some(path) => eprintln!("sijill: the report is in {}", path.display()),
        None if shown == 20 => eprintln!(
            "  … the whole report: --report FILE, or GET /api/v1/imports/{}/report",
            ended.id
        ),
        None => {}
    }
    Ok(if ended.status == ImportStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes through to `inner`, hashing what passes.
struct HashingWriter<'h, W: std::io::Write> {
    inner: W,
    hasher: &'h mut sha2::Sha256,
}

impl<W: std::io::Write> std::io::Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Standard output, or `path` written as `path.partial` until whole.
fn open_output(path: Option<&std::path::Path>) -> Result<Box<dyn std::io::Write>, String> {
    Ok(match path {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(partial(path)).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Put a whole output file in its place.
fn finish_output(path: Option<&std::path::Path>) -> Result<(), String> {
    match path {
        Some(path) => {
            std::fs::rename(partial(path), path).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => Ok(()),
    }
}

/// Where a file is written before it is whole.
fn partial(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    name.into()
}

fn backup(settings: &Settings, dest: &std::path::Path) -> Result<ExitCode, String> {
    if dest.exists() {
        return Err(format!(
            "{} exists already: choose a new file",
            dest.display()
        ));
    }
    let db = open_for_reading(settings)?;
    let copied = crate::db::backup::sqlite_copy(&db, &partial(dest)).map_err(describe)?;
    std::fs::rename(partial(dest), dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    println!(
        "sijill: {} written ({copied} bytes), a consistent copy as of its start",
        dest.display()
    );
    eprintln!(
        "sijill: the copy needs the key files of {} to serve: {}, {}, {}, {} and the data key {} \
         (id {}), without which its source notes and attachments cannot be read. Keep them \
         apart from the copy, and safe. Attachment contents are not in the copy: back up {} \
         as well",
        settings.data_dir.display(),
        settings.token_key_file.display(),
        settings.audit_key_file.display(),
        settings.fingerprint_key_file.display(),
        settings.mfa_key_file.display(),
        settings.data_key_file.display(),
        db.data_key().map_or("unknown", |k| k.id()),
        settings.attachment_store.clone().unwrap_or_else(|| settings
            .data_dir
            .join("attachments")
            .display()
            .to_string()),
    );
    Ok(ExitCode::SUCCESS)
}

fn verify_attachments(settings: &Settings) -> Result<ExitCode, String> {
    let db = open_for_reading(settings)?;
    let storage = crate::startup::open_attachment_store(settings).map_err(|e| e.to_string())?;
    let key = db.data_key().cloned().ok_or("no data key")?;
    let runtime = actix_web::rt::System::new();
    let report = runtime
        .block_on(crate::attachments::verify::verify(
            &db,
            &storage,
            &key,
            |_| {},
        ))
        .map_err(describe)?;
    for finding in &report.findings {
        println!(
            "object {} ({}): {}",
            finding.object_id.as_deref().unwrap_or("-"),
            finding.stored_as,
            finding.problem
        );
    }
    for name in &report.unrecorded {
        println!(
            "object {name}: in the store, but no record names it (an upload or purge cut short)"
        );
    }
    if report.recent > 0 {
        println!(
            "{} objects no record names yet were written in the last ten minutes (uploads may \
             be under way): not judged",
            report.recent
        );
    }
    println!(
        "checked {} objects ({} bytes) in {}: {} changed or missing, {} unrecorded",
        report.checked,
        report.bytes,
        storage.location,
        report.findings.len(),
        report.unrecorded.len()
    );
    Ok(if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn rotate_keys(settings: &Settings) -> Result<ExitCode, String> {
    // No server may run meanwhile (it would seal new notes under the old
    // key): the serve lock is taken exclusively for the rotation — refused
    // while a server runs, and no server starts until it is done.
    let _serve_lock =
        crate::db::ServeLock::exclusive(&settings.database_url).map_err(|e| e.to_string())?;
    // Opened without the data key: a rotation in progress refuses every
    // other start.
    let db = Database::open(&settings.database_url, 2).map_err(|e| e.to_string())?;
    let storage = crate::startup::open_attachment_store(settings).map_err(|e| e.to_string())?;
    let runtime = actix_web::rt::System::new();
    let rotated = runtime
        .block_on(crate::data_key::rotate::rotate(settings, &db, &storage))
        .map_err(describe)?;
    println!(
        "sijill: the data key is now {} (was {}): {} source notes and {} attachment objects \
         re-encrypted",
        rotated.to, rotated.from, rotated.notes, rotated.objects
    );
    eprintln!(
        "sijill: the old key is kept as {}.retired-{}: backups made before now need it. Move it \
         off this machine with those backups, or destroy it once they are gone (docs/security.md)",
        settings.data_key_file.display(),
        rotated.from
    );
    Ok(ExitCode::SUCCESS)
}

fn verify_audit(
    settings: &Settings,
    checkpoint: Option<(i64, String)>,
) -> Result<ExitCode, String> {
    let db = open_for_reading(settings)?;
    let report = db
        .read_blocking(|conn| {
            audit::store::verify(conn, checkpoint.as_ref().map(|(s, h)| (*s, h.as_str())))
        })
        .map_err(describe)?;
    println!(
        "checked {} entries; head seq {} hash {}",
        report.checked, report.head_seq, report.head_hash
    );
    if let Some(seq) = report.first_bad_seq {
        println!("BROKEN: the chain breaks at seq {seq}");
    }
    match report.checkpoint_held {
        Some(true) => println!("the checkpoint is held"),
        Some(false) => println!("BROKEN: the log no longer holds the checkpoint"),
        None => {}
    }
    if report.ok() {
        println!("ok");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// What `seed-demo` adds for load tests.
struct SyntheticFiles {
    files: usize,
    seed: u64,
    ids_out: Option<std::path::PathBuf>,
    queries_out: Option<std::path::PathBuf>,
    queries: usize,
}

fn seed_demo(settings: &Settings, synthetic: SyntheticFiles) -> Result<ExitCode, String> {
    let SyntheticFiles {
        files,
        seed,
        ids_out,
        queries_out,
        queries,
    } = synthetic;
    let (db, hasher) = open_for_writing(settings)?;
    let password = std::env::var("SIJILL_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    let fingerprints = Fingerprints::for_database(&settings.fingerprint_key_file, &db)
        .map_err(|e| e.to_string())?;
    let seeded = crate::demo::seed(&db, &hasher, password.as_ref(), files, seed, &fingerprints)
        .map_err(describe)?;
    println!(
        "sijill: demo data loaded: organisation `{}`, accounts `{}` and `{}`{}",
        crate::demo::DEMO_ORGANIZATION,
        crate::demo::DEMO_CASEWORKER,
        crate::demo::DEMO_AUDITOR,
        if files > 0 {
            format!(", {files} synthetic files")
        } else {
            String::new()
        }
    );
    crate::demo::announce(&seeded);
    if let Some(path) = ids_out {
        let text: String = seeded.files.iter().map(|id| format!("{id}\n")).collect();
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = queries_out {
        let generator = crate::synthetic::Generator::new(seed);
        let step = (seeded.files.len() / queries.max(1)).max(1);
        let text: String = seeded
            .files
            .iter()
            .enumerate()
            .step_by(step)
            .take(queries)
            .map(|(n, id)| format!("{}\t{id}\n", generator.query(n as u64)))
            .collect();
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn eval_search(cases: &std::path::Path, files: &std::path::Path) -> Result<ExitCode, String> {
    use crate::search::eval;
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let files =
        eval::files_from_csv(&read(files)?).map_err(|e| format!("{}: {e}", files.display()))?;
    let cases =
        eval::cases_from_csv(&read(cases)?).map_err(|e| format!("{}: {e}", cases.display()))?;
    let result = eval::evaluate(&files, &cases);
    println!(
        "files {}  queries {}  recall@1 {:.3}  recall@5 {:.3}  MRR {:.3}",
        files.len(),
        result.queries,
        result.recall_at_1,
        result.recall_at_5,
        result.mrr
    );
    Ok(ExitCode::SUCCESS)
}
