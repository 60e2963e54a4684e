//! Every constraint of the migrations is accounted for: one a caller can meet maps to a
//! `409`/`422` naming the field (`api::db_errors::CONSTRAINTS`), and every other is listed
//! here with why no caller can reach it. A new constraint fails this test until someone
//! decides which it is; a mapping whose constraint is gone fails it too.

use std::collections::BTreeSet;

use diesel_async::RunQueryDsl;
use e2e::TestDb;

/// Tables no caller writes: the server fills every column from its own state.
const INTERNAL_TABLES: &[(&str, &str)] = &[
    (
        "service_requests",
        "written by checkout and the workflow from validated cart items",
    ),
    ("checkouts", "written by checkout for the signed-in owner"),
    (
        "carts",
        "found or made by the server for the signed-in owner",
    ),
    ("state_history", "written by the workflow only"),
    ("vet_offers", "written by the workflow only"),
    (
        "visits",
        "written by the workflow only (its double booking is mapped)",
    ),
    ("mp_preferences", "written by the payment activities only"),
    ("payments", "written by the payment activities only"),
    ("invoices", "written by the invoicing activities only"),
    (
        "webhook_events",
        "written by the webhook handler; a repeat is detected, not refused",
    ),
    ("refresh_tokens", "random tokens the server makes"),
    (
        "vet_directory_version",
        "one row, moved by triggers only (the vet search's directory version)",
    ),
    ("password_tokens", "random tokens the server makes"),
    (
        "study_files",
        "keys and sizes the server makes from the upload",
    ),
    (
        "visit_report_files",
        "keys and sizes the server makes from the upload, for a report it found",
    ),
    ("spatial_ref_sys", "PostGIS's own"),
    (
        "phone_codes",
        "codes the server makes for the signed-in owner",
    ),
    (
        "phone_code_sends",
        "the server's record of the codes it sent",
    ),
];

/// Constraints of caller-written tables that no request can violate, and why.
const UNREACHABLE: &[(&str, &str)] = &[
    (
        "visit_reports_findings_check",
        "the API trims and checks findings (1 to 5000 characters) first",
    ),
    (
        "visit_reports_diagnosis_check",
        "the API trims and checks the diagnosis (1 to 5000 characters) first",
    ),
    (
        "visit_reports_treatment_check",
        "the API stores a blank treatment as none and checks its length first",
    ),
    (
        "visit_reports_recommendations_check",
        "the API stores blank recommendations as none and checks their length first",
    ),
    (
        "visit_reports_weight_kg_check",
        "the API checks the weight (more than 0, at most 200) first",
    ),
    (
        "visit_reports_revision_check",
        "the server counts revisions from 1",
    ),
    (
        "visit_reports_lock_whole",
        "the server sets when and by whom together",
    ),
    (
        "visit_reports_visit_id_key",
        "one report per visit: filing again corrects it, in one locked transaction",
    ),
    (
        "visit_reports_visit_id_fkey",
        "the visit is found (and checked) before its report is written",
    ),
    (
        "visit_reports_author_user_id_fkey",
        "the author is the signed-in user",
    ),
    (
        "visit_reports_locked_by_fkey",
        "the lock is the signed-in staff user's",
    ),
    (
        "breeds_id_species_id_key",
        "(id, species_id) with id the primary key: a target for composite foreign keys",
    ),
    (
        "owner_addresses_id_owner_id_key",
        "(id, owner_id) with id the primary key: a target for composite foreign keys",
    ),
    (
        "pets_id_owner_id_key",
        "(id, owner_id) with id the primary key: a target for composite foreign keys",
    ),
    (
        "cart_items_cart_id_fkey",
        "the cart is the caller's own, found or made by the server",
    ),
    (
        "owner_addresses_owner_id_fkey",
        "the owner is the signed-in one or the path's, found first (rows are soft-deleted)",
    ),
    (
        "pets_owner_id_fkey",
        "the owner is the signed-in one or the path's, found first (rows are soft-deleted)",
    ),
    (
        "pet_owners_user_id_fkey",
        "the account the same transaction creates",
    ),
    (
        "pet_owners_user_id_key",
        "the account the same transaction creates",
    ),
    (
        "veterinarians_user_id_fkey",
        "the account the same transaction creates",
    ),
    (
        "veterinarians_user_id_key",
        "the account the same transaction creates",
    ),
    (
        "studies_pet_id_fkey",
        "the pet is the path's, found first (rows are soft-deleted)",
    ),
    (
        "vaccine_applications_pet_id_fkey",
        "the pet is the path's, found first (rows are soft-deleted)",
    ),
    (
        "vet_availability_vet_id_fkey",
        "the vet is the path's, found first (rows are soft-deleted)",
    ),
    (
        "vet_coverage_areas_vet_id_fkey",
        "the vet is the path's, found first (rows are soft-deleted)",
    ),
    (
        "vet_time_off_vet_id_fkey",
        "the vet is the path's, found first (rows are soft-deleted)",
    ),
    (
        "vet_specialties_vet_id_fkey",
        "the vet is the path's or the one the same transaction creates",
    ),
];

