//! AFIP receipts: `GET /invoices/{id}` (the receipt; its owner or staff) and
//! `GET /invoices/{id}.pdf` (the printed receipt, stored the first time it is asked
//! for, so it never changes after), and staff's `POST /invoices/{id}/reissue` (a rejected receipt issued
//! again with the owner's record as it is now). Someone else's receipt is "not found".

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use db::invoices::InvoiceRow;
use domain::{
    InvoiceId,
    invoices::{IssuerKey, Queued, ReceiptType},
};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, Problem},
    extract::PathId,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(show_invoice, reissue_invoice))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invoices/{id}", get(show_invoice))
        .route("/invoices/{id}/reissue", post(reissue_invoice))
}

/// An AFIP receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    pub request_id: Uuid,
    /// `invoice` or `credit_note`.
    pub kind: &'static str,
    /// The credit note's invoice.
    pub cancels: Option<Uuid>,
    /// `pending`, `authorized` or `rejected`.
    pub state: String,
    /// AFIP's receipt type (CbteTipo): 1/3 A, 6/8 B, 11/13 C.
    pub receipt_type: i16,
    /// `A`, `B` or `C`.
    pub letter: String,
    pub point_of_sale: i32,
    /// Once authorized.
    pub number: Option<i64>,
    /// `PPPP-NNNNNNNN`, once authorized.
    pub number_label: Option<String>,
    pub date: Option<NaiveDate>,
    pub buyer_name: String,
    /// AFIP's document type (80 CUIT, 86 CUIL, 96 DNI, 99 none) and number (0: none).
    pub doc_type: i16,
    pub doc_number: i64,
    /// AFIP's buyer VAT condition (CondicionIVAReceptorId).
    pub buyer_vat_condition: i16,
    pub description: String,
    #[schema(value_type = String, example = "10000.00")]
    pub net: Decimal,
    #[schema(value_type = String, example = "2100.00")]
    pub vat: Decimal,
    #[schema(value_type = String, example = "12100.00")]
    pub total: Decimal,
    pub cae: Option<String>,
    pub cae_due: Option<NaiveDate>,
    pub authorized_at: Option<DateTime<Utc>>,
    /// AFIP's messages of the last answer (a rejection's reasons).
    pub afip_messages: Vec<String>,
    pub emailed_at: Option<DateTime<Utc>>,
    /// Once authorized: `GET` it for the printed receipt.
    pub pdf_url: Option<String>,
}

impl From<InvoiceRow> for InvoiceView {
    fn from(row: InvoiceRow) -> Self {
        let kind = ReceiptType(row.receipt_type);
        let authorized = row.state == "authorized";
        Self {
            pdf_url: authorized
                .then(|| format!("{}/invoices/{}.pdf", domain::paths::API_PREFIX, row.id)),
            number_label: row
                .number
                .filter(|_| authorized)
                .map(|n| domain::invoices::number_label(row.point_of_sale as u32, n as u64)),
            kind: if kind.is_credit_note() {
                "credit_note"
            } else {
                "invoice"
            },
            letter: kind.letter().to_string(),
            afip_messages: row
                .afip_messages
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            id: row.id,
            request_id: row.request_id,
            cancels: row.cancels,
            state: row.state,
            receipt_type: row.receipt_type,
            point_of_sale: row.point_of_sale,
            number: row.number.filter(|_| authorized),
            date: row.receipt_date.filter(|_| authorized),
            buyer_name: row.buyer_name,
            doc_type: row.doc_type,
            doc_number: row.doc_number,
            buyer_vat_condition: row.buyer_vat_condition,
            description: row.description,
            net: row.net,
            vat: row.vat,
            total: row.total,
            cae: row.cae,
            cae_due: row.cae_due,
            authorized_at: row.authorized_at,
            emailed_at: row.emailed_at,
        }
    }
}

/// The receipt, if the caller may see it (its request's owner, or staff).
async fn visible(user: &AuthUser, conn: &mut db::Conn, id: Uuid) -> Result<InvoiceRow, ApiError> {
    let row = db::invoices::get(conn, InvoiceId::from_uuid(id))
        .await?
        .ok_or(ApiError::NotFound("invoice"))?;
    let owns = user
        .owner
        .is_some_and(|o| Some(o.into_uuid()) == row.owner_id);
    if user.is_staff || owns {
        Ok(row)
    } else {
        Err(ApiError::NotFound("invoice"))
    }
}

