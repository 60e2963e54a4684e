//! AFIP invoicing, as activities: a paid visit's invoice (or a refunded one's credit
//! note) asked for — its row written and its issuer woken —, one receipt issued, the
//! owner's copy delivered, the taxpayer's certificate and points of sale checked.
//!
//! Issuing never duplicates and never skips a number: the number (AFIP's last + 1) is
//! written on the row before the receipt is sent, so any later attempt — after a lost
//! answer, a timeout, a killed worker — first asks `FECompConsultar` what became of it
//! and adopts the receipt when it matches. The ticket is shared through PostgreSQL and
//! renewed by one caller at a time.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use db::invoices::{InvoiceRow, NewInvoice};
use domain::{
    InvoiceId, RequestId,
    invoices::{IssuerKey, Queued, ReceiptType, VAT_21_ID},
};
use integrations::{
    afip::{
        AfipSettings, Credentials, Ticket, Wsaa, WsaaClient, Wsfe, WsfeClient, WsfeError,
        wsaa::WsaaError,
        wsfe::{Associated, Authorization, ReceiptRequest, Rejection, VatLine},
    },
    email::SmtpMailer,
    mercately::MercatelyClient,
};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};

use messages::ledger::send_email_once;

mod check;
mod issue;
mod ticket;

pub use check::{AfipCheck, CERTIFICATE_WARNING_DAYS, certificate_warning};

/// The WSAA service the tickets are for.
const SERVICE: &str = "wsfe";

/// A ticket is renewed this long before it expires.
const RENEW_AHEAD: chrono::Duration = chrono::Duration::minutes(10);

/// Ask for the invoice of a request paid with `payment`.
///
/// FROZEN wire type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInvoice {
    pub request: RequestId,
    pub payment: i64,
}

/// What asking for a receipt did.
///
/// FROZEN wire type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Requested {
    /// Its row is written and its issuer woken.
    Queued {
        invoice: InvoiceId,
        issuer: IssuerKey,
    },
    /// Nothing to issue: invoicing is off, or there is no invoice to cancel.
    NotNeeded { why: String },
    /// It cannot be issued as the owner's record stands (the row says why, rejected);
    /// staff fix the record and re-issue it.
    Refused {
        invoice: Option<InvoiceId>,
        why: String,
    },
}

/// What issuing one receipt came to.
///
/// FROZEN wire type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Issued {
    Authorized {
        number: u64,
        cae: String,
        /// Found already authorized by `FECompConsultar` (its answer had been lost).
        recovered: bool,
    },
    /// AFIP rejected it: its number is free again; staff read why.
    Rejected { messages: Vec<String> },
    /// It was no longer pending (authorized or rejected before).
    Settled { state: String },
}

/// AFIP's side, when invoicing is on.
struct Afip {
    settings: AfipSettings,
    credentials: Result<Credentials, String>,
    wsaa: WsaaClient,
    wsfe: WsfeClient,
}

pub struct InvoiceActivities {
    pool: db::Pool,
    afip: Option<Afip>,
    mailer: SmtpMailer,
    temporal: Option<(temporalio_client::Client, String)>,
    staff: Option<(MercatelyClient, Option<String>, Option<String>)>,
}

impl InvoiceActivities {
    /// `afip` `None`: invoicing is off, and asking for an invoice is `NotNeeded`.
    /// `temporal`: the client and task queue the issuers are started on.
    pub fn new(
        pool: db::Pool,
        afip: Option<AfipSettings>,
        mailer: SmtpMailer,
        temporal: Option<(temporalio_client::Client, String)>,
    ) -> anyhow::Result<Self> {
        let afip = match afip {
            None => None,
            Some(settings) => {
                let http = settings.http()?;
                Some(Afip {
                    credentials: settings.credentials().map_err(|e| e.to_string()),
                    wsaa: WsaaClient::new(http.clone(), &settings.wsaa_url),
                    wsfe: WsfeClient::new(
                        http,
                        &settings.wsfe_url,
                        settings.cuit,
                        settings.max_attempts,
                    ),
                    settings,
                })
            }
        };
        Ok(Self {
            pool,
            afip,
            mailer,
            temporal,
            staff: None,
        })
    }

