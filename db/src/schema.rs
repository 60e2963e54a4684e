//! The diesel view of the tables in `migrations/`.

pub mod sql_types {
    pub use domain::requests::sql::{RequestState, VetAnswer};
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
    }
}

diesel::joinable!(state_history -> service_requests (request_id));
diesel::joinable!(vet_offers -> service_requests (request_id));
diesel::allow_tables_to_appear_in_same_query!(service_requests, state_history, vet_offers);
