//! Prices (versioned per service, general or per vet), turn-fee groups, discounts, and
//! quotes. Everyone reads the price lists; staff write them (a vet schedules their own
//! prices). A quote is the price of one visit, line by line; see `domain::pricing` for
//! the rules.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get, post},
};
use chrono::{NaiveDate, NaiveTime, Utc};
use domain::pricing::{Adjustment, AmountKind, DiscountRule};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{ApiJson, PathId};
use crate::routes::helpers::Scoped;
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    booking::quote::{Quote, QuoteBody, quote},
    error::{ApiError, FieldError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_prices,
    schedule_price,
    list_turn_fee_groups,
    add_turn_fee_group,
    delete_turn_fee_group,
    list_discounts,
    add_discount,
    delete_discount,
    create_quote
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/services/{id}/prices",
            get(list_prices).post(schedule_price),
        )
        .route(
            "/turn-fee-groups",
            get(list_turn_fee_groups).post(add_turn_fee_group),
        )
        .route("/turn-fee-groups/{id}", delete(delete_turn_fee_group))
        .route("/discounts", get(list_discounts).post(add_discount))
        .route("/discounts/{id}", delete(delete_discount))
        .route("/quotes", post(create_quote))
}

pub(crate) fn decimal(raw: &str) -> Result<Decimal, ApiError> {
    raw.parse().map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("bad decimal {raw:?} in the database: {e}"))
    })
}

/// An amount of money: positive, at most two decimals, below a billion.
fn money(raw: &str, field: &str) -> Result<Decimal, FieldError> {
    raw.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|d| *d > Decimal::ZERO && d.scale() <= 2 && *d < Decimal::from(1_000_000_000))
        .ok_or_else(|| FieldError::new(field, "must be a positive amount with at most 2 decimals"))
}

/// A fixed amount (as `money`) or a percent (above 0, at most 100).
fn amount_of(kind: AmountKind, raw: &str, field: &str) -> Result<Decimal, FieldError> {
    let value = money(raw, field)?;
    if kind == AmountKind::Percent && value > Decimal::ONE_HUNDRED {
        return Err(FieldError::new(field, "a percent must be at most 100"));
    }
    Ok(value)
}

fn kind_of(raw: &str) -> Result<AmountKind, ApiError> {
    match raw {
        "fixed" => Ok(AmountKind::Fixed),
        "percent" => Ok(AmountKind::Percent),
        other => Err(ApiError::Internal(anyhow::anyhow!(
            "unknown amount kind {other:?}"
        ))),
    }
}

fn kind_name(kind: AmountKind) -> &'static str {
    match kind {
        AmountKind::Fixed => "fixed",
        AmountKind::Percent => "percent",
    }
}

// ---- prices ---------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Price {
    pub id: Uuid,
    pub service_id: Uuid,
    /// The vet whose own price this is; none for the general price.
    pub vet_id: Option<Uuid>,
    #[schema(value_type = String, example = "15000.00")]
    pub amount: Decimal,
    /// Valid from this local date…
    pub valid_from: NaiveDate,
    /// …until the day before this one; none while it is the latest.
    pub valid_until: Option<NaiveDate>,
}

