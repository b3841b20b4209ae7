//! `sijill seed-demo`: a small, realistic data set for a first look.
//!
//! The facilities are real places named in the public record. The people are
//! fictional: their names are combinations of common Syrian names, given in
//! Latin and Arabic script, and match no one on purpose.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::audit::Origin;
use crate::audit::{Actor, Fingerprints};
use crate::auth::password::PasswordHasher;
use crate::db::Database;
use crate::detainees::custody::{self, NewCustodyEvent};
use crate::detainees::model::{Category, DetaineeFields, Sex};
use crate::detainees::scope::FileScope;
use crate::detainees::store::{self as detainees, Author};
use crate::detainees::DetaineeStatus;
use crate::error::AppError;
use crate::facilities::model::FacilityFields;
use crate::facilities::{store as facilities, FacilityKind, FacilityStatus};
use crate::organizations::{store as organizations, OrganizationKind};
use crate::users::store::{self as users, NewUserRecord};
use crate::users::Role;

pub const DEMO_ORGANIZATION: &str = "Demo Documentation Network";
pub const DEMO_CASEWORKER: &str = "demo.caseworker";
pub const DEMO_AUDITOR: &str = "demo.auditor";

struct FacilitySeed {
    name: &'static str,
    name_ar: &'static str,
    kind: FacilityKind,
    governorate: &'static str,
    location: &'static str,
    authority: &'static str,
    status: FacilityStatus,
}

const FACILITIES: &[FacilitySeed] = &[
    FacilitySeed {
        name: "Sednaya Military Prison",
        name_ar: "سجن صيدنايا العسكري",
        kind: FacilityKind::MilitaryPrison,
        governorate: "Rif Dimashq",
        location: "Sednaya",
        authority: "Military Police",
        status: FacilityStatus::Liberated,
    },
    FacilitySeed {
        name: "Adra Central Prison",
        name_ar: "سجن عدرا المركزي",
        kind: FacilityKind::CivilPrison,
        governorate: "Rif Dimashq",
        location: "Adra",
        authority: "Ministry of Interior",
        status: FacilityStatus::Liberated,
    },
    FacilitySeed {
        name: "Aleppo Central Prison",
        name_ar: "سجن حلب المركزي",
        kind: FacilityKind::CivilPrison,
        governorate: "Aleppo",
        location: "Aleppo",
        authority: "Ministry of Interior",
        status: FacilityStatus::Liberated,
    },
    FacilitySeed {
        name: "Hama Central Prison",
        name_ar: "سجن حماة المركزي",
        kind: FacilityKind::CivilPrison,
        governorate: "Hama",
        location: "Hama",
        authority: "Ministry of Interior",
        status: FacilityStatus::Liberated,
    },
    FacilitySeed {
        name: "Homs Central Prison",
        name_ar: "سجن حمص المركزي",
        kind: FacilityKind::CivilPrison,
        governorate: "Homs",
        location: "Homs",
        authority: "Ministry of Interior",
        status: FacilityStatus::Liberated,
    },
    FacilitySeed {
        name: "Military Intelligence Branch 215",
        name_ar: "فرع المخابرات العسكرية 215",
        kind: FacilityKind::IntelligenceBranch,
        governorate: "Damascus",
        location: "Kafr Sousa",
        authority: "Military Intelligence Directorate",
        status: FacilityStatus::Liberated,
    },
    FacilitySeed {
        name: "Palestine Branch (Branch 235)",
        name_ar: "فرع فلسطين (الفرع 235)",
        kind: FacilityKind::IntelligenceBranch,
        governorate: "Damascus",
        location: "Damascus",
        authority: "Military Intelligence Directorate",
        status: FacilityStatus::Liberated,
    },
    FacilitySeed {
        name: "Air Force Intelligence Investigation Branch, Mezzeh Airport",
        name_ar: "فرع التحقيق في المخابرات الجوية - مطار المزة",
        kind: FacilityKind::IntelligenceBranch,
        governorate: "Damascus",
        location: "Mezzeh",
        authority: "Air Force Intelligence Directorate",
        status: FacilityStatus::Liberated,
    },
];

