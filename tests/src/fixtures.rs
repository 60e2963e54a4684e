//! What booking tests start from: a priced service, Palermo (coefficient 1.2), two
//! turn-fee groups, and Ana with a pet, an address inside Palermo and one outside.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::TestApp;

/// What a quote needs, set up by staff and by Ana.
pub struct Booking {
    pub staff: String,
    pub ana: String,
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
    date.and_hms_opt(hour + 3, 0, 0)
        .expect("time")
        .and_utc()
        .to_rfc3339()
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
    let today = Utc::now().date_naive();
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
    let (ana, owner) = app.owner("ana@example.com").await;
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
    Booking {
        staff,
        ana,
        service,
        pet,
        home,
        away,
        urgent,
        night,
    }
}
