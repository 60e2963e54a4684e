//! The visit's records outside AMAR: its event in Google Calendar and its row in the
//! Google Sheet of visits, made to say what PostgreSQL says. One activity does both and
//! is idempotent by construction: the event's id is derived from the visit (an insert
//! that finds it there patches it), and the row is looked for by the visit's id before
//! one is appended, so a retry, a replay or a worker killed between Google's answer and
//! our record never makes a second event or a second row.
//!
//! What the event says: the service, the pet, the owner's first name, the
//! neighbourhood and the request's link for staff; never the owner's phone, document
//! or street. The sheet's columns: [`COLUMNS`].

use std::sync::Arc;

use domain::RequestId;
use integrations::google::{
    Calendar, CalendarChoice, CalendarEvent, GoogleClient, GoogleError, Sheets, event_id,
};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};

/// The sheet's header row, written once when the tab is empty.
pub const COLUMNS: [&str; 12] = [
    "Visita",
    "Solicitud",
    "Estado",
    "Servicio",
    "Mascota",
    "Dueño/a",
    "Barrio",
    "Veterinario/a",
    "Inicio",
    "Fin",
    "Total",
    "Actualizado (UTC)",
];

/// What a sync did.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsSynced {
    /// The event says what the visit is now (`false`: no calendar configured).
    pub calendar: bool,
    /// The row says it (`false`: no sheet configured).
    pub sheet: bool,
    /// The visit is over (completed, cancelled or a no-show): nothing will change it again.
    pub settled: bool,
}

pub struct VisitRecordsActivities {
    pool: db::Pool,
    google: Option<GoogleClient>,
    /// `PUBLIC_BASE_URL`, for the request's link in the event.
    public_base_url: String,
}

impl VisitRecordsActivities {
    pub fn new(pool: db::Pool, google: Option<GoogleClient>, public_base_url: String) -> Self {
        Self {
            pool,
            google,
            public_base_url,
        }
    }
}

/// How the visit reads now: Calendar's event status and the sheet's word for it.
fn standing(visit: &db::visits::VisitDetails) -> (&'static str, &'static str, bool) {
    match (visit.status.as_str(), visit.request_state.as_str()) {
        ("cancelled", _) | (_, "cancelled") => ("cancelled", "Cancelada", true),
        (_, "completed") => ("confirmed", "Realizada", true),
        ("no_show", _) | (_, "no_show") => ("confirmed", "Ausente", true),
        _ => ("confirmed", "Confirmada", false),
    }
}

fn local(at: chrono::DateTime<chrono::Utc>) -> String {
    domain::time::local(at).format("%d/%m/%Y %H:%M").to_string()
}

fn first_name(full_name: &str) -> &str {
    full_name.split_whitespace().next().unwrap_or(full_name)
}

/// A Google failure as the activity reports it: a refusal is final, the rest retried.
fn google_error(e: GoogleError) -> ActivityError {
    if e.is_retryable() {
        anyhow::Error::from(e).into()
    } else {
        ActivityError::application(ApplicationFailure::non_retryable(anyhow::Error::from(e)))
    }
}

impl VisitRecordsActivities {
    fn event(&self, request: RequestId, visit: &db::visits::VisitDetails) -> CalendarEvent {
        let (status, word, _) = standing(visit);
        let link = format!(
            "{}{}/service-requests/{request}",
            self.public_base_url.trim_end_matches('/'),
            domain::paths::API_PREFIX
        );
        CalendarEvent {
            summary: format!(
                "{} · {} ({})",
                visit.service,
                visit.pet,
                first_name(&visit.owner_name)
            ),
            description: format!(
                "{word}. {} para {} ({}), en {}, con {}.\nSolicitud: {link}",
                visit.service,
                visit.pet,
                first_name(&visit.owner_name),
                visit.neighborhood,
                visit.vet_name
            ),
            location: visit.neighborhood.clone(),
            start: visit.start,
            end: visit.end,
            status: status.to_owned(),
        }
    }

