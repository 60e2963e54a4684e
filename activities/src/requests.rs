//! Activities that write a service request's projection in PostgreSQL.

use std::sync::Arc;

use db::requests::OfferRecord;
use domain::{RequestId, StateChange, VetId};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Input of [`RequestActivities::record_transition`].
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordTransition {
    pub request: RequestId,
    /// Recreates the row if its creator's commit was lost after the workflow started.
    pub description: String,
    pub change: StateChange,
    /// The vet now attached to the request, if this change attaches one.
    pub vet: Option<VetId>,
}

pub struct RequestActivities {
    pool: db::Pool,
}

impl RequestActivities {
    pub fn new(pool: db::Pool) -> Self {
        Self { pool }
    }
}

#[activities]
impl RequestActivities {
    /// Writes one state change to the history and the projection, in one transaction;
    /// idempotent on (request, seq). Returns whether this call applied it.
    #[activity(name = "record_transition")]
    pub async fn record_transition(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RecordTransition,
    ) -> Result<bool, ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        let applied = db::requests::record_transition(
            &mut conn,
            input.request,
            &input.description,
            &input.change,
            input.vet,
        )
        .await?;
        tracing::info!(
            request = %input.request,
            seq = input.change.seq,
            to = %input.change.to,
            applied,
            "recorded state change"
        );
        Ok(applied)
    }

    /// Records an offer to a vet (when it was made, follow-ups sent, the answer).
    /// Monotonic upsert, so a retry or a replayed older record changes nothing.
    #[activity(name = "record_offer")]
    pub async fn record_offer(
        self: Arc<Self>,
        _ctx: ActivityContext,
        offer: OfferRecord,
    ) -> Result<(), ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        db::requests::record_offer(&mut conn, &offer).await?;
        tracing::info!(
            request = %offer.request,
            offer_no = offer.offer_no,
            followups_sent = offer.followups_sent,
            "recorded vet offer"
        );
        Ok(())
    }

    /// The report filed for the request's visit, if any: the workflow asks when told
    /// one was filed and whenever it wakes up waiting for one (a lost signal only
    /// delays it).
    #[activity(name = "filed_report")]
    pub async fn filed_report(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: RequestId,
    ) -> Result<Option<db::reports::FiledReport>, ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        Ok(db::reports::filed_report(&mut conn, request).await?)
    }
}