impl TryFrom<db::pricing::PriceRow> for Price {
    type Error = ApiError;
    fn try_from(r: db::pricing::PriceRow) -> Result<Self, ApiError> {
        Ok(Self {
            amount: decimal(&r.amount)?,
            id: r.id,
            service_id: r.service_id,
            vet_id: r.vet_id,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPriceBody {
    /// ARS, as a string, e.g. `"15000"` or `"15000.50"`.
    #[schema(example = "15000.00")]
    pub amount: String,
    /// The first local date it applies; today or later.
    pub valid_from: NaiveDate,
    /// A vet's own price for this service; omitted for the general price.
    pub vet_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/services/{id}/prices", tag = "pricing", params(("id" = Uuid, Path)),
    responses((status = 200, body = [Price]), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Every price of the service: past ones kept, the current one, and those scheduled.
async fn list_prices(
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Vec<Price>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    db::catalog::service(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("service"))?;
    let rows = db::pricing::prices_of(&mut conn, id).await?;
    Ok(Json(
        rows.into_iter()
            .map(Price::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

#[utoipa::path(post, path = "/api/v1/services/{id}/prices", tag = "pricing", params(("id" = Uuid, Path)),
    request_body = NewPriceBody, security(("bearer" = [])),
    responses((status = 201, body = Price), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A price is already scheduled on or after that date", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Schedules a new price from `valid_from` on: the price valid then ends that day, past
/// prices are kept. Staff for any price; a vet for their own.
async fn schedule_price(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<NewPriceBody>,
) -> Result<impl IntoResponse, ApiError> {
    let own_vet = body.vet_id.is_some() && user.vet.map(|v| v.into_uuid()) == body.vet_id;
    if !user.is_staff && !own_vet {
        return Err(ApiError::Forbidden(
            "only staff, or a vet for their own price, schedule prices".into(),
        ));
    }
    let amount = money(&body.amount, "amount").map_err(ApiError::from)?;
    let mut conn = db::conn(&state.pool).await?;
    db::catalog::service(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("service"))?;
    if body.valid_from < domain::time::local_date(Utc::now()) {
        return Err(ApiError::invalid(
            "valid_from",
            "must be today or later: past prices never change",
        ));
    }
    if let Some(vet) = body.vet_id
        && db::vets::vet(&mut conn, domain::VetId::from_uuid(vet))
            .await?
            .is_none()
    {
        return Err(ApiError::invalid("vet_id", "unknown vet"));
    }
    let row = db::pricing::schedule_price(
        &mut conn,
        id,
        body.vet_id,
        &amount.to_string(),
        body.valid_from,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Price::try_from(row)?)))
}

// ---- turn-fee groups ----------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TurnFeeGroup {
    pub id: Uuid,
    #[schema(example = "URGENT")]
    pub code: String,
    #[schema(example = "Urgente")]
    pub name: String,
    pub kind: AmountKind,
    /// ARS for `fixed`, 0–100 for `percent`.
    #[schema(value_type = String, example = "50")]
    pub value: Decimal,
}

impl TryFrom<db::pricing::TurnFeeRow> for TurnFeeGroup {
    type Error = ApiError;
    fn try_from(r: db::pricing::TurnFeeRow) -> Result<Self, ApiError> {
        Ok(Self {
            kind: kind_of(&r.kind)?,
            value: decimal(&r.value)?,
            id: r.id,
            code: r.code,
            name: r.name,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTurnFeeGroupBody {
    #[schema(example = "NIGHT")]
    pub code: String,
    #[schema(example = "Nocturno")]
    pub name: String,
    pub kind: AmountKind,
    #[schema(example = "5000")]
    pub value: String,
}

#[utoipa::path(get, path = "/api/v1/turn-fee-groups", tag = "pricing", responses((status = 200, body = [TurnFeeGroup])))]
/// The surcharges an owner may choose for a visit (urgent, night, weekend…).
async fn list_turn_fee_groups(
    State(state): State<AppState>,
) -> Result<Json<Vec<TurnFeeGroup>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::pricing::turn_fee_groups(&mut conn).await?;
    Ok(Json(
        rows.into_iter()
            .map(TurnFeeGroup::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

#[utoipa::path(post, path = "/api/v1/turn-fee-groups", tag = "pricing", request_body = NewTurnFeeGroupBody, security(("bearer" = [])),
    responses((status = 201, body = TurnFeeGroup), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_turn_fee_group(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewTurnFeeGroupBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let code = body.code.trim().to_uppercase();
    if code.is_empty()
        || code.len() > 30
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        errors.push(FieldError::new(
            "code",
            "must be 1 to 30 letters, digits or dashes",
        ));
    }
    let name = crate::error::text(&body.name, "name", 100)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let value = amount_of(body.kind, &body.value, "value")
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    let row = db::pricing::insert_turn_fee_group(
        &mut conn,
        &code,
        &name,
        kind_name(body.kind),
        &value.to_string(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(TurnFeeGroup::try_from(row)?)))
}

#[utoipa::path(delete, path = "/api/v1/turn-fee-groups/{id}", tag = "pricing", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Retires a turn-fee group: no longer offered; prices already frozen keep it.
async fn delete_turn_fee_group(
    _staff: StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    super::retire(&state, id, db::Retirable::TurnFeeGroups, "turn-fee group").await
}

// ---- discounts ----------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Discount {
    pub id: Uuid,
    pub name: String,
    /// Only for this service; none for every service.
    pub service_id: Option<Uuid>,
    pub kind: AmountKind,
    #[schema(value_type = String, example = "10")]
    pub value: Decimal,
    pub valid_from: NaiveDate,
    /// Exclusive; none for open-ended.
    pub valid_until: Option<NaiveDate>,
    /// ISO weekdays (1 = Monday … 7 = Sunday); none for every day.
    pub weekdays: Option<Vec<i16>>,
    /// Local time of day `[time_from, time_until)`; may cross midnight; none for all day.
    #[schema(value_type = Option<String>, example = "08:00:00")]
    pub time_from: Option<NaiveTime>,
    #[schema(value_type = Option<String>, example = "12:00:00")]
    pub time_until: Option<NaiveTime>,
}

impl TryFrom<db::pricing::DiscountRow> for Discount {
    type Error = ApiError;
    fn try_from(r: db::pricing::DiscountRow) -> Result<Self, ApiError> {
        Ok(Self {
            kind: kind_of(&r.kind)?,
            value: decimal(&r.value)?,
            id: r.id,
            name: r.name,
            service_id: r.service_id,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            weekdays: r.weekdays,
            time_from: r.time_from,
            time_until: r.time_until,
        })
    }
}

impl Discount {
    pub(crate) fn rule(&self) -> DiscountRule {
        DiscountRule {
            adjustment: Adjustment {
                name: self.name.clone(),
                kind: self.kind,
                value: self.value,
            },
            weekdays: self.weekdays.clone(),
            hours: self.time_from.zip(self.time_until),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDiscountBody {
    #[schema(example = "Lunes por la mañana")]
    pub name: String,
    pub service_id: Option<Uuid>,
    pub kind: AmountKind,
    #[schema(example = "10")]
    pub value: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    #[schema(example = json!([1]))]
    pub weekdays: Option<Vec<i16>>,
    #[schema(value_type = Option<String>, example = "08:00")]
    pub time_from: Option<NaiveTime>,
    #[schema(value_type = Option<String>, example = "12:00")]
    pub time_until: Option<NaiveTime>,
}

#[utoipa::path(get, path = "/api/v1/discounts", tag = "pricing", responses((status = 200, body = [Discount])))]
async fn list_discounts(State(state): State<AppState>) -> Result<Json<Vec<Discount>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::pricing::discounts(&mut conn).await?;
    Ok(Json(
        rows.into_iter()
            .map(Discount::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

#[utoipa::path(post, path = "/api/v1/discounts", tag = "pricing", request_body = NewDiscountBody, security(("bearer" = [])),
    responses((status = 201, body = Discount), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_discount(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewDiscountBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let name = crate::error::text(&body.name, "name", 100)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let value = amount_of(body.kind, &body.value, "value")
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if body
        .valid_until
        .is_some_and(|until| until <= body.valid_from)
    {
        errors.push(FieldError::new("valid_until", "must be after valid_from"));
    }
    let mut weekdays = body.weekdays.clone();
    if let Some(days) = &mut weekdays {
        days.sort_unstable();
        days.dedup();
        if days.is_empty() || days.iter().any(|d| !(1..=7).contains(d)) {
            errors.push(FieldError::new(
                "weekdays",
                "must be ISO weekdays, 1 (Monday) to 7 (Sunday)",
            ));
        }
    }
    match (body.time_from, body.time_until) {
        (Some(from), Some(until)) if from == until => {
            errors.push(FieldError::new("time_until", "must differ from time_from"));
        }
        (Some(_), None) | (None, Some(_)) => {
            errors.push(FieldError::new(
                "time_until",
                "time_from and time_until go together",
            ));
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    if let Some(service) = body.service_id
        && db::catalog::service(&mut conn, service).await?.is_none()
    {
        return Err(ApiError::invalid("service_id", "unknown service"));
    }
    let row = db::pricing::insert_discount(
        &mut conn,
        &db::pricing::NewDiscount {
            name,
            service_id: body.service_id,
            kind: kind_name(body.kind).to_owned(),
            value: value.to_string(),
            valid_from: body.valid_from,
            valid_until: body.valid_until,
            weekdays,
            time_from: body.time_from,
            time_until: body.time_until,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Discount::try_from(row)?)))
}

#[utoipa::path(delete, path = "/api/v1/discounts/{id}", tag = "pricing", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_discount(
    _staff: StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    super::retire(&state, id, db::Retirable::Discounts, "discount").await
}

#[utoipa::path(post, path = "/api/v1/quotes", tag = "pricing", request_body = QuoteBody, security(("bearer" = [])),
    responses((status = 200, body = Quote), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, the service has no price then, or the address is outside the service area", body = Problem, content_type = "application/problem+json")))]
/// The price of a visit, line by line: base, distance, surcharge, discounts, rounding.
async fn create_quote(
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<QuoteBody>,
) -> Result<Json<Quote>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    Ok(Json(quote(&mut conn, scope, &body).await?))
}