    fn row(&self, request: RequestId, visit: &db::visits::VisitDetails) -> Vec<String> {
        let (_, word, _) = standing(visit);
        vec![
            visit.visit_id.to_string(),
            request.to_string(),
            word.to_owned(),
            visit.service.clone(),
            visit.pet.clone(),
            first_name(&visit.owner_name).to_owned(),
            visit.neighborhood.clone(),
            visit.vet_name.clone(),
            local(visit.start),
            local(visit.end),
            visit.total.clone().unwrap_or_default(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        ]
    }

    /// The event: inserted under the visit's id the first time (found there already:
    /// patched), patched after.
    async fn sync_event(
        &self,
        google: &impl Calendar,
        choice: &CalendarChoice,
        request: RequestId,
        visit: &db::visits::VisitDetails,
    ) -> Result<(), ActivityError> {
        let calendar = match choice {
            CalendarChoice::Shared(id) => id.clone(),
            CalendarChoice::PerVet => visit.vet_email.clone(),
        };
        let id = event_id(visit.visit_id);
        let event = self.event(request, visit);
        if visit.calendar_event_id.is_none() {
            match google.insert_event(&calendar, &id, &event).await {
                Ok(()) => {}
                Err(GoogleError::Duplicate { .. }) => {
                    google
                        .patch_event(&calendar, &id, &event)
                        .await
                        .map_err(google_error)?;
                }
                Err(e) => return Err(google_error(e)),
            }
            let mut conn = db::conn(&self.pool).await?;
            db::visits::record_calendar_event(&mut conn, request, &id).await?;
        } else {
            google
                .patch_event(&calendar, &id, &event)
                .await
                .map_err(google_error)?;
        }
        Ok(())
    }

    /// The row: updated where it is, once its first cell shows it is still the visit's
    /// (staff may sort or delete rows); else looked for by the visit's id (also what
    /// finds a row appended by an attempt killed before recording it); appended the
    /// first time, after the header when the tab is empty.
    async fn sync_row(
        &self,
        google: &impl Sheets,
        spreadsheet: &str,
        tab: &str,
        request: RequestId,
        visit: &db::visits::VisitDetails,
    ) -> Result<(), ActivityError> {
        let row = self.row(request, visit);
        let visit_id = visit.visit_id.to_string();
        let holds_visit =
            |cells: &[Vec<String>]| cells.first().and_then(|r| r.first()) == Some(&visit_id);
        let mut range = None;
        if let Some(stored) = &visit.sheet_row {
            let first = stored.split(':').next().unwrap_or(stored);
            let cells = google
                .read_range(spreadsheet, first)
                .await
                .map_err(google_error)?;
            if holds_visit(&cells) {
                range = Some(stored.clone());
            }
        }
        let range = match range {
            Some(range) => range,
            None => {
                let column = google
                    .read_range(spreadsheet, &a1(tab, "A:A"))
                    .await
                    .map_err(google_error)?;
                let found = column
                    .iter()
                    .position(|cells| cells.first() == Some(&visit_id));
                let range = match found {
                    Some(index) => a1(tab, &format!("A{n}:L{n}", n = index + 1)),
                    None => {
                        if column
                            .iter()
                            .all(|cells| cells.iter().all(String::is_empty))
                        {
                            let header: Vec<String> =
                                COLUMNS.iter().map(|c| (*c).to_owned()).collect();
                            google
                                .update_row(spreadsheet, &a1(tab, "A1:L1"), &header)
                                .await
                                .map_err(google_error)?;
                        }
                        google
                            .append_row(spreadsheet, &a1(tab, "A1"), &row)
                            .await
                            .map_err(google_error)?
                    }
                };
                let mut conn = db::conn(&self.pool).await?;
                db::visits::record_sheet_row(&mut conn, request, &range).await?;
                if found.is_none() {
                    // Appended just now: it says what it must.
                    return Ok(());
                }
                range
            }
        };
        google
            .update_row(spreadsheet, &range, &row)
            .await
            .map_err(google_error)
    }
}

/// A range of `tab` in A1 notation, the tab's name quoted when it needs it (spaces,
/// punctuation), as Google writes it.
fn a1(tab: &str, cells: &str) -> String {
    if tab.chars().all(|c| c.is_alphanumeric() || c == '_') {
        format!("{tab}!{cells}")
    } else {
        format!("'{}'!{cells}", tab.replace('\'', "''"))
    }
}

#[activities]
impl VisitRecordsActivities {
    /// Makes the visit's event and sheet row say what the visit is now.
    #[activity(name = "sync_visit_records")]
    pub async fn sync_visit_records(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: RequestId,
    ) -> Result<RecordsSynced, ActivityError> {
        let ctx = &ctx;
        crate::alive(ctx, crate::within_attempt(ctx, async move {
            let visit = {
                let mut conn = db::conn(&self.pool).await?;
                db::visits::visit_details(&mut conn, request).await?
            };
            let Some(visit) = visit else {
                return Err(ActivityError::application(ApplicationFailure::non_retryable(
                    anyhow::anyhow!("request {request} has no visit to record"),
                )));
            };
            let (_, _, settled) = standing(&visit);
            let Some(google) = &self.google else {
                tracing::warn!(%request, "no Google service account configured: no calendar event, no sheet row");
                return Ok(RecordsSynced {
                    calendar: false,
                    sheet: false,
                    settled,
                });
            };
            self.sync_event(google, &google.settings().calendar, request, &visit)
                .await?;
            let sheet = match google.settings().spreadsheet_id.clone() {
                Some(spreadsheet) => {
                    let tab = &google.settings().sheet_tab;
                    self.sync_row(google, &spreadsheet, tab, request, &visit)
                        .await?;
                    true
                }
                None => false,
            };
            Ok(RecordsSynced {
                calendar: true,
                sheet,
                settled,
            })
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tab_names_are_quoted_only_when_they_need_it() {
        assert_eq!(super::a1("Visitas", "A:A"), "Visitas!A:A");
        assert_eq!(super::a1("Mi hoja", "A1:L1"), "'Mi hoja'!A1:L1");
        assert_eq!(super::a1("Lu's", "A1"), "'Lu''s'!A1");
    }
}
