//! What booking tests start from: a priced service, Palermo (coefficient 1.2), two
//! turn-fee groups, and Ana with a pet, an address inside Palermo and one outside.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Caller, TestApp};

/// What a quote needs, set up by staff and by Ana.
pub struct Booking {
    /// Staff, by their user id.
    pub staff: crate::Caller,
    /// Ana, the owner, by her owner id.
    pub ana: crate::Caller,
    pub service: String,
    pub pet: String,
    /// In Palermo (coefficient 1.2).
    pub home: String,
    /// In no neighborhood.
    pub away: String,
    pub urgent: String,
    pub night: String,
}

pub fn square(west: f64, south: f64, east: f64, north: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]] })
}

/// A local (Buenos Aires, UTC−3) date and hour as an instant.
pub fn local(date: NaiveDate, hour: u32) -> String {
    domain::time::to_utc(date.and_hms_opt(hour, 0, 0).expect("time")).to_rfc3339()
}

/// Today in Buenos Aires (UTC−3 all year), the date prices and bookings go by.
pub fn local_today() -> NaiveDate {
    domain::time::local_date(Utc::now())
}

/// The first Monday at least `days` days from today.
pub fn monday_after(days: i64) -> NaiveDate {
    let mut date = (Utc::now() + Duration::days(days)).date_naive();
    while date.weekday().number_from_monday() != 1 {
        date += Duration::days(1);
    }
    date
}

pub async fn booking(app: &TestApp) -> Booking {
    let staff = app.staff().await;
    let dog = app
        .create(&staff, "/api/v1/species", json!({ "name": "Perro" }))
        .await;
    let service = app
        .create(
            &staff,
            "/api/v1/services",
            json!({ "code": "CONS", "name": "Consulta", "duration_minutes": 60 }),
        )
        .await;
    let today = local_today();
    let (status, price) = app
        .call(
            &staff,
            Method::POST,
            &format!("/api/v1/services/{service}/prices"),
            Some(json!({ "amount": "10000", "valid_from": today })),
        )
        .await;
    assert_eq!(status, 201, "{price}");
    app.create(
        &staff,
        "/api/v1/neighborhoods",
        json!({ "name": "Palermo", "area": square(-58.44, -34.60, -58.40, -34.56), "distance_coefficient": "1.2" }),
    )
    .await;
    let urgent = app
        .create(
            &staff,
            "/api/v1/turn-fee-groups",
            json!({ "code": "urgent", "name": "Urgente", "kind": "percent", "value": "50" }),
        )
        .await;
    let night = app
        .create(
            &staff,
            "/api/v1/turn-fee-groups",
            json!({ "code": "NIGHT", "name": "Nocturno", "kind": "fixed", "value": "3000" }),
        )
        .await;
    let Caller {
        token: ana,
        id: owner,
    } = app.owner("ana@example.com").await;
    let home = app
        .create(
            &ana,
            &format!("/api/v1/owners/{owner}/addresses"),
            json!({ "street": "Gurruchaga 1234", "lat": -34.585, "lon": -58.418 }),
        )
        .await;
    let away = app
        .create(
            &ana,
            &format!("/api/v1/owners/{owner}/addresses"),
            json!({ "street": "Ruta 2 km 100", "lat": -35.5, "lon": -57.9 }),
        )
        .await;
    let pet = app
        .create(
            &ana,
            "/api/v1/pets",
            json!({ "name": "Luna", "species_id": dog }),
        )
        .await;
    let (_, me) = app.call(&staff, Method::GET, "/api/v1/me", None).await;
    let staff_id = me["id"].as_str().unwrap_or_default().to_owned();
    Booking {
        staff: crate::Caller {
            id: staff_id,
            token: staff,
        },
        ana: crate::Caller {
            id: owner.to_string(),
            token: ana,
        },
        service,
        pet,
        home,
        away,
        urgent,
        night,
    }
}

/// A booking world with vets who cover Palermo and work the day of `start`, and Ana
/// reachable on WhatsApp.
pub struct Dispatch {
    pub booking: Booking,
    /// The vets, in the order they rank (created first ranks first among equals).
    pub vets: Vec<Vet>,
    /// A window start three days ahead, 10:00 local; the window lasts two hours.
    pub start: chrono::DateTime<Utc>,
}

/// A vet of the booking world, signed in.
#[derive(Debug, Clone)]
pub struct Vet {
    pub id: String,
    /// The vet's access token.
    pub token: String,
    /// The vet's WhatsApp number (where the emulator receives their offers).
    pub phone: String,
}

impl Vet {
    /// The vet as a caller (by vet id).
    pub fn caller(&self) -> crate::Caller {
        crate::Caller {
            id: self.id.clone(),
            token: self.token.clone(),
        }
    }
}

pub const ANA_PHONE: &str = "+5491155550001";
const CUITS: [&str; 4] = [
    "20-12345678-6",
    "27-23456789-1",
    "20-11111111-2",
    "20-22222222-3",
];

