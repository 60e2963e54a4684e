//! AFIP receipts: the sale an invoice is for, the invoice and credit-note rows and the
//! steps of their issue (a number taken before sending, then authorized, or freed and
//! rejected). Rows are never deleted (a trigger refuses it). AFIP's ticket and points
//! of sale are in [`crate::afip`].

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    OptionalExtension, QueryableByName,
    sql_types::{
        Bool, Date, Int2, Int4, Int8, Jsonb, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid,
    },
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{InvoiceId, RequestId, invoices::Buyer};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::Error;

/// What a paid visit's invoice is for: who paid, what, when, how much.
#[derive(Debug, Clone)]
pub struct Sale {
    pub request_id: Uuid,
    pub visit_id: Uuid,
    pub service_date: NaiveDate,
    pub buyer: Buyer,
    pub description: String,
    pub total: Decimal,
}

#[derive(QueryableByName)]
struct SaleRow {
    #[diesel(sql_type = SqlUuid)]
    request_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    visit_id: Uuid,
    #[diesel(sql_type = Date)]
    service_date: NaiveDate,
    #[diesel(sql_type = Text)]
    full_name: String,
    #[diesel(sql_type = Nullable<Int2>)]
    document_type_id: Option<i16>,
    #[diesel(sql_type = Nullable<Text>)]
    document_number: Option<String>,
    #[diesel(sql_type = Nullable<Int2>)]
    vat_condition_id: Option<i16>,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Numeric)]
    amount: Decimal,
}

/// The sale of `request`, paid with MercadoPago payment `payment` (approved), with the
/// visit's day in Argentina; `None` when there is no such visit or payment.
pub async fn sale(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    payment: i64,
) -> Result<Option<Sale>, Error> {
    let row: Option<SaleRow> = diesel::sql_query(
        "SELECT r.id AS request_id, v.id AS visit_id, \
                (lower(v.scheduled) AT TIME ZONE $3)::date AS service_date, \
                o.full_name, o.document_type_id, o.document_number, o.vat_condition_id, \
                left('Visita veterinaria a domicilio' || coalesce(': ' || s.name, '') \
                     || coalesce(' (' || p.name || ')', ''), 200) AS description, \
                pay.amount \
           FROM service_requests r \
           JOIN visits v ON v.request_id = r.id AND v.deleted_at IS NULL \
           JOIN pet_owners o ON o.id = r.owner_id \
           JOIN payments pay ON pay.id = $2 AND pay.request_id = r.id AND pay.status = 'approved' \
           LEFT JOIN services s ON s.id = r.service_id \
           LEFT JOIN pets p ON p.id = r.pet_id \
          WHERE r.id = $1",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<Int8, _>(payment)
    .bind::<Text, _>(domain::time::ZONE)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| Sale {
        request_id: r.request_id,
        visit_id: r.visit_id,
        service_date: r.service_date,
        buyer: Buyer {
            name: r.full_name,
            doc_type: r.document_type_id,
            doc_number: r.document_number,
            vat_condition: r.vat_condition_id,
        },
        description: r.description,
        total: r.amount,
    }))
}

/// An invoice or credit note to be issued.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub id: InvoiceId,
    pub request_id: RequestId,
    pub visit_id: Uuid,
    pub cancels: Option<InvoiceId>,
    pub issuer_cuit: u64,
    pub point_of_sale: u32,
    pub receipt_type: i16,
    pub service_date: NaiveDate,
    pub buyer_name: String,
    pub doc_type: i16,
    pub doc_number: u64,
    pub buyer_vat_condition: i16,
    pub description: String,
    pub net: Decimal,
    pub vat: Decimal,
    pub total: Decimal,
    /// Written `rejected` at once with these reasons (the owner's record cannot be
    /// invoiced as it stands); `None`: `pending`.
    pub rejected_because: Option<Vec<String>>,
}

