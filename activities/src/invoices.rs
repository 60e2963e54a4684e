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
    invoices::{Authorized, QrData, ReceiptType, VAT_21_ID},
};
use integrations::{
    afip::{
        AfipSettings, Credentials, Ticket, WsaaClient, WsfeClient, WsfeError,
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

use crate::sends::send_email_once;

/// The WSAA service the tickets are for.
const SERVICE: &str = "wsfe";

/// A ticket is renewed this long before it expires.
const RENEW_AHEAD: chrono::Duration = chrono::Duration::minutes(10);

/// One issuer: receipts of one type from one point of sale of one taxpayer.
///
/// FROZEN wire type: it reaches workflow histories, so fields are only ever added, with a
/// serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IssuerKey {
    pub cuit: u64,
    pub point_of_sale: u32,
    pub receipt_type: i16,
}

impl IssuerKey {
    /// The id of the issuer's workflow: one per key (and task queue, so deployments
    /// and tests sharing a Temporal namespace never share an issuer), so receipts of a
    /// pair are issued one at a time.
    pub fn workflow_id(&self, task_queue: &str) -> String {
        format!(
            "invoice-issuer:{task_queue}:{}:{}:{}",
            self.cuit, self.point_of_sale, self.receipt_type
        )
    }
}

/// A receipt waiting for its issuer.
///
/// FROZEN wire type (a signal's payload and an activity's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub invoice: InvoiceId,
    pub request: RequestId,
}

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

/// What the daily check of the taxpayer's AFIP setup found.
///
/// FROZEN wire type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfipCheck {
    /// When the certificate expires (`None`: unreadable).
    pub certificate_expires: Option<chrono::DateTime<Utc>>,
    /// The web-service points of sale AFIP lists.
    pub points_of_sale: Vec<u32>,
    /// What staff were told.
    pub warnings: Vec<String>,
}

