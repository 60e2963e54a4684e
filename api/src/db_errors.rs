//! What the database's refusals mean to a caller: a named constraint a request can hit
//! is a `409` or a `422` naming the field ([`CONSTRAINTS`]); a starved pool is `503`;
//! anything else is a `500` (logged, never shown).

use axum::http::StatusCode;

use crate::error::ApiError;

/// Named constraints and what they mean to the caller: (constraint, status, field, message).
/// 409 when the input collides with what exists, 422 when it refers to something invalid.
/// Handlers validate first; these are what a caller still meets when two requests race
/// or a rule is only the database's. A test walks every constraint of the migrations:
/// each is here, or listed there as one no caller can reach.
pub const CONSTRAINTS: &[(&str, u16, &str, &str)] = &[
    (
        "users_email_key",
        409,
        "email",
        "an account with this email already exists",
    ),
    (
        "pets_breed_of_species_fkey",
        422,
        "breed_id",
        "unknown breed, or not a breed of this species",
    ),
    ("pets_species_id_fkey", 422, "species_id", "unknown species"),
    (
        "pets_microchip_key",
        409,
        "microchip",
        "another pet has this microchip",
    ),
    (
        "specialties_name_key",
        409,
        "name",
        "an entry with this name exists (it may have been deleted)",
    ),
    (
        "study_types_name_key",
        409,
        "name",
        "an entry with this name exists (it may have been deleted)",
    ),
    (
        "services_code_key",
        409,
        "code",
        "a service with this code exists",
    ),
    (
        "turn_fee_groups_code_key",
        409,
        "code",
        "a turn-fee group with this code exists",
    ),
    (
        "services_specialty_id_fkey",
        422,
        "specialty_id",
        "unknown specialty",
    ),
    (
        "neighborhoods_name_key",
        409,
        "name",
        "a neighborhood with this name exists",
    ),
    (
        "vaccines_species_id_name_key",
        409,
        "name",
        "this vaccine exists",
    ),
    (
        "vaccines_species_id_fkey",
        422,
        "species_id",
        "unknown species",
    ),
    (
        "species_name_key",
        409,
        "name",
        "a species with this name exists",
    ),
    (
        "breeds_species_id_name_key",
        409,
        "name",
        "this species already has a breed with this name",
    ),
    (
        "breeds_species_id_fkey",
        422,
        "species_id",
        "unknown species",
    ),
    (
        "pet_owners_document_type_id_fkey",
        422,
        "document_type_id",
        "unknown document type",
    ),
    (
        "pet_owners_vat_condition_id_fkey",
        422,
        "vat_condition_id",
        "unknown VAT condition",
    ),
    (
        "pet_owners_check",
        422,
        "document_number",
        "document type and number go together",
    ),
    (
        "vet_specialties_specialty_id_fkey",
        422,
        "specialty_ids",
        "unknown specialty",
    ),
    (
        "veterinarians_license_key",
        409,
        "license_number",
        "another vet has this license number",
    ),
    (
        "prices_no_overlap",
        409,
        "valid_from",
        "another price of this service and vet is valid then",
    ),
    (
        "visits_vet_not_double_booked",
        409,
        "scheduled_start",
        "the vet already has a visit then",
    ),
    (
        "cart_items_service_id_fkey",
        422,
        "service_id",
        "unknown service",
    ),
    ("cart_items_pet_id_fkey", 422, "pet_id", "unknown pet"),
    (
        "cart_items_address_id_fkey",
        422,
        "address_id",
        "unknown address",
    ),
    ("cart_items_vet_id_fkey", 422, "vet_id", "unknown vet"),
    (
        "cart_items_turn_fee_group_id_fkey",
        422,
        "turn_fee_group_id",
        "unknown turn-fee group",
    ),
    (
        "cart_items_wanted_check",
        422,
        "wanted_end",
        "must be after wanted_start",
    ),
    (
        "services_duration_minutes_check",
        422,
        "duration_minutes",
        "must be between 5 and 600",
    ),
    (
        "neighborhoods_distance_coefficient_check",
        422,
        "distance_coefficient",
        "must be greater than 0",
    ),
    (
        "prices_amount_check",
        422,
        "amount",
        "must be greater than 0",
    ),
    (
        "prices_check",
        422,
        "valid_until",
        "must be after valid_from",
    ),
    (
        "prices_service_id_fkey",
        422,
        "service_id",
        "unknown service",
    ),
    ("prices_vet_id_fkey", 422, "vet_id", "unknown vet"),
    (
        "turn_fee_groups_check",
        422,
        "value",
        "a percentage is at most 100",
    ),
    (
        "turn_fee_groups_value_check",
        422,
        "value",
        "must not be negative",
    ),
    (
        "discounts_check",
        422,
        "value",
        "a percentage is at most 100",
    ),
    (
        "discounts_check1",
        422,
        "valid_until",
        "must be after valid_from",
    ),
    (
        "discounts_check2",
        422,
        "time_until",
        "time_from and time_until go together",
    ),
    (
        "discounts_value_check",
        422,
        "value",
        "must be greater than 0",
    ),
    (
        "discounts_weekdays_check",
        422,
        "weekdays",
        "weekdays are 1 (Monday) to 7 (Sunday)",
    ),
    (
        "discounts_service_id_fkey",
        422,
        "service_id",
        "unknown service",
    ),
    (
        "pets_name_check",
        422,
        "name",
        "must be 1 to 100 characters",
    ),
    ("pets_species_id_fkey", 422, "species_id", "unknown species"),
    (
        "pet_owners_full_name_check",
        422,
        "full_name",
        "must be 1 to 200 characters",
    ),
    ("pet_owners_email_check", 422, "email", "must be lower case"),
    (
        "users_full_name_check",
        422,
        "full_name",
        "must be 1 to 200 characters",
    ),
    ("users_email_check", 422, "email", "not a valid email"),
    (
        "vaccine_applications_check",
        422,
        "next_due_on",
        "must be after applied_on",
    ),
    (
        "vaccine_applications_vaccine_id_fkey",
        422,
        "vaccine_id",
        "unknown vaccine",
    ),
    (
        "vaccines_interval_days_check",
        422,
        "interval_days",
        "must be greater than 0",
    ),
    (
        "vet_availability_check",
        422,
        "ends_at",
        "must be after starts_at",
    ),
    (
        "vet_availability_weekday_check",
        422,
        "weekday",
        "weekdays are 1 (Monday) to 7 (Sunday)",
    ),
    (
        "vet_time_off_during_check",
        422,
        "ends",
        "must be after starts",
    ),
    ("veterinarians_cuit_check", 422, "cuit", "must be 11 digits"),
    (
        "studies_study_type_id_fkey",
        422,
        "study_type_id",
        "unknown study type",
    ),
    (
        "document_types_name_key",
        409,
        "name",
        "a document type with this name exists",
    ),
    (
        "vat_conditions_name_key",
        409,
        "name",
        "a VAT condition with this name exists",
    ),
];

impl From<db::Error> for ApiError {
    fn from(err: db::Error) -> Self {
        if let Some(&(_, status, field, message)) = err
            .constraint()
            .and_then(|name| CONSTRAINTS.iter().find(|(c, ..)| *c == name))
        {
            return if status == 409 {
                Self::Conflict {
                    kind: "conflict",
                    detail: format!("{field}: {message}"),
                }
            } else {
                Self::invalid(field, message)
            };
        }
        match err {
            db::Error::Pool(detail) => Self::Unavailable {
                status: StatusCode::SERVICE_UNAVAILABLE,
                detail: format!("the database is unavailable: {detail}"),
            },
            other => Self::Internal(other.into()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        db::Error::from(err).into()
    }
}
