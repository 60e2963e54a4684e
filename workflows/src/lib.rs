//! Workflow definitions. Everything here must be deterministic: time comes from the
//! workflow context, waiting from SDK timers and `select!`, effects from activities.

pub mod afip_check;
pub mod failures;
pub mod invoice_issuer;
pub mod late_payment;
pub mod service_request;
pub mod vaccine_reminders;
pub mod visit_records;
pub mod waits;

pub use afip_check::AfipCheckWorkflow;
pub use invoice_issuer::InvoiceIssuerWorkflow;
pub use late_payment::LatePaymentWorkflow;
pub use vaccine_reminders::VaccineRemindersWorkflow;
pub use visit_records::VisitRecordsWorkflow;

pub use service_request::{
    Cancel, Coordinate, CoordinateOutcome, DispatchMode, NoShow, Offer, OfferStatus,
    PROVIDER_ATTEMPT, PROVIDER_GIVE_UP, Reassign, Refusal, Refused, RequestStatus,
    ServiceRequestInput, ServiceRequestWorkflow, VetResponse, VetResponseOutcome, update_ids,
};

/// Names shared by the worker, the API and the Temporal UI, in one place.
pub mod names {
    /// The task queue the worker polls by default.
    pub const DEFAULT_TASK_QUEUE: &str = "service-requests";
    pub const SERVICE_REQUEST_WORKFLOW: &str = "ServiceRequestWorkflow";
    pub const LATE_PAYMENT_WORKFLOW: &str = "LatePaymentWorkflow";
    pub const VISIT_RECORDS_WORKFLOW: &str = "VisitRecordsWorkflow";
    pub const VACCINE_REMINDERS_WORKFLOW: &str = "VaccineRemindersWorkflow";
    pub const VISIT_CHANGED_SIGNAL: &str = "visit_changed";
    pub const VET_RESPONSE_UPDATE: &str = "vet_response";
    pub const COORDINATE_UPDATE: &str = "coordinate";
    pub const REASSIGN_UPDATE: &str = "reassign";
    pub const CANCEL_UPDATE: &str = "cancel";
    pub const PAYMENT_SIGNAL: &str = "payment_notified";
    pub const NO_SHOW_UPDATE: &str = "no_show";
    pub const REPORT_SIGNAL: &str = "report_filed";
    pub const STATUS_QUERY: &str = "status";
    pub const INVOICE_ISSUER_WORKFLOW: &str = activities::issuers::ISSUER_WORKFLOW;
    pub const RECEIPT_QUEUED_SIGNAL: &str = activities::issuers::QUEUED_SIGNAL;
    pub const ISSUER_RESUME_SIGNAL: &str = "resume";
    pub const AFIP_CHECK_WORKFLOW: &str = "AfipCheckWorkflow";
}

/// Custom search attributes, registered on the server (`make run` does it), by which staff
/// filter workflows in the Temporal UI, e.g. `RequestState="vet_asked"`.
pub mod search {
    use temporalio_common::search_attributes::SearchAttributeKey;

    pub const REQUEST_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("RequestId");
    pub const REQUEST_STATE: SearchAttributeKey<String> =
        SearchAttributeKey::keyword("RequestState");
    pub const VET_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("VetId");
    pub const OWNER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("OwnerId");

    /// Every custom attribute with its type, as `temporal server start-dev --search-attribute`
    /// takes them.
    pub const ALL: [(&str, &str); 4] = [
        ("RequestId", "Keyword"),
        ("RequestState", "Keyword"),
        ("VetId", "Keyword"),
        ("OwnerId", "Keyword"),
    ];
}