/// Staff are warned this many days before the certificate expires.
pub const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// What is wrong with a certificate expiring at `expires`, seen at `now`.
pub fn certificate_warning(
    expires: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> Option<String> {
    let left = (expires - now).num_days();
    if expires <= now {
        Some(format!(
            "el certificado de AFIP venció el {}: no se emiten facturas hasta cargar uno nuevo (`api afip-csr`, ver docs/AFIP.md)",
            expires.format("%d/%m/%Y")
        ))
    } else if left < CERTIFICATE_WARNING_DAYS {
        Some(format!(
            "el certificado de AFIP vence el {} (faltan {left} días): generá uno nuevo con `api afip-csr` y subilo a AFIP (ver docs/AFIP.md)",
            expires.format("%d/%m/%Y")
        ))
    } else {
        None
    }
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
                let receipt_type = domain::invoices::ReceiptType::issued_by(settings.condition)
                    .first()
                    .copied()
                    .unwrap_or(ReceiptType::FACTURA_C);
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
        };
        let row = db::invoices::insert(&mut conn, &new).await?;
        if let Some(why) = why {
            if row.state == "pending" {
                db::invoices::reject(
                    &mut conn,
                    row.invoice_id(),
                    &messages_json(std::slice::from_ref(&why)),
                )
                .await?;
            }
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
        crate::within_attempt(&ctx, self.issue(invoice)).await
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
                            let rows: Vec<db::invoices::PointOfSale> = points
                                .iter()
                                .map(|p| db::invoices::PointOfSale {
                                    number: p.number,
                                    emission: p.emission.clone(),
                                    blocked: p.blocked,
                                    closed_on: p.closed_on,
                                })
                                .collect();
                            let mut conn = db::conn(&self.pool).await?;
                            db::invoices::store_points_of_sale(&mut conn, afip.settings.cuit, &rows).await?;
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
            let sheet = sheet(&afip.settings, &row, original.as_ref())
                .ok_or_else(|| refused("the receipt is not complete"))?;
            let name = documents::invoice::file_name(&sheet);
            let pdf = tokio::task::spawn_blocking(move || documents::invoice::render(&sheet))
                .await
                .map_err(|e| again(e.to_string()))?
                .map_err(|e| refused(e.to_string()))?;
            let key = format!("invoice:{invoice}:email");
            let to = crate::email::Recipient {
                email: &address,
                full_name: &row.buyer_name,
            };
            let message = crate::email::receipt(&to, &key, &row, name, pdf);
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

/// The printable receipt of an authorized row.
pub fn sheet(
    settings: &AfipSettings,
    row: &InvoiceRow,
    original: Option<&InvoiceRow>,
) -> Option<documents::invoice::InvoiceSheet> {
    let number = row.number? as u64;
    let date = row.receipt_date?;
    let cae = row.cae.clone()?;
    let cae_due = row.cae_due?;
    let receipt_type = ReceiptType(row.receipt_type);
    let qr = QrData::of(&Authorized {
        issuer_cuit: row.issuer_cuit as u64,
        point_of_sale: row.point_of_sale as u32,
        receipt_type,
        number,
        date,
        total: row.total,
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        cae: cae.clone(),
    });
    let cancels = original.and_then(|o| {
        let kind = ReceiptType(o.receipt_type);
        Some(format!(
            "{} {} {}",
            kind.name(),
            kind.letter(),
            domain::invoices::number_label(o.point_of_sale as u32, o.number? as u64)
        ))
    });
    Some(documents::invoice::InvoiceSheet {
        issuer: documents::invoice::Issuer {
            name: settings.business_name.clone(),
            cuit: row.issuer_cuit as u64,
            address: settings.address.clone(),
            condition: settings.condition.label().to_owned(),
            gross_income: settings.gross_income.clone(),
            activity_start: settings.activity_start,
        },
        receipt_type,
        point_of_sale: row.point_of_sale as u32,
        number,
        date,
        service_date: row.service_date,
        buyer_name: row.buyer_name.clone(),
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        buyer_condition: vat_condition_name(row.buyer_vat_condition).to_owned(),
        description: row.description.clone(),
        net: row.net,
        vat: row.vat,
        total: row.total,
        cae,
        cae_due,
        qr_url: qr.url(&settings.qr_base),
        cancels,
    })
}

/// AFIP's names of the buyer conditions (the `vat_conditions` table's).
pub fn vat_condition_name(id: i16) -> &'static str {
    match id {
        1 => "IVA Responsable Inscripto",
        4 => "IVA Sujeto Exento",
        6 => "Responsable Monotributo",
        7 => "Sujeto No Categorizado",
        13 => "Monotributista Social",
        15 => "IVA No Alcanzado",
        16 => "Monotributo Trabajador Independiente Promovido",
        _ => "Consumidor Final",
    }
}

impl InvoiceActivities {
    /// A staff alert about invoicing as a whole (not one request); best effort.
    async fn tell_staff(&self, key: &str, text: &str) {
        let Some((mercately, phone, email)) = &self.staff else {
            tracing::warn!(%text, "AFIP alert (no staff contacts)");
            return;
        };
        let text = format!("AFIP: {text}");
        if let Some(phone) = phone {
            let params = vec![text.clone()];
            if let Err(e) = crate::sends::send_template_once(
                &self.pool,
                mercately,
                key,
                phone,
                "staff_alert",
                &params,
            )
            .await
            {
                tracing::error!(error = %e, "AFIP alert not sent on WhatsApp");
            }
        }
        if let Some(address) = email {
            let key = format!("{key}:email");
            let message =
                crate::email::staff_notice(address, &key, "Atención: facturación AFIP", &text);
            if let Err(e) =
                send_email_once(&self.pool, &self.mailer, &key, "staff_alert", &message).await
            {
                tracing::error!(error = %e, "AFIP alert not sent by email");
            }
        }
    }

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

    /// A ticket for WSFE: the shared one while it has more than [`RENEW_AHEAD`] left,
    /// else a new one, asked for by one caller at a time.
    async fn ticket(&self, afip: &Afip) -> Result<Ticket, ActivityError> {
        let settings = &afip.settings;
        let env = settings.environment.as_str();
        let fresh = |t: &db::invoices::TicketRow| t.expires_at - RENEW_AHEAD > Utc::now();
        let as_ticket = |t: db::invoices::TicketRow| Ticket {
            token: t.token,
            sign: t.sign,
            generated_at: t.generated_at,
            expires_at: t.expires_at,
        };
        let mut conn = db::conn(&self.pool).await?;
        if let Some(cached) = db::invoices::ticket(&mut conn, settings.cuit, SERVICE, env).await?
            && fresh(&cached)
        {
            return Ok(as_ticket(cached));
        }
        let credentials = afip
            .credentials
            .as_ref()
            .map_err(|e| refused(format!("the AFIP certificate cannot be used: {e}")))?;
        if !credentials.valid_at(std::time::SystemTime::now()) {
            return Err(refused(format!(
                "the AFIP certificate expired on {}: make a new one with `api afip-csr` and upload it to AFIP",
                credentials.expires_at().format("%Y-%m-%d")
            )));
        }
        use db::AsyncConnection;
        let cuit = settings.cuit;
        let wsaa = afip.wsaa.clone();
        let credentials = credentials.clone();
        let outcome = conn
            .transaction::<_, anyhow::Error, _>(async move |conn| {
                db::invoices::lock_ticket(conn, cuit, SERVICE, env).await?;
                // Someone may have renewed it while this caller waited for the lock.
                if let Some(cached) = db::invoices::ticket(conn, cuit, SERVICE, env).await?
                    && cached.expires_at - RENEW_AHEAD > Utc::now()
                {
                    return Ok(Ok(cached));
                }
                match wsaa.login(&credentials, SERVICE).await {
                    Ok(ticket) => {
                        let row = db::invoices::TicketRow {
                            token: ticket.token,
                            sign: ticket.sign,
                            generated_at: ticket.generated_at,
                            expires_at: ticket.expires_at,
                        };
                        db::invoices::store_ticket(conn, cuit, SERVICE, env, &row).await?;
                        Ok(Ok(row))
                    }
                    Err(e) => Ok(Err(e)),
                }
            })
            .await?;
        match outcome {
            Ok(row) => Ok(as_ticket(row)),
            Err(WsaaError::Fault(integrations::afip::WsaaFault::AlreadyAuthenticated)) => {
                // Another holder of the certificate has a fresh ticket we do not:
                // use ours if it is still valid at all, else wait for the window.
                let mut conn = db::conn(&self.pool).await?;
                match db::invoices::ticket(&mut conn, cuit, SERVICE, env).await? {
                    Some(cached) if cached.expires_at > Utc::now() => Ok(as_ticket(cached)),
                    _ => Err(again(
                        integrations::afip::WsaaFault::AlreadyAuthenticated.to_string(),
                    )),
                }
            }
            Err(e) if e.is_retryable() => Err(again(e.to_string())),
            Err(e) => Err(refused(e.to_string())),
        }
    }

    async fn forget_ticket(&self, afip: &Afip) -> Result<(), ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        let env = afip.settings.environment.as_str();
        db::invoices::drop_ticket(&mut conn, afip.settings.cuit, SERVICE, env).await?;
        Ok(())
    }

    async fn issue(&self, invoice: InvoiceId) -> Result<Issued, ActivityError> {
        let Some(afip) = &self.afip else {
            return Err(refused("invoicing is off"));
        };
        let row = {
            let mut conn = db::conn(&self.pool).await?;
            db::invoices::get(&mut conn, invoice).await?
        };
        let Some(row) = row else {
            return Err(refused(format!("no receipt {invoice}")));
        };
        if row.state != "pending" {
            return Ok(Issued::Settled { state: row.state });
        }
        let original = match row.cancels {
            None => None,
            Some(id) => {
                let mut conn = db::conn(&self.pool).await?;
                let original = db::invoices::get(&mut conn, InvoiceId::from_uuid(id)).await?;
                match original {
                    Some(o) if o.state == "authorized" => Some(o),
                    Some(o) if o.state == "pending" => {
                        return Err(again(
                            "the invoice this credit note cancels is not authorized yet",
                        ));
                    }
                    _ => {
                        let why =
                            "the invoice this credit note cancels was never authorized".to_owned();
                        db::invoices::reject(
                            &mut conn,
                            invoice,
                            &messages_json(std::slice::from_ref(&why)),
                        )
                        .await?;
                        return Ok(Issued::Rejected {
                            messages: vec![why],
                        });
                    }
                }
            }
        };
        let ticket = self.ticket(afip).await?;
        let (pv, kind) = (row.point_of_sale as u32, row.receipt_type);
        let wsfe = &afip.wsfe;
        // A number taken before: what became of it?
        if let Some(number) = row.number {
            match wsfe.lookup(&ticket, pv, kind, number as u64).await {
                Ok(found)
                    if found.total == row.total
                        && found.doc_type == row.doc_type
                        && found.doc_number == row.doc_number as u64
                        && Some(found.date) == row.receipt_date =>
                {
                    let note = vec![format!(
                        "authorized as {} (CAE {}), found by FECompConsultar after its answer was lost",
                        domain::invoices::number_label(pv, number as u64),
                        found.cae
                    )];
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::authorize(
                        &mut conn,
                        invoice,
                        &found.cae,
                        found.cae_due,
                        &messages_json(&note),
                    )
                    .await?;
                    tracing::info!(%invoice, number, "receipt recovered by FECompConsultar");
                    return Ok(Issued::Authorized {
                        number: number as u64,
                        cae: found.cae,
                        recovered: true,
                    });
                }
                Ok(other) => {
                    let why = vec![format!(
                        "number {number} was issued to another receipt (total {}, document {} {}): taking the next",
                        other.total, other.doc_type, other.doc_number
                    )];
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::free_number(&mut conn, invoice, &messages_json(&why)).await?;
                }
                Err(WsfeError::NotFound) => {
                    let mut conn = db::conn(&self.pool).await?;
                    let why = vec![format!(
                        "number {number} was not issued (602): sending again"
                    )];
                    db::invoices::free_number(&mut conn, invoice, &messages_json(&why)).await?;
                }
                Err(WsfeError::Ticket(m)) => {
                    self.forget_ticket(afip).await?;
                    return Err(again(format!("AFIP refused the ticket: {m:?}")));
                }
                Err(e) => {
                    return Err(again(format!(
                        "the receipt's number {number} could not be looked up: {e}"
                    )));
                }
            }
        }
        for _ in 0..3 {
            let last = match wsfe.last_authorized(&ticket, pv, kind).await {
                Ok(last) => last,
                Err(WsfeError::Ticket(m)) => {
                    self.forget_ticket(afip).await?;
                    return Err(again(format!("AFIP refused the ticket: {m:?}")));
                }
                Err(e) => return Err(again(e.to_string())),
            };
            let number = last + 1;
            let date = today();
            {
                let mut conn = db::conn(&self.pool).await?;
                if !db::invoices::take_number(&mut conn, invoice, number, date).await? {
                    return Ok(Issued::Settled {
                        state: "settled".into(),
                    });
                }
            }
            let request =
                receipt_request(&row, original.as_ref(), number, date, afip.settings.cuit);
            match wsfe.authorize(&ticket, &request).await {
                Ok(Authorization::Approved {
                    cae,
                    cae_due,
                    observations,
                }) => {
                    let said: Vec<String> = observations.iter().map(ToString::to_string).collect();
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::authorize(
                        &mut conn,
                        invoice,
                        &cae,
                        cae_due,
                        &messages_json(&said),
                    )
                    .await?;
                    return Ok(Issued::Authorized {
                        number,
                        cae,
                        recovered: false,
                    });
                }
                Ok(Authorization::Rejected { messages }) => {
                    let said: Vec<String> = messages.iter().map(ToString::to_string).collect();
                    let mut conn = db::conn(&self.pool).await?;
                    if Rejection::of(&messages) == Rejection::OutOfSequence {
                        // Someone else issued this number (or a later date): read the
                        // last number again.
                        db::invoices::free_number(&mut conn, invoice, &messages_json(&said))
                            .await?;
                        tracing::warn!(%invoice, number, ?said, "10016: reading the last number again");
                        continue;
                    }
                    db::invoices::reject(&mut conn, invoice, &messages_json(&said)).await?;
                    return Ok(Issued::Rejected { messages: said });
                }
                Err(WsfeError::Ticket(m)) => {
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::free_number(&mut conn, invoice, &serde_json::json!([])).await?;
                    drop(conn);
                    self.forget_ticket(afip).await?;
                    return Err(again(format!("AFIP refused the ticket: {m:?}")));
                }
                Err(WsfeError::Unreachable(why)) => {
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::free_number(&mut conn, invoice, &serde_json::json!([])).await?;
                    return Err(again(format!("AFIP could not be reached: {why}")));
                }
                Err(WsfeError::Refused(m)) => {
                    let said: Vec<String> = m.iter().map(ToString::to_string).collect();
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::reject(&mut conn, invoice, &messages_json(&said)).await?;
                    return Ok(Issued::Rejected { messages: said });
                }
                // Unanswered or unreadable: the number stays taken; the next attempt
                // looks it up before anything else.
                Err(e) => {
                    return Err(again(format!(
                        "AFIP's answer for number {number} was lost: {e}"
                    )));
                }
            }
        }
        Err(again(
            "AFIP kept answering 10016 (numbers taken elsewhere); trying again later",
        ))
    }
}

/// `FECAESolicitar`'s receipt for `row` with `number`, dated `date`.
fn receipt_request(
    row: &InvoiceRow,
    original: Option<&InvoiceRow>,
    number: u64,
    date: NaiveDate,
    cuit: u64,
) -> ReceiptRequest {
    let kind = ReceiptType(row.receipt_type);
    ReceiptRequest {
        point_of_sale: row.point_of_sale as u32,
        receipt_type: row.receipt_type,
        number,
        date,
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        total: row.total,
        net: row.net,
        vat: row.vat,
        service_from: row.service_date,
        service_to: row.service_date,
        payment_due: date.max(row.service_date),
        vat_condition: row.buyer_vat_condition,
        associated: original.and_then(|o| {
            Some(Associated {
                receipt_type: o.receipt_type,
                point_of_sale: o.point_of_sale as u32,
                number: o.number? as u64,
                cuit,
                date: o.receipt_date?,
            })
        }),
        vat_lines: if kind.itemizes_vat() {
            vec![VatLine {
                id: VAT_21_ID,
                base: row.net,
                amount: row.vat,
            }]
        } else {
            Vec::new()
        },
    }
}