/// (Latin, Arabic) pairs for composing fictional names.
const MEN: &[(&str, &str)] = &[
    ("Mohammed", "محمد"),
    ("Ahmad", "أحمد"),
    ("Khaled", "خالد"),
    ("Omar", "عمر"),
    ("Yusuf", "يوسف"),
    ("Ibrahim", "إبراهيم"),
    ("Mahmoud", "محمود"),
    ("Hassan", "حسن"),
    ("Abdulrahman", "عبد الرحمن"),
    ("Mazen", "مازن"),
    ("Ghassan", "غسان"),
    ("Shadi", "شادي"),
    ("Firas", "فراس"),
    ("Bassel", "باسل"),
    ("Tareq", "طارق"),
    ("Samer", "سامر"),
    ("Anas", "أنس"),
    ("Hussam", "حسام"),
];
const WOMEN: &[(&str, &str)] = &[
    ("Fatima", "فاطمة"),
    ("Rima", "ريما"),
    ("Nour", "نور"),
    ("Hala", "هالة"),
    ("Rania", "رانيا"),
    ("Maryam", "مريم"),
    ("Zeinab", "زينب"),
    ("Lama", "لمى"),
    ("Salma", "سلمى"),
];
const FAMILIES: &[(&str, &str)] = &[
    ("Al-Hassan", "الحسن"),
    ("Al-Khatib", "الخطيب"),
    ("Haddad", "حداد"),
    ("Al-Masri", "المصري"),
    ("Al-Halabi", "الحلبي"),
    ("Al-Homsi", "الحمصي"),
    ("Qassem", "قاسم"),
    ("Darwish", "درويش"),
    ("Al-Ali", "العلي"),
    ("Al-Ahmad", "الأحمد"),
    ("Al-Shami", "الشامي"),
    ("Kurdi", "كردي"),
];
const PLACES: &[&str] = &[
    "Douma",
    "Daraya",
    "Homs",
    "Hama",
    "Aleppo",
    "Idlib",
    "Deir ez-Zor",
    "Daraa",
    "Latakia",
    "Raqqa",
    "Zabadani",
    "Harasta",
];

/// A fictional file, deterministic in `n`.
fn demo_fields(n: usize, facility: Option<Uuid>) -> DetaineeFields {
    let woman = n % 5 == 3;
    let (given, given_ar) = if woman {
        WOMEN[n % WOMEN.len()]
    } else {
        MEN[n % MEN.len()]
    };
    let (father, father_ar) = MEN[(n * 7 + 3) % MEN.len()];
    let (family, family_ar) = FAMILIES[(n * 5 + 1) % FAMILIES.len()];
    let year = 2011 + (n % 9) as i32;
    let month = 1 + (n * 5 % 12);
    let status = match n % 7 {
        0..=2 => DetaineeStatus::Disappeared,
        3 | 4 => DetaineeStatus::Detained,
        5 => DetaineeStatus::Deceased,
        _ => DetaineeStatus::Unknown,
    };
    let (category, major, summary) = match n % 9 {
        4 => (
            Category::CriminalAccusation,
            false,
            Some("Accused of smuggling fuel; no trial record found."),
        ),
        8 => (
            Category::CriminalAccusation,
            true,
            Some("Accused by a local council of taking part in killings at a checkpoint in 2013."),
        ),
        7 => (Category::Unknown, false, None),
        _ => (Category::Political, false, None),
    };
    let detained_on = match n % 3 {
        0 => format!("{year}"),
        1 => format!("{year}-{month:02}"),
        _ => format!("{year}-{month:02}-{:02}", 1 + n % 28),
    };
    DetaineeFields {
        full_name: format!("{given} {father} {family}"),
        name_ar: Some(format!("{given_ar} {father_ar} {family_ar}")),
        aliases: if n.is_multiple_of(4) {
            vec![format!("Abu {father}")]
        } else {
            Vec::new()
        },
        sex: if woman { Sex::Female } else { Sex::Male },
        birth_date: format!("{}", 1960 + (n * 3 % 40)).parse().ok(),
        place_of_origin: Some(PLACES[n % PLACES.len()].to_owned()),
        status,
        category,
        major_crimes_accusation: major,
        accusation_summary: summary.map(str::to_owned),
        facility_id: facility,
        detained_on: detained_on.parse().ok(),
        last_seen_on: format!("{}", (year + 1 + (n % 3) as i32).min(2024))
            .parse()
            .ok(),
        released_on: None,
        notes: Some(format!(
            "Demo file {n}: a fictional person, for trying sijill out."
        )),
        external_ref: None,
    }
}