#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct InvoiceRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub request_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub cancels: Option<Uuid>,
    #[diesel(sql_type = Int8)]
    pub issuer_cuit: i64,
    #[diesel(sql_type = Int4)]
    pub point_of_sale: i32,
    #[diesel(sql_type = Int2)]
    pub receipt_type: i16,
    #[diesel(sql_type = Nullable<Int8>)]
    pub number: Option<i64>,
    #[diesel(sql_type = Nullable<Date>)]
    pub receipt_date: Option<NaiveDate>,
    #[diesel(sql_type = Date)]
    pub service_date: NaiveDate,
    #[diesel(sql_type = Text)]
    pub buyer_name: String,
    #[diesel(sql_type = Int2)]
    pub doc_type: i16,
    #[diesel(sql_type = Int8)]
    pub doc_number: i64,
    #[diesel(sql_type = Int2)]
    pub buyer_vat_condition: i16,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Numeric)]
    pub net: Decimal,
    #[diesel(sql_type = Numeric)]
    pub vat: Decimal,
    #[diesel(sql_type = Numeric)]
    pub total: Decimal,
    /// `pending`, `authorized` or `rejected`.
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub cae: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub cae_due: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub authorized_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Jsonb)]
    pub afip_messages: serde_json::Value,
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub pdf_key: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub emailed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// The last change (while a pending receipt holds a number: when it took it).
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    /// The owner of the request (who may read it), and where their copy goes.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub owner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner_email: Option<String>,
}

impl InvoiceRow {
    pub fn invoice_id(&self) -> InvoiceId {
        InvoiceId::from_uuid(self.id)
    }

    pub fn request(&self) -> RequestId {
        RequestId::from_uuid(self.request_id)
    }
}

const SELECT: &str = "SELECT i.id, i.request_id, i.visit_id, i.cancels, i.issuer_cuit, \
        i.point_of_sale, i.receipt_type, i.number, i.receipt_date, i.service_date, \
        i.buyer_name, i.doc_type, i.doc_number, i.buyer_vat_condition, i.description, \
        i.net, i.vat, i.total, i.state, i.cae::text AS cae, i.cae_due, i.authorized_at, \
        i.afip_messages, i.attempts, i.pdf_key, i.emailed_at, i.created_at, i.updated_at, \
        r.owner_id, o.email AS owner_email \
   FROM invoices i \
   JOIN service_requests r ON r.id = i.request_id \
   LEFT JOIN pet_owners o ON o.id = r.owner_id";

/// Inserts `new` unless the request already has its invoice (or the invoice its credit
/// note); either way the row that stands.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewInvoice) -> Result<InvoiceRow, Error> {
    diesel::sql_query(
        "INSERT INTO invoices (id, request_id, visit_id, cancels, issuer_cuit, point_of_sale, \
            receipt_type, service_date, buyer_name, doc_type, doc_number, buyer_vat_condition, \
            description, net, vat, total, state, afip_messages) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
            CASE WHEN $17 THEN 'rejected' ELSE 'pending' END, $18) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(new.id.into_uuid())
    .bind::<SqlUuid, _>(new.request_id.into_uuid())
    .bind::<SqlUuid, _>(new.visit_id)
    .bind::<Nullable<SqlUuid>, _>(new.cancels.map(InvoiceId::into_uuid))
    .bind::<Int8, _>(new.issuer_cuit as i64)
    .bind::<Int4, _>(new.point_of_sale as i32)
    .bind::<Int2, _>(new.receipt_type)
    .bind::<Date, _>(new.service_date)
    .bind::<Text, _>(&new.buyer_name)
    .bind::<Int2, _>(new.doc_type)
    .bind::<Int8, _>(new.doc_number as i64)
    .bind::<Int2, _>(new.buyer_vat_condition)
    .bind::<Text, _>(&new.description)
    .bind::<Numeric, _>(new.net)
    .bind::<Numeric, _>(new.vat)
    .bind::<Numeric, _>(new.total)
    .bind::<Bool, _>(new.rejected_because.is_some())
    .bind::<Jsonb, _>(serde_json::Value::from(
        new.rejected_because.clone().unwrap_or_default(),
    ))
    .execute(conn)
    .await?;
    let standing = match new.cancels {
        None => invoice_of(conn, new.request_id).await?,
        Some(invoice) => note_of(conn, invoice).await?,
    };
    standing.ok_or(Error::Query(diesel::result::Error::NotFound))
}

pub async fn get(conn: &mut AsyncPgConnection, id: InvoiceId) -> Result<Option<InvoiceRow>, Error> {
    Ok(diesel::sql_query(format!("{SELECT} WHERE i.id = $1"))
        .bind::<SqlUuid, _>(id.into_uuid())
        .get_result(conn)
        .await
        .optional()?)
}