#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "invoices",
    params(("id" = String, Path, description = "The receipt's id; with `.pdf` at the end, the printed receipt (`application/pdf`, once authorized)")),
    security(("bearer" = [])),
    responses((status = 200, body = InvoiceView, description = "The receipt (or, for `{id}.pdf`, its PDF)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The PDF of a receipt not authorized (yet)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// A receipt, or with `.pdf` its printed copy.
async fn show_invoice(
    user: AuthUser,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let (id, pdf) = match raw.strip_suffix(".pdf") {
        Some(id) => (id, true),
        None => (raw.as_str(), false),
    };
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "must be a UUID, or a UUID and `.pdf`"))?;
    let mut conn = db::conn(&state.pool).await?;
    let row = visible(&user, &mut conn, id).await?;
    if !pdf {
        return Ok(Json(InvoiceView::from(row)).into_response());
    }
    if row.state != "authorized" {
        return Err(ApiError::conflict(
            "invoice-not-authorized",
            format!(
                "the receipt is {}: only an authorized one is printed",
                row.state
            ),
        ));
    }
    let body = match &row.pdf_key {
        Some(key) => {
            let stream = state
                .storage
                .get(key)
                .await
                .map_err(crate::uploads::storage_unavailable)?;
            axum::body::Body::from_stream(stream)
        }
        None => {
            let Some(afip) = state.settings.afip.clone() else {
                return Err(ApiError::conflict(
                    "invoicing-off",
                    "invoicing is off on this server (AFIP_CUIT unset): the receipt cannot be printed",
                ));
            };
            let original = match row.cancels {
                Some(id) => db::invoices::get(&mut conn, InvoiceId::from_uuid(id)).await?,
                None => None,
            };
            let sheet = documents::invoice::sheet(&afip.letterhead(), &row, original.as_ref())
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("authorized receipt {id} is incomplete"))
                })?;
            let pdf = tokio::task::spawn_blocking(move || documents::invoice::render(&sheet))
                .await
                .map_err(|e| ApiError::Internal(e.into()))?
                .map_err(|e| ApiError::Internal(e.into()))?;
            let key = format!("invoices/{id}.pdf");
            state
                .storage
                .put(&key, bytes::Bytes::from(pdf.clone()))
                .await
                .map_err(crate::uploads::storage_unavailable)?;
            db::invoices::set_pdf_key(&mut conn, InvoiceId::from_uuid(id), &key).await?;
            axum::body::Body::from(pdf)
        }
    };
    let kind = ReceiptType(row.receipt_type);
    let name = format!(
        "{}-{}-{}.pdf",
        if kind.is_credit_note() {
            "nota-de-credito"
        } else {
            "factura"
        },
        kind.letter().to_ascii_lowercase(),
        domain::invoices::number_label(
            row.point_of_sale as u32,
            row.number.unwrap_or_default() as u64
        )
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    crate::uploads::attachment(headers, &name)?;
    Ok(response)
}

#[utoipa::path(post, path = "/api/v1/invoices/{id}/reissue", tag = "invoices",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 202, body = InvoiceView, description = "Back to pending, queued at its issuer"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not rejected, the sale was refunded, or the owner's record still cannot be invoiced", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Staff: issues a rejected receipt again: an invoice with the owner's document and VAT
/// condition as their record says now (its class may change with them, its number is
/// AFIP's next), a credit note with its invoice's buyer.
async fn reissue_invoice(
    StaffUser(_staff): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    let Some(afip) = state.settings.afip.clone() else {
        return Err(ApiError::conflict(
            "invoicing-off",
            "invoicing is off on this server",
        ));
    };
    let invoice = InvoiceId::from_uuid(id);
    let mut conn = db::conn(&state.pool).await?;
    let row = db::invoices::get(&mut conn, invoice)
        .await?
        .ok_or(ApiError::NotFound("invoice"))?;
    if row.state != "rejected" {
        return Err(ApiError::conflict(
            "invoice-not-rejected",
            format!(
                "the receipt is {}: only a rejected one is issued again",
                row.state
            ),
        ));
    }
    let again = match row.cancels {
        // A credit note names the invoice's buyer, whatever the record says now.
        Some(original) => {
            let original = db::invoices::get(&mut conn, InvoiceId::from_uuid(original))
                .await?
                .ok_or(ApiError::NotFound("invoice"))?;
            db::invoices::Reissue {
                receipt_type: row.receipt_type,
                buyer_name: original.buyer_name,
                doc_type: original.doc_type,
                doc_number: original.doc_number as u64,
                buyer_vat_condition: original.buyer_vat_condition,
                net: original.net,
                vat: original.vat,
            }
        }
        None => {
            if db::invoices::refunded(&mut conn, row.request()).await? {
                return Err(ApiError::conflict(
                    "invoice-sale-refunded",
                    "the sale was refunded: it needs no invoice",
                ));
            }
            let buyer = db::invoices::buyer_of(&mut conn, row.request())
                .await?
                .ok_or_else(|| {
                    ApiError::conflict(
                        "invoice-buyer-incomplete",
                        "the request has no owner to invoice",
                    )
                })?;
            let plan =
                domain::invoices::plan(afip.condition, &buyer, row.total, afip.anonymous_limit)
                    .map_err(|e| ApiError::conflict("invoice-buyer-incomplete", e.to_string()))?;
            db::invoices::Reissue {
                receipt_type: plan.receipt_type.0,
                buyer_name: buyer.name,
                doc_type: plan.doc_type,
                doc_number: plan.doc_number,
                buyer_vat_condition: plan.vat_condition,
                net: plan.amounts.net,
                vat: plan.amounts.vat,
            }
        }
    };
    if !db::invoices::reopen(&mut conn, invoice, &again).await? {
        return Err(ApiError::conflict(
            "invoice-not-rejected",
            "the receipt was re-issued meanwhile",
        ));
    }
    let row = db::invoices::get(&mut conn, invoice)
        .await?
        .ok_or(ApiError::NotFound("invoice"))?;
    drop(conn);
    let issuer = IssuerKey {
        cuit: afip.cuit,
        point_of_sale: row.point_of_sale as u32,
        receipt_type: row.receipt_type,
    };
    let queued = Queued {
        invoice,
        request: row.request(),
    };
    // Queued in PostgreSQL already: if Temporal is away, the issuer's next scan finds it.
    crate::workflow_client::wake_issuer(&state, issuer, queued).await;
    Ok((StatusCode::ACCEPTED, Json(InvoiceView::from(row))))
}