pub async fn dispatch(app: &TestApp, vets: usize) -> Dispatch {
    let booking = booking(app).await;
    let day = (Utc::now() + Duration::days(3)).date_naive();
    let start = day.and_hms_opt(13, 0, 0).expect("time").and_utc();
    let weekday = day.weekday().number_from_monday();
    let (_, me) = app
        .call(&booking.ana, Method::GET, "/api/v1/me", None)
        .await;
    let owner = me["owner_id"].as_str().expect("owner id");
    let (status, patched) = app
        .call(
            &booking.ana,
            Method::PATCH,
            &format!("/api/v1/owners/{owner}"),
            Some(json!({ "phone": ANA_PHONE })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let mut out = Vec::new();
    for (i, cuit) in CUITS.iter().take(vets).enumerate() {
        let email = format!("vet{i}@example.com");
        let area = square(-58.45, -34.61, -58.39, -34.55);
        let (id, token) = working_vet(app, &booking.staff, &email, cuit, area, weekday).await;
        out.push(Vet {
            id,
            token,
            phone: crate::vet_phone(cuit),
        });
    }
    Dispatch {
        booking,
        vets: out,
        start,
    }
}

/// A vet (created by `staff`) covering `area`, working 07:00–21:00 on `weekday` (1–7):
/// (vet id, the vet's token).
pub async fn working_vet(
    app: &TestApp,
    staff: &str,
    email: &str,
    cuit: &str,
    area: Value,
    weekday: u32,
) -> (String, String) {
    let Caller { id, token } = app.vet(staff, email, cuit).await;
    app.create(
        &token,
        &format!("/api/v1/vets/{id}/coverage-areas"),
        json!({ "name": "Zona", "area": area }),
    )
    .await;
    app.create(
        &token,
        &format!("/api/v1/vets/{id}/availability"),
        json!({ "weekday": weekday, "starts_at": "07:00", "ends_at": "21:00" }),
    )
    .await;
    (id, token)
}

/// Ana checks out one visit in the two-hour window from `start`: the request's id.
pub async fn check_out(app: &TestApp, w: &Dispatch, start: chrono::DateTime<Utc>) -> String {
    app.create(
        &w.booking.ana,
        "/api/v1/cart/items",
        json!({ "service_id": w.booking.service, "pet_id": w.booking.pet,
                "address_id": w.booking.home,
                "wanted_start": start, "wanted_end": start + Duration::hours(2) }),
    )
    .await;
    let response = app
        .http
        .post(app.url("/api/v1/cart/checkout"))
        .bearer_auth(&w.booking.ana.token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .expect("checkout");
    assert_eq!(response.status(), 201);
    let done: Value = response.json().await.expect("json");
    done["requests"][0]["id"].as_str().expect("id").to_owned()
}

/// The MercadoPago preference id of a payment link (`…/checkout/v1/redirect?pref_id=…`).
pub fn preference_of(link: &str) -> String {
    link.split("pref_id=")
        .nth(1)
        .expect("a checkout link")
        .to_owned()
}

/// The first vet accepts request `id` from its WhatsApp link.
pub async fn accept(app: &TestApp, w: &Dispatch, id: &str) {
    let offer = app.await_messages(&w.vets[0].phone, "vet_offer", 1).await;
    let (status, _) = app
        .post_link(&crate::offer_link(&offer[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 200);
    app.await_state(id, "vet_accepted").await;
}

/// The first vet accepts request `id` from its WhatsApp link and sets the visit at the
/// window's start; returns the payment link Ana then gets on WhatsApp.
pub async fn accept_and_coordinate(app: &TestApp, w: &Dispatch, id: &str) -> String {
    accept(app, w, id).await;
    let (status, body) = app
        .call(
            &w.vets[0].token,
            Method::POST,
            &format!("/api/v1/service-requests/{id}/coordinate"),
            Some(json!({ "start": w.start })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let message = crate::eventually(
        "the payment link",
        std::time::Duration::from_secs(30),
        || async {
            app.messages_to(ANA_PHONE, "owner_update")
                .into_iter()
                .find(|m| m.template_params[1].contains("pagá acá"))
        },
    )
    .await;
    message.template_params[1]
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link in the message")
        .to_owned()
}

/// The request id inside an offer link's token (`…/<base64url JSON>.<signature>/accept`).
pub fn offer_request(link: &str) -> Option<String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let token = link.rsplit('/').nth(1)?;
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    json["r"].as_str().map(str::to_owned)
}

/// Ana's visit coordinated at the window's start and paid; the request's id once it is
/// `confirmed`.
pub async fn paid(app: &TestApp, w: &Dispatch) -> String {
    let id = check_out(app, w, w.start).await;
    let link = accept_and_coordinate(app, w, &id).await;
    app.mercadopago
        .pay(&preference_of(&link), "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    id
}

/// The request's visit.
pub async fn visit_of(app: &TestApp, request: &str) -> uuid::Uuid {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let mut conn = app.db.conn().await;
    let rows: Vec<Row> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT id FROM visits WHERE request_id = $1::uuid")
            .bind::<diesel::sql_types::Text, _>(request),
        &mut conn,
    )
    .await
    .expect("visit");
    rows.first().map(|r| r.id).expect("the request has a visit")
}

/// A vet's report of Luna's visit.
pub fn report() -> Value {
    json!({
        "findings": "Mucosas rosadas; dolor al palpar el oído derecho.",
        "diagnosis": "Otitis externa.",
        "treatment": "Gotas óticas cada 12 h durante 7 días.",
        "weight_kg": "12.5",
    })
}