#[derive(diesel::QueryableByName)]
struct Constraint {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[tokio::test]
async fn every_constraint_a_caller_can_meet_maps_to_a_409_or_422_and_every_other_says_why_not() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    // Unique, foreign-key, check and exclusion constraints, and unique indexes that
    // back no constraint (PostgreSQL names a violation of one after the index).
    let all: Vec<Constraint> = diesel::sql_query(
        "SELECT conrelid::regclass::text AS table_name, conname::text AS name \
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
           AND contype IN ('u', 'f', 'c', 'x') \
         UNION ALL \
         SELECT indrelid::regclass::text, indexrelid::regclass::text FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid \
         WHERE c.relnamespace = 'public'::regnamespace AND indisunique AND NOT indisprimary \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid) \
         ORDER BY 1, 2",
    )
    .load(&mut conn)
    .await
    .expect("the catalog");
    assert!(all.len() > 50, "{} constraints", all.len());

    let mapped: BTreeSet<&str> = api::db_errors::CONSTRAINTS.iter().map(|c| c.0).collect();
    let unreachable: BTreeSet<&str> = UNREACHABLE.iter().map(|c| c.0).collect();
    let internal: BTreeSet<&str> = INTERNAL_TABLES.iter().map(|t| t.0).collect();
    let unaccounted: Vec<String> = all
        .iter()
        .filter(|c| !mapped.contains(c.name.as_str()) && !unreachable.contains(c.name.as_str()))
        .filter(|c| !internal.contains(c.table_name.as_str()))
        .map(|c| format!("{}.{}", c.table_name, c.name))
        .collect();
    assert!(
        unaccounted.is_empty(),
        "map these in api::db_errors::CONSTRAINTS (409/422 and the field), or list them here \
         with why no caller can reach them: {unaccounted:#?}"
    );

    let names: BTreeSet<&str> = all.iter().map(|c| c.name.as_str()).collect();
    let stale: Vec<&&str> = mapped
        .iter()
        .chain(unreachable.iter())
        .filter(|name| !names.contains(**name))
        .collect();
    assert!(stale.is_empty(), "no longer in the migrations: {stale:?}");
    let tables: BTreeSet<&str> = all.iter().map(|c| c.table_name.as_str()).collect();
    let gone: Vec<&&str> = internal.iter().filter(|t| !tables.contains(**t)).collect();
    assert!(gone.is_empty(), "tables with no constraint left: {gone:?}");
    for (name, status, field, message) in api::db_errors::CONSTRAINTS {
        assert!(matches!(status, 409 | 422), "{name}: {status}");
        assert!(!field.is_empty() && !message.is_empty(), "{name}");
    }
}
