//! The diesel view of the tables in `migrations/`, as `diesel print-schema` writes it
//! (the request enums come from `domain`). Regenerate after a new migration.

pub mod sql_types {
    #![allow(missing_docs)]

    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "amount_kind"))]
    pub struct AmountKind;

    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "cart_status"))]
    pub struct CartStatus;

    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "geography"))]
    pub struct Geography;

    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "geometry"))]
    pub struct Geometry;

    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "payment_status"))]
    pub struct PaymentStatus;

    /// Mapped to their `domain` enums there.
    pub use domain::requests::sql::{PetSex, RequestState, VetAnswer};

    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "visit_status"))]
    pub struct VisitStatus;
}

diesel::table! {
    breeds (id) {
        id -> Uuid,
        species_id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    cart_items (id) {
        id -> Uuid,
        cart_id -> Uuid,
        service_id -> Uuid,
        pet_id -> Uuid,
        address_id -> Uuid,
        wanted -> Tstzrange,
        turn_fee_group_id -> Nullable<Uuid>,
        quote -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        vet_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::CartStatus;

    carts (id) {
        id -> Uuid,
        owner_id -> Uuid,
        status -> CartStatus,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    checkouts (owner_id, idempotency_key) {
        owner_id -> Uuid,
        idempotency_key -> Text,
        request_hash -> Bytea,
        response -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::AmountKind;

    discounts (id) {
        id -> Uuid,
        name -> Text,
        service_id -> Nullable<Uuid>,
        kind -> AmountKind,
        value -> Numeric,
        valid_from -> Date,
        valid_until -> Nullable<Date>,
        weekdays -> Nullable<Array<Nullable<Int2>>>,
        time_from -> Nullable<Time>,
        time_until -> Nullable<Time>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    document_types (id) {
        id -> Int2,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invoices (id) {
        id -> Uuid,
        request_id -> Uuid,
        visit_id -> Uuid,
        cancels -> Nullable<Uuid>,
        issuer_cuit -> Int8,
        point_of_sale -> Int4,
        receipt_type -> Int2,
        number -> Nullable<Int8>,
        receipt_date -> Nullable<Date>,
        service_date -> Date,
        buyer_name -> Text,
        doc_type -> Int2,
        doc_number -> Int8,
        buyer_vat_condition -> Int2,
        description -> Text,
        net -> Numeric,
        vat -> Numeric,
        total -> Numeric,
        state -> Text,
        #[max_length = 14]
        cae -> Nullable<Bpchar>,
        cae_due -> Nullable<Date>,
        authorized_at -> Nullable<Timestamptz>,
        afip_messages -> Jsonb,
        attempts -> Int4,
        pdf_key -> Nullable<Text>,
        emailed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    afip_tickets (cuit, service, environment) {
        cuit -> Int8,
        service -> Text,
        environment -> Text,
        token -> Text,
        sign -> Text,
        generated_at -> Timestamptz,
        expires_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    afip_points_of_sale (cuit, number) {
        cuit -> Int8,
        number -> Int4,
        emission -> Text,
        blocked -> Bool,
        closed_on -> Nullable<Date>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Int8,
        email -> Text,
        address -> Nullable<Text>,
        succeeded -> Bool,
        at -> Timestamptz,
    }
}

diesel::table! {
    mp_preferences (id) {
        id -> Text,
        request_id -> Uuid,
        idempotency_key -> Text,
        init_point -> Text,
        amount -> Numeric,
        #[max_length = 3]
        currency -> Bpchar,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geography;

    neighborhoods (id) {
        id -> Uuid,
        name -> Text,
        area -> Geography,
        distance_coefficient -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geography;

    owner_addresses (id) {
        id -> Uuid,
        owner_id -> Uuid,
        label -> Nullable<Text>,
        street -> Text,
        details -> Nullable<Text>,
        city -> Text,
        location -> Geography,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    password_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::PaymentStatus;

    payments (id) {
        id -> Int8,
        request_id -> Uuid,
        status -> PaymentStatus,
        status_detail -> Nullable<Text>,
        amount -> Numeric,
        #[max_length = 3]
        currency -> Bpchar,
        date_approved -> Nullable<Timestamptz>,
        refunded_amount -> Numeric,
        raw -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    pet_owners (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        full_name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        document_type_id -> Nullable<Int2>,
        document_number -> Nullable<Text>,
        vat_condition_id -> Nullable<Int2>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        phone_verified_at -> Nullable<Timestamptz>,
        vaccine_reminders_whatsapp -> Bool,
        vaccine_reminders_email -> Bool,
    }
}

diesel::table! {
    phone_code_sends (id) {
        id -> Int8,
        owner_id -> Uuid,
        phone -> Text,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    phone_codes (owner_id) {
        owner_id -> Uuid,
        phone -> Text,
        code_hash -> Bytea,
        expires_at -> Timestamptz,
        attempts -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::PetSex;

    pets (id) {
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        species_id -> Uuid,
        breed_id -> Nullable<Uuid>,
        sex -> PetSex,
        neutered -> Bool,
        birth_date -> Nullable<Date>,
        microchip -> Nullable<Text>,
        deceased -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    prices (id) {
        id -> Uuid,
        service_id -> Uuid,
        vet_id -> Nullable<Uuid>,
        amount -> Numeric,
        valid_from -> Date,
        valid_until -> Nullable<Date>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::RequestState;

    service_requests (id) {
        id -> Uuid,
        state -> RequestState,
        state_seq -> Int4,
        description -> Text,
        vet_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        owner_id -> Nullable<Uuid>,
        pet_id -> Nullable<Uuid>,
        service_id -> Nullable<Uuid>,
        address_id -> Nullable<Uuid>,
        wanted -> Nullable<Tstzrange>,
        turn_fee_group_id -> Nullable<Uuid>,
        price_breakdown -> Nullable<Jsonb>,
        total -> Nullable<Numeric>,
        #[max_length = 3]
        currency -> Bpchar,
        scheduled_start -> Nullable<Timestamptz>,
        workflow_started -> Bool,
        requested_vet_id -> Nullable<Uuid>,
        checkout_key -> Nullable<Text>,
    }
}

diesel::table! {
    services (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        description -> Nullable<Text>,
        duration_minutes -> Int4,
        specialty_id -> Nullable<Uuid>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    specialties (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    species (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::RequestState;

    state_history (request_id, seq) {
        request_id -> Uuid,
        seq -> Int4,
        from_state -> Nullable<RequestState>,
        to_state -> RequestState,
        actor -> Text,
        reason -> Nullable<Text>,
        occurred_at -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    studies (id) {
        id -> Uuid,
        pet_id -> Uuid,
        study_type_id -> Uuid,
        performed_on -> Date,
        notes -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    study_files (id) {
        id -> Uuid,
        study_id -> Uuid,
        storage_key -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    study_types (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::AmountKind;

    turn_fee_groups (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        kind -> AmountKind,
        value -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Nullable<Text>,
        full_name -> Text,
        is_staff -> Bool,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    vaccine_applications (id) {
        id -> Uuid,
        pet_id -> Uuid,
        vaccine_id -> Uuid,
        batch -> Nullable<Text>,
        applied_on -> Date,
        next_due_on -> Nullable<Date>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    vaccines (id) {
        id -> Uuid,
        species_id -> Nullable<Uuid>,
        name -> Text,
        interval_days -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    vat_conditions (id) {
        id -> Int2,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    vet_availability (id) {
        id -> Uuid,
        vet_id -> Uuid,
        weekday -> Int2,
        starts_at -> Time,
        ends_at -> Time,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Geography;
    use super::sql_types::Geometry;

    vet_coverage_areas (id) {
        id -> Uuid,
        vet_id -> Uuid,
        name -> Text,
        area -> Geography,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        area_plane -> Geometry,
    }
}

diesel::table! {
    vet_directory_version (only_row) {
        only_row -> Bool,
        epoch -> Uuid,
        version -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::VetAnswer;

    vet_offers (request_id, offer_no) {
        request_id -> Uuid,
        offer_no -> Int4,
        vet_id -> Nullable<Uuid>,
        offered_at -> Timestamptz,
        followups_sent -> Int4,
        answer -> Nullable<VetAnswer>,
        answered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    vet_specialties (vet_id, specialty_id) {
        vet_id -> Uuid,
        specialty_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    vet_time_off (id) {
        id -> Uuid,
        vet_id -> Uuid,
        during -> Tstzrange,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    veterinarians (id) {
        id -> Uuid,
        user_id -> Uuid,
        full_name -> Text,
        license_number -> Text,
        cuit -> Text,
        phone -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    visit_report_files (id) {
        id -> Uuid,
        report_id -> Uuid,
        storage_key -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    visit_reports (id) {
        id -> Uuid,
        visit_id -> Uuid,
        author_user_id -> Uuid,
        findings -> Text,
        diagnosis -> Text,
        treatment -> Nullable<Text>,
        recommendations -> Nullable<Text>,
        weight_kg -> Nullable<Numeric>,
        next_checkup_on -> Nullable<Date>,
        revision -> Int4,
        filed_at -> Timestamptz,
        updated_at -> Timestamptz,
        locked_at -> Nullable<Timestamptz>,
        locked_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::VisitStatus;

    visits (id) {
        id -> Uuid,
        request_id -> Uuid,
        vet_id -> Uuid,
        scheduled -> Tstzrange,
        status -> VisitStatus,
        calendar_event_id -> Nullable<Text>,
        sheet_row -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Int8,
        provider -> Text,
        event_type -> Text,
        data_id -> Text,
        action -> Text,
        request_id -> Nullable<Text>,
        payload -> Jsonb,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        notification_id -> Text,
    }
}

diesel::table! {
    outbound_messages (key) {
        key -> Text,
        channel -> Text,
        recipient -> Text,
        template -> Text,
        params -> Jsonb,
        provider_id -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        uncertain_at -> Nullable<Timestamptz>,
        attempts -> Int4,
    }
}

diesel::joinable!(breeds -> species (species_id));
diesel::joinable!(cart_items -> carts (cart_id));
diesel::joinable!(cart_items -> owner_addresses (address_id));
diesel::joinable!(cart_items -> pets (pet_id));
diesel::joinable!(cart_items -> services (service_id));
diesel::joinable!(cart_items -> turn_fee_groups (turn_fee_group_id));
diesel::joinable!(carts -> pet_owners (owner_id));
diesel::joinable!(checkouts -> pet_owners (owner_id));
diesel::joinable!(discounts -> services (service_id));
diesel::joinable!(invoices -> document_types (doc_type));
diesel::joinable!(invoices -> service_requests (request_id));
diesel::joinable!(invoices -> vat_conditions (buyer_vat_condition));
diesel::joinable!(invoices -> visits (visit_id));
diesel::joinable!(mp_preferences -> service_requests (request_id));
diesel::joinable!(owner_addresses -> pet_owners (owner_id));
diesel::joinable!(password_tokens -> users (user_id));
diesel::joinable!(payments -> service_requests (request_id));
diesel::joinable!(pet_owners -> document_types (document_type_id));
diesel::joinable!(pet_owners -> users (user_id));
diesel::joinable!(pet_owners -> vat_conditions (vat_condition_id));
diesel::joinable!(pets -> pet_owners (owner_id));
diesel::joinable!(pets -> species (species_id));
diesel::joinable!(prices -> services (service_id));
diesel::joinable!(prices -> veterinarians (vet_id));
diesel::joinable!(phone_code_sends -> pet_owners (owner_id));
diesel::joinable!(phone_codes -> pet_owners (owner_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(service_requests -> owner_addresses (address_id));
diesel::joinable!(service_requests -> pet_owners (owner_id));
diesel::joinable!(service_requests -> pets (pet_id));
diesel::joinable!(service_requests -> services (service_id));
diesel::joinable!(service_requests -> turn_fee_groups (turn_fee_group_id));
diesel::joinable!(services -> specialties (specialty_id));
diesel::joinable!(state_history -> service_requests (request_id));
diesel::joinable!(studies -> pets (pet_id));
diesel::joinable!(studies -> study_types (study_type_id));
diesel::joinable!(study_files -> studies (study_id));
diesel::joinable!(vaccine_applications -> pets (pet_id));
diesel::joinable!(vaccine_applications -> vaccines (vaccine_id));
diesel::joinable!(vaccines -> species (species_id));
diesel::joinable!(vet_availability -> veterinarians (vet_id));
diesel::joinable!(vet_coverage_areas -> veterinarians (vet_id));
diesel::joinable!(vet_offers -> service_requests (request_id));
diesel::joinable!(vet_specialties -> specialties (specialty_id));
diesel::joinable!(vet_specialties -> veterinarians (vet_id));
diesel::joinable!(vet_time_off -> veterinarians (vet_id));
diesel::joinable!(veterinarians -> users (user_id));
diesel::joinable!(visit_report_files -> visit_reports (report_id));
diesel::joinable!(visit_reports -> visits (visit_id));
diesel::joinable!(visits -> service_requests (request_id));
diesel::joinable!(visits -> veterinarians (vet_id));

diesel::allow_tables_to_appear_in_same_query!(
    breeds,
    cart_items,
    carts,
    checkouts,
    discounts,
    document_types,
    afip_points_of_sale,
    afip_tickets,
    invoices,
    login_attempts,
    mp_preferences,
    neighborhoods,
    outbound_messages,
    owner_addresses,
    password_tokens,
    payments,
    pet_owners,
    pets,
    phone_code_sends,
    phone_codes,
    prices,
    refresh_tokens,
    service_requests,
    services,
    specialties,
    species,
    state_history,
    studies,
    study_files,
    study_types,
    turn_fee_groups,
    users,
    vaccine_applications,
    vaccines,
    vat_conditions,
    vet_availability,
    vet_coverage_areas,
    vet_directory_version,
    vet_offers,
    vet_specialties,
    vet_time_off,
    veterinarians,
    visit_report_files,
    visit_reports,
    visits,
    webhook_events,
);