    /// Where the daily check's warnings go: staff's WhatsApp and mailbox.
    pub fn with_staff(
        mut self,
        mercately: MercatelyClient,
        phone: Option<String>,
        email: Option<String>,
    ) -> Self {
        self.staff = Some((mercately, phone, email));
        self
    }
}

fn refused(message: impl Into<String>) -> ActivityError {
    ActivityError::application(ApplicationFailure::non_retryable(anyhow::anyhow!(
        message.into()
    )))
}

fn again(message: impl Into<String>) -> ActivityError {
    ActivityError::from(anyhow::anyhow!(message.into()))
}

/// An activity error's message, for staff.
fn said(e: &ActivityError) -> String {
    match e {
        ActivityError::Application(failure) => failure.to_string(),
        other => format!("{other:?}"),
    }
}

/// AFIP's (or the issuer's) messages on a receipt, for people.
fn said_of(row: &InvoiceRow) -> String {
    row.afip_messages
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

fn messages_json(messages: &[String]) -> serde_json::Value {
    serde_json::Value::from(messages.to_vec())
}

fn today() -> NaiveDate {
    domain::time::local_date(Utc::now())
}

#[activities]
impl InvoiceActivities {
    /// Writes the invoice of a paid request (once: the same request, the same row) and
    /// wakes its issuer.
    #[activity(name = "request_invoice")]
    pub async fn request_invoice(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RequestInvoice,
    ) -> Result<Requested, ActivityError> {
        let Some(afip) = &self.afip else {
            return Ok(Requested::NotNeeded {
                why: "invoicing is off (AFIP_CUIT unset or AFIP=off)".into(),
            });
        };
        let mut conn = db::conn(&self.pool).await?;
        if let Some(row) = db::invoices::invoice_of(&mut conn, input.request).await? {
            drop(conn);
            if row.state == "rejected" {
                return Ok(Requested::Refused {
                    invoice: Some(row.invoice_id()),
                    why: said_of(&row),
                });
            }
            return self.queued(afip, &row).await;
        }
        let Some(sale) = db::invoices::sale(&mut conn, input.request, input.payment).await? else {
            return Err(refused(format!(
                "request {} has no visit paid with payment {}",
                input.request, input.payment
            )));
        };
        let settings = &afip.settings;
        let planned = domain::invoices::plan(
            settings.condition,
            &sale.buyer,
            sale.total,
            settings.anonymous_limit,
        );
        let (plan, why) = match planned {
            Ok(plan) => (plan, None),
            Err(e) => {
                // Recorded as rejected, so staff find it and re-issue it once the
                // owner's record is complete.
                // Its class is the buyer's condition's, so that the re-issue, once the
                // record is complete, is the same receipt.
                let receipt_type =
                    domain::invoices::receipt_class(settings.condition, sale.buyer.vat_condition);
                let fallback = domain::invoices::ReceiptPlan {
                    receipt_type,
                    doc_type: domain::invoices::doc_type::OTHER,
                    doc_number: 0,
                    vat_condition: domain::invoices::vat_condition::CONSUMIDOR_FINAL,
                    amounts: domain::invoices::Amounts::split(receipt_type, sale.total),
                };
                (fallback, Some(e.to_string()))
            }
        };
        let new = NewInvoice {
            id: InvoiceId::new(),
            request_id: input.request,
            visit_id: sale.visit_id,
            cancels: None,
            issuer_cuit: settings.cuit,
            point_of_sale: settings.point_of_sale,
            receipt_type: plan.receipt_type.0,
            service_date: sale.service_date,
            buyer_name: sale.buyer.name.clone(),
            doc_type: plan.doc_type,
            doc_number: plan.doc_number,
            buyer_vat_condition: plan.vat_condition,
            description: sale.description.clone(),
            net: plan.amounts.net,
            vat: plan.amounts.vat,
            total: plan.amounts.total,
            // Written rejected at once: no attempt can find it pending in between.
            rejected_because: why.clone().map(|why| vec![why]),
        };
        let row = db::invoices::insert(&mut conn, &new).await?;
        if let Some(why) = why {
            return Ok(Requested::Refused {
                invoice: Some(row.invoice_id()),
                why,
            });
        }
        drop(conn);
        self.queued(afip, &row).await
    }

    /// Writes the credit note of the request's invoice (once) and wakes its issuer;
    /// `NotNeeded` when the request has no invoice, or a rejected one.
    #[activity(name = "request_credit_note")]
    pub async fn request_credit_note(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: RequestId,
    ) -> Result<Requested, ActivityError> {
        let Some(afip) = &self.afip else {
            return Ok(Requested::NotNeeded {
                why: "invoicing is off".into(),
            });
        };
        let mut conn = db::conn(&self.pool).await?;
        let Some(invoice) = db::invoices::invoice_of(&mut conn, request).await? else {
            return Ok(Requested::NotNeeded {
                why: "the request has no invoice".into(),
            });
        };
        if invoice.state == "rejected" {
            return Ok(Requested::NotNeeded {
                why: "the request's invoice was never authorized".into(),
            });
        }
        let note_type = ReceiptType(invoice.receipt_type).credit_note();
        let new = NewInvoice {
            id: InvoiceId::new(),
            request_id: request,
            visit_id: invoice.visit_id,
            cancels: Some(invoice.invoice_id()),
            issuer_cuit: invoice.issuer_cuit as u64,
            point_of_sale: invoice.point_of_sale as u32,
            receipt_type: note_type.0,
            service_date: invoice.service_date,
            buyer_name: invoice.buyer_name.clone(),
            doc_type: invoice.doc_type,
            doc_number: invoice.doc_number as u64,
            buyer_vat_condition: invoice.buyer_vat_condition,
            description: format!("Anulación: {}", invoice.description)
                .chars()
                .take(200)
                .collect(),
            net: invoice.net,
            vat: invoice.vat,
            total: invoice.total,
            rejected_because: None,
        };
        let note = db::invoices::insert(&mut conn, &new).await?;
        drop(conn);
        self.queued(afip, &note).await
    }

    /// The receipts waiting for `issuer`, oldest first (what an issuer finds when it
    /// starts or has been idle).
    #[activity(name = "pending_receipts")]
    pub async fn pending_receipts(
        self: Arc<Self>,
        _ctx: ActivityContext,
        issuer: IssuerKey,
    ) -> Result<Vec<Queued>, ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        let ids = db::invoices::pending(
            &mut conn,
            issuer.cuit,
            issuer.point_of_sale,
            issuer.receipt_type,
        )
        .await?;
        let mut queued = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = db::invoices::get(&mut conn, id).await? {
                queued.push(Queued {
                    invoice: id,
                    request: row.request(),
                });
            }
        }
        Ok(queued)
    }

    /// Issues one pending receipt (see the module's head for why this never duplicates
    /// or skips a number).
    #[activity(name = "issue_receipt")]
    pub async fn issue_receipt(
        self: Arc<Self>,
        ctx: ActivityContext,
        invoice: InvoiceId,
    ) -> Result<Issued, ActivityError> {
        crate::alive(&ctx, crate::within_attempt(&ctx, self.issue(invoice))).await
    }

    /// The daily check: the certificate's expiry (staff warned
    /// [`CERTIFICATE_WARNING_DAYS`] ahead), AFIP's service, the points of sale (synced
    /// into PostgreSQL; the configured one must be there and open). Warnings go to
    /// staff once a day each.
    #[activity(name = "check_afip")]
    pub async fn check_afip(
        self: Arc<Self>,
        ctx: ActivityContext,
        today: NaiveDate,
    ) -> Result<AfipCheck, ActivityError> {
        crate::alive(&ctx, async move {
            let Some(afip) = &self.afip else {
                return Ok(AfipCheck::default());
            };
            let mut check = AfipCheck::default();
            let usable = match &afip.credentials {
                Ok(credentials) => {
                    check.certificate_expires = Some(credentials.expires_at());
                    check.warnings.extend(certificate_warning(credentials.expires_at(), Utc::now()));
                    credentials.valid_at(std::time::SystemTime::now())
                }
                Err(e) => {
                    check.warnings.push(format!("el certificado o la clave de AFIP no se pueden usar: {e}"));
                    false
                }
            };
            if usable {
                match self.ticket(afip).await {
                    Ok(ticket) => match afip.wsfe.points_of_sale(&ticket).await {
                        Ok(points) => {
                            let rows: Vec<db::afip::PointOfSale> = points
                                .iter()
                                .map(|p| db::afip::PointOfSale {
                                    number: p.number,
                                    emission: p.emission.clone(),
                                    blocked: p.blocked,
                                    closed_on: p.closed_on,
                                })
                                .collect();
                            let mut conn = db::conn(&self.pool).await?;
                            db::afip::store_points_of_sale(&mut conn, afip.settings.cuit, &rows).await?;
                            check.points_of_sale = points.iter().map(|p| p.number).collect();
                            let configured = afip.settings.point_of_sale;
                            let usable = points.iter().any(|p| {
                                p.number == configured && !p.blocked && p.closed_on.is_none()
                            });
                            if !usable {
                                check.warnings.push(format!(
                                    "el punto de venta {configured} (AFIP_POINT_OF_SALE) no figura habilitado en AFIP (habilitados: {:?})",
                                    check.points_of_sale
                                ));
                            }
                        }
                        Err(e) => check.warnings.push(format!("AFIP no listó los puntos de venta: {e}")),
                    },
                    Err(e) => check.warnings.push(format!("AFIP no dio acceso (WSAA): {}", said(&e))),
                }
            }
            for (i, warning) in check.warnings.iter().enumerate() {
                tracing::warn!(%warning, "AFIP check");
                self.tell_staff(&format!("afip-check:{today}:{i}"), warning).await;
            }
            Ok(check)
        })
        .await
    }

    /// Sends the owner their copy of an authorized receipt (once), the PDF attached.
    #[activity(name = "deliver_receipt")]
    pub async fn deliver_receipt(
        self: Arc<Self>,
        ctx: ActivityContext,
        invoice: InvoiceId,
    ) -> Result<bool, ActivityError> {
        crate::alive(&ctx, async move {
            let Some(afip) = &self.afip else {
                return Ok(false);
            };
            let row = {
                let mut conn = db::conn(&self.pool).await?;
                db::invoices::get(&mut conn, invoice).await?
            };
            let Some(row) = row.filter(|r| r.state == "authorized") else {
                return Ok(false);
            };
            let Some(address) = row.owner_email.clone() else {
                tracing::info!(%invoice, "the owner has no email: the receipt is in their account");
                return Ok(false);
            };
            let original = match row.cancels {
                Some(id) => {
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::get(&mut conn, InvoiceId::from_uuid(id)).await?
                }
                None => None,
            };
            let sheet =
                documents::invoice::sheet(&afip.settings.letterhead(), &row, original.as_ref())
                    .ok_or_else(|| refused("the receipt is not complete"))?;
            let name = documents::invoice::file_name(&sheet);
            let pdf = tokio::task::spawn_blocking(move || documents::invoice::render(&sheet))
                .await
                .map_err(|e| again(e.to_string()))?
                .map_err(|e| refused(e.to_string()))?;
            let key = format!("invoice:{invoice}:email");
            let to = messages::email::Recipient {
                email: &address,
                full_name: &row.buyer_name,
            };
            let message = messages::email::receipt(&to, &key, &row, name, pdf);
            send_email_once(&self.pool, &self.mailer, &key, "receipt", &message)
                .await
                .map_err(|e| {
                    if crate::notices::retryable(&e) {
                        ActivityError::from(e)
                    } else {
                        refused(e.to_string())
                    }
                })?;
            let mut conn = db::conn(&self.pool).await?;
            db::invoices::mark_emailed(&mut conn, invoice).await?;
            Ok(true)
        })
        .await
    }
}

impl InvoiceActivities {
    /// Wakes the receipt's issuer (starting it if it is not running) with the receipt.
    async fn queued(&self, afip: &Afip, row: &InvoiceRow) -> Result<Requested, ActivityError> {
        let issuer = IssuerKey {
            cuit: afip.settings.cuit,
            point_of_sale: row.point_of_sale as u32,
            receipt_type: row.receipt_type,
        };
        if row.state != "pending" {
            return Ok(Requested::Queued {
                invoice: row.invoice_id(),
                issuer,
            });
        }
        let queued = Queued {
            invoice: row.invoice_id(),
            request: row.request(),
        };
        match &self.temporal {
            Some((client, task_queue)) => {
                crate::issuers::wake(client, task_queue, issuer, queued)
                    .await
                    .map_err(|e| again(format!("the issuer could not be woken: {e}")))?;
            }
            None => {
                tracing::warn!(invoice = %queued.invoice, "no Temporal client: the issuer finds the receipt on its next scan")
            }
        }
        Ok(Requested::Queued {
            invoice: row.invoice_id(),
            issuer,
        })
    }
}
