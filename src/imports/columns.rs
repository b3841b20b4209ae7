//! Which field a spreadsheet's column holds, from its header: the field's
//! own name, or a header lists commonly carry, in English or Arabic
//! (folded as cells are, `values::folded`). Parts of a name in columns of
//! their own (`الاسم`, `اسم الأب`, `الكنية`) are joined, in that order,
//! into one name. A header no rule knows is reported and its column left
//! out — never matched by resemblance.

use super::values::folded;

/// A field of a file that a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    FullName,
    NameAr,
    Aliases,
    Sex,
    BirthDate,
    PlaceOfOrigin,
    Status,
    Category,
    MajorCrimesAccusation,
    AccusationSummary,
    Facility,
    DetainedOn,
    LastSeenOn,
    ReleasedOn,
    Notes,
    SourceNotes,
    /// The list's own identifier of the person.
    ExternalRef,
}

/// A part of a name kept in a column of its own; joined in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NamePart {
    Given,
    Father,
    Grandfather,
    Family,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Field(Field),
    NamePart(NamePart),
}

/// Headers, folded, and the column each names. A field's own name (as the
/// API and the CSV export write it) is always one of them.
const HEADERS: &[(&str, Column)] = &[
    ("full_name", Column::Field(Field::FullName)),
    ("full name", Column::Field(Field::FullName)),
    ("name", Column::Field(Field::FullName)),
    ("name (english)", Column::Field(Field::FullName)),
    ("english name", Column::Field(Field::FullName)),
    ("الاسم بالانكليزيه", Column::Field(Field::FullName)),
    ("الاسم بالانجليزيه", Column::Field(Field::FullName)),
    ("name_ar", Column::Field(Field::NameAr)),
    ("arabic name", Column::Field(Field::NameAr)),
    ("name (arabic)", Column::Field(Field::NameAr)),
    ("الاسم الكامل", Column::Field(Field::NameAr)),
    ("الاسم الثلاثي", Column::Field(Field::NameAr)),
    ("الاسم الرباعي", Column::Field(Field::NameAr)),
    ("الاسم بالعربي", Column::Field(Field::NameAr)),
    ("الاسم بالعربيه", Column::Field(Field::NameAr)),
    ("given_name", Column::NamePart(NamePart::Given)),
    ("father_name", Column::NamePart(NamePart::Father)),
    ("grandfather_name", Column::NamePart(NamePart::Grandfather)),
    ("family_name", Column::NamePart(NamePart::Family)),
    ("الاسم", Column::NamePart(NamePart::Given)),
    ("الاسم الاول", Column::NamePart(NamePart::Given)),
    ("first name", Column::NamePart(NamePart::Given)),
    ("given name", Column::NamePart(NamePart::Given)),
    ("اسم الاب", Column::NamePart(NamePart::Father)),
    ("father's name", Column::NamePart(NamePart::Father)),
    ("father name", Column::NamePart(NamePart::Father)),
    ("اسم الجد", Column::NamePart(NamePart::Grandfather)),
    (
        "grandfather's name",
        Column::NamePart(NamePart::Grandfather),
    ),
    ("الكنيه", Column::NamePart(NamePart::Family)),
    ("اللقب", Column::NamePart(NamePart::Family)),
    ("العائله", Column::NamePart(NamePart::Family)),
    ("الشهره", Column::NamePart(NamePart::Family)),
    ("family name", Column::NamePart(NamePart::Family)),
    ("surname", Column::NamePart(NamePart::Family)),
    ("last name", Column::NamePart(NamePart::Family)),
    ("aliases", Column::Field(Field::Aliases)),
    ("alias", Column::Field(Field::Aliases)),
    ("also known as", Column::Field(Field::Aliases)),
    ("اسماء اخري", Column::Field(Field::Aliases)),
    ("الاسم المستعار", Column::Field(Field::Aliases)),
    ("sex", Column::Field(Field::Sex)),
    ("gender", Column::Field(Field::Sex)),
    ("الجنس", Column::Field(Field::Sex)),
    ("birth_date", Column::Field(Field::BirthDate)),
    ("date of birth", Column::Field(Field::BirthDate)),
    ("birth date", Column::Field(Field::BirthDate)),
    ("dob", Column::Field(Field::BirthDate)),
    ("تاريخ الميلاد", Column::Field(Field::BirthDate)),
    ("تاريخ الولاده", Column::Field(Field::BirthDate)),
    ("المواليد", Column::Field(Field::BirthDate)),
    ("التولد", Column::Field(Field::BirthDate)),
    ("place_of_origin", Column::Field(Field::PlaceOfOrigin)),
    ("place of origin", Column::Field(Field::PlaceOfOrigin)),
    ("hometown", Column::Field(Field::PlaceOfOrigin)),
    ("place of birth", Column::Field(Field::PlaceOfOrigin)),
    ("مكان الولاده", Column::Field(Field::PlaceOfOrigin)),
    ("مكان الميلاد", Column::Field(Field::PlaceOfOrigin)),
    ("محل الولاده", Column::Field(Field::PlaceOfOrigin)),
    ("البلده", Column::Field(Field::PlaceOfOrigin)),
    ("status", Column::Field(Field::Status)),
    ("الحاله", Column::Field(Field::Status)),
    ("الوضع", Column::Field(Field::Status)),
    ("الوضع الحالي", Column::Field(Field::Status)),
    ("category", Column::Field(Field::Category)),
    ("التصنيف", Column::Field(Field::Category)),
    ("نوع الاعتقال", Column::Field(Field::Category)),
    (
        "major_crimes_accusation",
        Column::Field(Field::MajorCrimesAccusation),
    ),
    (
        "major crimes accusation",
        Column::Field(Field::MajorCrimesAccusation),
    ),
    (
        "accused of major crimes",
        Column::Field(Field::MajorCrimesAccusation),
    ),
    (
        "متهم بجرائم جسيمه",
        Column::Field(Field::MajorCrimesAccusation),
    ),
    (
        "accusation_summary",
        Column::Field(Field::AccusationSummary),
    ),
    ("accusation", Column::Field(Field::AccusationSummary)),
    ("charges", Column::Field(Field::AccusationSummary)),
    ("التهمه", Column::Field(Field::AccusationSummary)),
    ("التهم", Column::Field(Field::AccusationSummary)),
    ("facility_id", Column::Field(Field::Facility)),
    ("facility_name", Column::Field(Field::Facility)),
    ("facility", Column::Field(Field::Facility)),
    ("place of detention", Column::Field(Field::Facility)),
    ("prison", Column::Field(Field::Facility)),
    ("مكان الاحتجاز", Column::Field(Field::Facility)),
    ("مكان الاعتقال", Column::Field(Field::Facility)),
    ("السجن", Column::Field(Field::Facility)),
    ("detained_on", Column::Field(Field::DetainedOn)),
    ("date of arrest", Column::Field(Field::DetainedOn)),
    ("arrest date", Column::Field(Field::DetainedOn)),
    ("date of detention", Column::Field(Field::DetainedOn)),
    ("تاريخ الاعتقال", Column::Field(Field::DetainedOn)),
    ("تاريخ الاحتجاز", Column::Field(Field::DetainedOn)),
    ("last_seen_on", Column::Field(Field::LastSeenOn)),
    ("last seen", Column::Field(Field::LastSeenOn)),
    ("اخر مشاهده", Column::Field(Field::LastSeenOn)),
    ("تاريخ اخر مشاهده", Column::Field(Field::LastSeenOn)),
    ("released_on", Column::Field(Field::ReleasedOn)),
    ("release date", Column::Field(Field::ReleasedOn)),
    ("date of release", Column::Field(Field::ReleasedOn)),
    ("تاريخ الافراج", Column::Field(Field::ReleasedOn)),
    ("notes", Column::Field(Field::Notes)),
    ("ملاحظات", Column::Field(Field::Notes)),
    ("source_notes", Column::Field(Field::SourceNotes)),
    ("source", Column::Field(Field::SourceNotes)),
    ("sources", Column::Field(Field::SourceNotes)),
    ("المصدر", Column::Field(Field::SourceNotes)),
    ("مصدر المعلومات", Column::Field(Field::SourceNotes)),
    ("external_ref", Column::Field(Field::ExternalRef)),
    ("ref", Column::Field(Field::ExternalRef)),
    ("record id", Column::Field(Field::ExternalRef)),
    ("case number", Column::Field(Field::ExternalRef)),
    ("رقم الملف", Column::Field(Field::ExternalRef)),
    ("الرقم المرجعي", Column::Field(Field::ExternalRef)),
];

