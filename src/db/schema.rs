//! The one schema both engines share, kept by hand to match the two sets of
//! migrations (`migrations/postgres`, `migrations/sqlite`). Only portable
//! column types are used (Text, BigInt, Bool, Timestamp, and Double for a
//! facility's coordinates), so every query is written once.
//! UUIDs are stored as canonical lowercase text on both engines.

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        organization_id -> Text,
        active -> Bool,
        password_hash -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        second_factor -> Nullable<Text>,
    }
}

diesel::table! {
    totp_credentials (user_id) {
        user_id -> Text,
        id -> Text,
        secret_sealed -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_used_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        credential_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        user_version -> BigInt,
        credential_id -> Text,
        login_key -> Text,
        client_ip -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    key_checks (purpose) {
        purpose -> Text,
        check_value -> Text,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Text,
        login_key -> Text,
        client_ip -> Text,
        started_at -> Timestamp,
        outcome -> Text,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_username -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Text>,
        changes -> Text,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    facilities (id) {
        id -> Text,
        name -> Text,
        name_ar -> Nullable<Text>,
        kind -> Text,
        governorate -> Nullable<Text>,
        location -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        controlling_authority -> Nullable<Text>,
        status -> Text,
        notes -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    detainees (id) {
        id -> Text,
        reference -> Text,
        organization_id -> Text,
        full_name -> Text,
        name_ar -> Nullable<Text>,
        /// A JSON array of strings.
        aliases -> Text,
        sex -> Text,
        birth_date -> Nullable<Text>,
        place_of_origin -> Nullable<Text>,
        status -> Text,
        category -> Text,
        major_crimes_accusation -> Bool,
        accusation_summary -> Nullable<Text>,
        facility_id -> Nullable<Text>,
        detained_on -> Nullable<Text>,
        last_seen_on -> Nullable<Text>,
        released_on -> Nullable<Text>,
        notes -> Nullable<Text>,
        source_notes -> Nullable<Text>,
        review_status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        created_by -> Text,
        updated_at -> Timestamp,
        updated_by -> Text,
        archived_at -> Nullable<Timestamp>,
        merged_into -> Nullable<Text>,
        search_keys -> Nullable<Text>,
        /// The list's own identifier (imports); unique within an organisation.
        external_ref -> Nullable<Text>,
    }
}

diesel::table! {
    custody_events (id) {
        id -> Text,
        detainee_id -> Text,
        facility_id -> Text,
        from_date -> Nullable<Text>,
        to_date -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    access_log (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Text,
        actor_username -> Text,
        actor_role -> Text,
        action -> Text,
        entity_id -> Text,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        item_id -> Nullable<Text>,
    }
}

diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(detainees -> organizations (organization_id));
diesel::joinable!(detainees -> facilities (facility_id));
diesel::joinable!(custody_events -> detainees (detainee_id));
diesel::joinable!(custody_events -> facilities (facility_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(totp_credentials -> users (user_id));
diesel::joinable!(mfa_challenges -> users (user_id));

diesel::table! {
    import_jobs (id) {
        id -> Text,
        organization_id -> Text,
        created_by -> Text,
        format -> Text,
        mode -> Text,
        dry_run -> Bool,
        mapping_id -> Nullable<Text>,
        file_name -> Nullable<Text>,
        file_sha256 -> Text,
        file_bytes -> BigInt,
        status -> Text,
        rows_total -> Nullable<BigInt>,
        rows_done -> BigInt,
        created -> BigInt,
        updated -> BigInt,
        unchanged -> BigInt,
        invalid -> BigInt,
        possible_duplicates -> BigInt,
        error -> Nullable<Text>,
        cancel_requested -> Bool,
        runner -> Text,
        queued_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        yielded_ms -> BigInt,
    }
}

diesel::table! {
    import_report (job_id, line) {
        job_id -> Text,
        line -> BigInt,
        row_number -> BigInt,
        column_name -> Text,
        code -> Text,
        message -> Text,
    }
}

diesel::table! {
    import_mappings (id) {
        id -> Text,
        organization_id -> Text,
        name -> Text,
        definition -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachment_objects (id) {
        id -> Text,
        organization_id -> Text,
        sha256 -> Text,
        size -> BigInt,
        stored_as -> Text,
        key_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> Text,
        detainee_id -> Text,
        object_id -> Nullable<Text>,
        sha256 -> Text,
        size -> BigInt,
        media_type -> Text,
        filename -> Text,
        description -> Nullable<Text>,
        uploaded_by -> Text,
        uploaded_at -> Timestamp,
        archived_at -> Nullable<Timestamp>,
        archived_by -> Nullable<Text>,
        purged_at -> Nullable<Timestamp>,
        purged_by -> Nullable<Text>,
    }
}

diesel::joinable!(attachments -> detainees (detainee_id));
diesel::joinable!(attachments -> attachment_objects (object_id));

diesel::allow_tables_to_appear_in_same_query!(
    attachments,
    attachment_objects,
    import_jobs,
    import_report,
    import_mappings,
    organizations,
    users,
    sessions,
    refresh_tokens,
    totp_credentials,
    recovery_codes,
    mfa_challenges,
    login_attempts,
    audit_log,
    facilities,
    counters,
    detainees,
    custody_events,
    access_log,
    reviews,
    consultations,
    name_keys,
    merges,
);

diesel::table! {
    reviews (id) {
        id -> Text,
        detainee_id -> Text,
        file_organization_id -> Text,
        status -> Text,
        requested_by -> Text,
        reason -> Nullable<Text>,
        reviewer_id -> Nullable<Text>,
        reviewer_organization_id -> Nullable<Text>,
        decision -> Nullable<Text>,
        rationale -> Nullable<Text>,
        confirmed_by -> Nullable<Text>,
        confirmation_note -> Nullable<Text>,
        prior_review_status -> Text,
        accusation_at_open -> Nullable<Text>,
        opened_at -> Timestamp,
        claimed_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        confirmed_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    consultations (id) {
        id -> Text,
        review_id -> Text,
        representative_id -> Text,
        organization_id -> Text,
        position -> Text,
        statement -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    name_keys (key, organization_id, detainee_id) {
        key -> Text,
        organization_id -> Text,
        detainee_id -> Text,
    }
}

diesel::table! {
    merges (id) {
        id -> Text,
        survivor_id -> Text,
        duplicate_id -> Text,
        survivor_before -> Text,
        survivor_version -> BigInt,
        moved_custody -> Text,
        merged_at -> Timestamp,
        merged_by -> Text,
        unmerged_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(reviews -> detainees (detainee_id));
diesel::joinable!(consultations -> reviews (review_id));