pub struct Seeded {
    pub caseworker_password: Option<SecretString>,
    pub auditor_password: Option<SecretString>,
    pub files: Vec<Uuid>,
}

/// Load the demo set (once), then `extra_files` synthetic files for load
/// tests, people `0..extra_files` of `synthetic_seed`.
pub fn seed(
    db: &Database,
    hasher: &PasswordHasher,
    password: Option<&SecretString>,
    extra_files: usize,
    synthetic_seed: u64,
    fingerprints: &Fingerprints,
) -> Result<Seeded, AppError> {
    let origin = Origin::system("seed-demo");
    let actor = Actor::system();
    let existing = db.read_blocking(|conn| organizations::find_by_name(conn, DEMO_ORGANIZATION))?;
    let (org_id, caseworker_id, facility_ids, passwords) = match existing {
        Some(org) => {
            let caseworker = db
                .read_blocking(|conn| users::find_for_login(conn, DEMO_CASEWORKER))?
                .ok_or_else(|| {
                    AppError::conflict("the demo organisation exists without its caseworker")
                })?
                .0;
            let facility_ids = db.read_blocking(|conn| {
                Ok(facilities::list(conn, &Default::default(), None, 100)?
                    .into_iter()
                    .map(|f| f.id)
                    .collect::<Vec<_>>())
            })?;
            (org.id, caseworker.id, facility_ids, None)
        }
        None => {
            let make = |username: &str| -> Result<(SecretString, String), AppError> {
                let secret = password
                    .cloned()
                    .unwrap_or_else(crate::bootstrap::random_password);
                let hash = hasher.hash_new_blocking(&secret, &[username])?;
                Ok((secret, hash))
            };
            let (caseworker_password, caseworker_hash) = make(DEMO_CASEWORKER)?;
            let (auditor_password, auditor_hash) = make(DEMO_AUDITOR)?;
            let (org_id, caseworker_id, facility_ids) = db.write_blocking(|conn| {
                let org = organizations::create(
                    conn,
                    &actor,
                    DEMO_ORGANIZATION,
                    OrganizationKind::Documentation,
                    &origin,
                )?;
                let mut caseworker_id = Uuid::nil();
                for (username, display_name, role, password_hash) in [
                    (
                        DEMO_CASEWORKER,
                        "Demo Caseworker",
                        Role::Caseworker,
                        &caseworker_hash,
                    ),
                    (DEMO_AUDITOR, "Demo Auditor", Role::Auditor, &auditor_hash),
                ] {
                    let record = NewUserRecord {
                        username,
                        display_name,
                        role,
                        organization_id: org.id,
                        password_hash,
                    };
                    let user = users::create(conn, &actor, record, &origin)?;
                    if role == Role::Caseworker {
                        caseworker_id = user.id;
                    }
                }
                let mut facility_ids = Vec::new();
                for seed in FACILITIES {
                    let fields = FacilityFields {
                        name: seed.name.to_owned(),
                        name_ar: Some(seed.name_ar.to_owned()),
                        kind: seed.kind,
                        governorate: Some(seed.governorate.to_owned()),
                        location: Some(seed.location.to_owned()),
                        latitude: None,
                        longitude: None,
                        controlling_authority: Some(seed.authority.to_owned()),
                        status: seed.status,
                        notes: Some("Opened after 8 December 2024.".to_owned()),
                    };
                    facility_ids.push(facilities::create(conn, &actor, fields, &origin)?.id);
                }
                let author = Author {
                    organization_id: org.id,
                    user_id: caseworker_id,
                };
                // A few dozen fictional files, some with two custody events:
                // a security branch first, then Sednaya.
                for n in 0..36 {
                    let facility = facility_ids[n % facility_ids.len()];
                    let fields = demo_fields(n, Some(facility));
                    let source = (n.is_multiple_of(2))
                        .then(|| format!("Demo source {n}: testimony of a former cellmate."));
                    let file = detainees::create(
                        conn,
                        &actor,
                        author,
                        fields.clone(),
                        source,
                        fingerprints,
                        &origin,
                    )?;
                    if n.is_multiple_of(3) {
                        let branch = facility_ids[5 + n % 3];
                        for (facility_id, from, to) in [
                            (branch, fields.detained_on, None),
                            (facility_ids[0], None, fields.last_seen_on),
                        ] {
                            let event = NewCustodyEvent {
                                facility_id,
                                from,
                                to,
                                note: None,
                            };
                            custody::record(
                                conn,
                                &actor,
                                file.id,
                                FileScope::All,
                                event,
                                caseworker_id,
                                &origin,
                            )?;
                        }
                    }
                }
                Ok((org.id, caseworker_id, facility_ids))
            })?;
            (
                org_id,
                caseworker_id,
                facility_ids,
                Some((caseworker_password, auditor_password)),
            )
        }
    };
    // Synthetic files for load tests (realistic names, see `synthetic`),
    // a thousand a transaction: one chain lock and a few multi-row
    // statements per batch, every file with its own audit entry.
    let generator = crate::synthetic::Generator::new(synthetic_seed);
    let author = Author {
        organization_id: org_id,
        user_id: caseworker_id,
    };
    // Reserved a batch at a time as it grows: a mistyped count is a long
    // run to stop, not an allocation that aborts the process.
    let mut files = Vec::new();
    let started = std::time::Instant::now();
    while files.len() < extra_files {
        let start = files.len() as u64;
        let batch = (extra_files - files.len()).min(1000) as u64;
        let fields: Vec<_> = (start..start + batch)
            .map(|n| (generator.file(n, &facility_ids), None))
            .collect();
        let created = db.write_blocking(|conn| {
            detainees::create_all(conn, &actor, author, fields, fingerprints, &origin)
        })?;
        files.extend(created.into_iter().map(|f| f.id));
        if files.len() % 100_000 == 0 {
            tracing::info!(
                files = files.len(),
                seconds = started.elapsed().as_secs(),
                "synthetic files written"
            );
        }
    }
    db.refresh_statistics(
        crate::detainees::store::BULK_LOADED_TABLES,
        files.len() as i64,
    );
    let (caseworker_password, auditor_password) = match passwords {
        Some((c, a)) => (Some(c), Some(a)),
        None => (None, None),
    };
    Ok(Seeded {
        caseworker_password: password.is_none().then_some(caseworker_password).flatten(),
        auditor_password: password.is_none().then_some(auditor_password).flatten(),
        files,
    })
}

/// Show generated passwords once.
pub fn announce(seeded: &Seeded) {
    for (user, password) in [
        (DEMO_CASEWORKER, &seeded.caseworker_password),
        (DEMO_AUDITOR, &seeded.auditor_password),
    ] {
        if let Some(password) = password {
            println!("{user}: {}", password.expose_secret());
        }
    }
}