/// The request's invoice (not its credit note).
pub async fn invoice_of(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<InvoiceRow>, Error> {
    Ok(diesel::sql_query(format!(
        "{SELECT} WHERE i.request_id = $1 AND i.cancels IS NULL"
    ))
    .bind::<SqlUuid, _>(request.into_uuid())
    .get_result(conn)
    .await
    .optional()?)
}

/// The credit note of `invoice`.
pub async fn note_of(
    conn: &mut AsyncPgConnection,
    invoice: InvoiceId,
) -> Result<Option<InvoiceRow>, Error> {
    Ok(diesel::sql_query(format!("{SELECT} WHERE i.cancels = $1"))
        .bind::<SqlUuid, _>(invoice.into_uuid())
        .get_result(conn)
        .await
        .optional()?)
}

/// The request's receipts, oldest first.
pub async fn of_request(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Vec<InvoiceRow>, Error> {
    Ok(diesel::sql_query(format!(
        "{SELECT} WHERE i.request_id = $1 ORDER BY i.created_at, i.id"
    ))
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The receipts waiting for the issuer of (CUIT, point of sale, type), oldest first.
pub async fn pending(
    conn: &mut AsyncPgConnection,
    cuit: u64,
    point_of_sale: u32,
    receipt_type: i16,
) -> Result<Vec<InvoiceId>, Error> {
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT id FROM invoices WHERE state = 'pending' AND issuer_cuit = $1 \
            AND point_of_sale = $2 AND receipt_type = $3 ORDER BY created_at, id",
    )
    .bind::<Int8, _>(cuit as i64)
    .bind::<Int4, _>(point_of_sale as i32)
    .bind::<Int2, _>(receipt_type)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| InvoiceId::from_uuid(r.id))
        .collect())
}

/// Takes `number`, dated `date`, for the pending receipt `id` that holds none, before it
/// is sent; `false` when the receipt is no longer pending or already holds a number
/// (another attempt's).
pub async fn take_number(
    conn: &mut AsyncPgConnection,
    id: InvoiceId,
    number: u64,
    date: NaiveDate,
) -> Result<bool, Error> {
    let changed = diesel::sql_query(
        "UPDATE invoices SET number = $2, receipt_date = $3, attempts = attempts + 1, \
                updated_at = now() \
          WHERE id = $1 AND state = 'pending' AND number IS NULL",
    )
    .bind::<SqlUuid, _>(id.into_uuid())
    .bind::<Int8, _>(number as i64)
    .bind::<Date, _>(date)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Frees `number` of the pending receipt `id` (AFIP did not issue it), with why; the
/// date it was sent with stays, to recognize it if AFIP has it after all. `false` when
/// the receipt no longer holds that number.
pub async fn free_number(
    conn: &mut AsyncPgConnection,
    id: InvoiceId,
    number: u64,
    messages: &serde_json::Value,
) -> Result<bool, Error> {
    let changed = diesel::sql_query(
        "UPDATE invoices SET number = NULL, afip_messages = $3, \
                updated_at = now() WHERE id = $1 AND state = 'pending' AND number = $2",
    )
    .bind::<SqlUuid, _>(id.into_uuid())
    .bind::<Int8, _>(number as i64)
    .bind::<Jsonb, _>(messages)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Records AFIP's authorization of the pending receipt holding `number`; `false` when it
/// no longer holds it (the caller must not take the receipt for done).
pub async fn authorize(
    conn: &mut AsyncPgConnection,
    id: InvoiceId,
    number: u64,
    cae: &str,
    cae_due: NaiveDate,
    messages: &serde_json::Value,
) -> Result<bool, Error> {
    let changed = diesel::sql_query(
        "UPDATE invoices SET state = 'authorized', cae = $3, cae_due = $4, \
                authorized_at = now(), afip_messages = $5, updated_at = now() \
          WHERE id = $1 AND state = 'pending' AND number = $2",
    )
    .bind::<SqlUuid, _>(id.into_uuid())
    .bind::<Int8, _>(number as i64)
    .bind::<Text, _>(cae)
    .bind::<Date, _>(cae_due)
    .bind::<Jsonb, _>(messages)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Marks the pending receipt rejected (its number freed), with AFIP's messages.
pub async fn reject(
    conn: &mut AsyncPgConnection,
    id: InvoiceId,
    messages: &serde_json::Value,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE invoices SET state = 'rejected', number = NULL, receipt_date = NULL, \
                afip_messages = $2, updated_at = now() WHERE id = $1 AND state = 'pending'",
    )
    .bind::<SqlUuid, _>(id.into_uuid())
    .bind::<Jsonb, _>(messages)
    .execute(conn)
    .await?;
    Ok(())
}

/// A rejected receipt back to pending (staff re-issue it), as `again` says now (type,
/// buyer, amounts); `false` when it was not rejected.
pub async fn reopen(
    conn: &mut AsyncPgConnection,
    id: InvoiceId,
    again: &Reissue,
) -> Result<bool, Error> {
    let changed = diesel::sql_query(
        "UPDATE invoices SET state = 'pending', receipt_type = $2, buyer_name = $3, doc_type = $4, \
                doc_number = $5, buyer_vat_condition = $6, net = $7, vat = $8, updated_at = now() \
          WHERE id = $1 AND state = 'rejected'",
    )
    .bind::<SqlUuid, _>(id.into_uuid())
    .bind::<Int2, _>(again.receipt_type)
    .bind::<Text, _>(&again.buyer_name)
    .bind::<Int2, _>(again.doc_type)
    .bind::<Int8, _>(again.doc_number as i64)
    .bind::<Int2, _>(again.buyer_vat_condition)
    .bind::<Numeric, _>(again.net)
    .bind::<Numeric, _>(again.vat)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// What a re-issued receipt becomes.
#[derive(Debug, Clone)]
pub struct Reissue {
    pub receipt_type: i16,
    pub buyer_name: String,
    pub doc_type: i16,
    pub doc_number: u64,
    pub buyer_vat_condition: i16,
    pub net: Decimal,
    pub vat: Decimal,
}

/// Whether any payment of `request` was refunded (in part or whole).
pub async fn refunded(conn: &mut AsyncPgConnection, request: RequestId) -> Result<bool, Error> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        refunded: bool,
    }
    let row: Row = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM payments WHERE request_id = $1 \
                AND (refunded_amount > 0 OR status IN ('refunded', 'charged_back'))) AS refunded",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .get_result(conn)
    .await?;
    Ok(row.refunded)
}

/// Where the receipt's PDF is stored.
pub async fn set_pdf_key(
    conn: &mut AsyncPgConnection,
    id: InvoiceId,
    key: &str,
) -> Result<(), Error> {
    diesel::sql_query("UPDATE invoices SET pdf_key = $2, updated_at = now() WHERE id = $1")
        .bind::<SqlUuid, _>(id.into_uuid())
        .bind::<Text, _>(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// The owner was sent their copy.
pub async fn mark_emailed(conn: &mut AsyncPgConnection, id: InvoiceId) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE invoices SET emailed_at = coalesce(emailed_at, now()), updated_at = now() WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id.into_uuid())
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct OwnerRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    owner_id: Option<Uuid>,
}

/// The owner of `request`: `None` when there is no such request, `Some(None)` for a
/// request without an owner.
pub async fn request_owner(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<Option<Uuid>>, Error> {
    let row: Option<OwnerRow> =
        diesel::sql_query("SELECT owner_id FROM service_requests WHERE id = $1")
            .bind::<SqlUuid, _>(request.into_uuid())
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|r| r.owner_id))
}

#[derive(QueryableByName)]
struct BuyerRow {
    #[diesel(sql_type = Text)]
    full_name: String,
    #[diesel(sql_type = Nullable<Int2>)]
    document_type_id: Option<i16>,
    #[diesel(sql_type = Nullable<Text>)]
    document_number: Option<String>,
    #[diesel(sql_type = Nullable<Int2>)]
    vat_condition_id: Option<i16>,
}

/// The buyer of `request` as the owner's record says now (`None`: the request has no
/// owner).
pub async fn buyer_of(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<Buyer>, Error> {
    let row: Option<BuyerRow> = diesel::sql_query(
        "SELECT o.full_name, o.document_type_id, o.document_number, o.vat_condition_id \
           FROM service_requests r JOIN pet_owners o ON o.id = r.owner_id WHERE r.id = $1",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|row| Buyer {
        name: row.full_name,
        doc_type: row.document_type_id,
        doc_number: row.document_number,
        vat_condition: row.vat_condition_id,
    }))
}