/// The column a header names, if a rule knows it.
pub fn column_of(header: &str) -> Option<Column> {
    let header = folded(header);
    HEADERS
        .iter()
        .find(|(known, _)| folded(known) == header)
        .map(|(_, column)| *column)
}

/// A name from its parts in columns of their own: the parts present,
/// trimmed, joined by one space in the order given, family, … ; `None`
/// when every part is empty.
pub fn joined_name(parts: &[(NamePart, &str)]) -> Option<String> {
    let mut parts: Vec<(NamePart, &str)> = parts
        .iter()
        .map(|(part, text)| (*part, text.trim()))
        .filter(|(_, text)| !text.is_empty())
        .collect();
    parts.sort_by_key(|(part, _)| *part);
    (!parts.is_empty()).then(|| {
        parts
            .iter()
            .map(|(_, text)| *text)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_either_language_and_the_fields_own_names() {
        for (header, column) in [
            ("الاسم", Column::NamePart(NamePart::Given)),
            ("اسم الأب", Column::NamePart(NamePart::Father)),
            ("الكنية", Column::NamePart(NamePart::Family)),
            ("تاريخ الاعتقال", Column::Field(Field::DetainedOn)),
            ("  Date of Arrest ", Column::Field(Field::DetainedOn)),
            ("الجنس", Column::Field(Field::Sex)),
            ("مكان الاحتجاز", Column::Field(Field::Facility)),
            ("الحالة", Column::Field(Field::Status)),
            ("full_name", Column::Field(Field::FullName)),
            ("name_ar", Column::Field(Field::NameAr)),
            ("source_notes", Column::Field(Field::SourceNotes)),
        ] {
            assert_eq!(column_of(header), Some(column), "{header}");
        }
        // Close is not known: reported, not matched by resemblance.
        assert_eq!(column_of("تاريخ الاعتقالات"), None);
        assert_eq!(column_of("status2"), None);
        // The export's server-owned columns are not fields to import.
        for owned in ["id", "reference", "version", "created_at", "review_status"] {
            assert_eq!(column_of(owned), None, "{owned}");
        }
    }

    #[test]
    fn name_parts_join_in_order() {
        let parts = [
            (NamePart::Family, " الحلبي "),
            (NamePart::Given, "محمد"),
            (NamePart::Father, "أحمد"),
            (NamePart::Grandfather, ""),
        ];
        assert_eq!(joined_name(&parts).as_deref(), Some("محمد أحمد الحلبي"));
        assert_eq!(joined_name(&[(NamePart::Given, "  ")]), None);
    }

    #[test]
    fn no_header_names_two_columns() {
        for (i, (a, first)) in HEADERS.iter().enumerate() {
            for (b, second) in &HEADERS[i + 1..] {
                if folded(a) == folded(b) {
                    assert_eq!(first, second, "{a} and {b} name two columns");
                }
            }
        }
    }
}
