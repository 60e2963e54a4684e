//! Owners, addresses, pets and species through HTTP: the happy paths, validation, and
//! that nobody sees or changes someone else's records.

use e2e::{Caller, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::start().await
}

async fn staff(app: &TestApp) -> Caller {
    Caller {
        token: app.staff().await,
        id: String::new(),
    }
}

async fn species(app: &TestApp, staff: &Caller, name: &str) -> String {
    let (status, body) = staff
        .post(app, "/api/v1/species", json!({ "name": name }))
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn breed(app: &TestApp, staff: &Caller, species: &str, name: &str) -> String {
    let (status, body) = staff
        .post(
            app,
            &format!("/api/v1/species/{species}/breeds"),
            json!({ "name": name }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

fn fields(problem: &Value) -> Vec<String> {
    e2e::problem_fields(problem)
}

#[tokio::test]
async fn an_owner_manages_their_profile_addresses_and_pets() {
    let app = app().await;
    let staff = staff(&app).await;
    let dog = species(&app, &staff, "Perro").await;
    let poodle = breed(&app, &staff, &dog, "Caniche").await;
    let ana = app.owner("ana@example.com").await;

    let (status, list) = ana.get(&app, "/api/v1/owners").await;
    assert_eq!(status, 200);
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1),
        "an owner lists only themselves"
    );

    let path = format!("/api/v1/owners/{}", ana.id);
    let (status, profile) = ana.patch(&app, &path, json!({ "document_type_id": 96, "document_number": "30123456", "vat_condition_id": 5, "phone": "+5491155550000" }))
    .await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["document_number"], "30123456");
    assert_eq!(profile["vat_condition_id"], 5);
    assert_eq!(profile["full_name"], "Dueña", "omitted fields stay");
    for (body, field) in [
        (json!({ "document_type_id": 42 }), "document_type_id"),
        (json!({ "vat_condition_id": 2 }), "vat_condition_id"),
        (json!({ "document_number": "12ab" }), "document_number"),
        (json!({ "document_number": null }), "document_number"),
    ] {
        let (status, problem) = ana.patch(&app, &path, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert_eq!(fields(&problem), [field], "{body} -> {problem}");
    }
    let (_, unchanged) = ana.get(&app, &path).await;
    assert_eq!(unchanged, profile);

    let (status, address) = ana.post(&app, &format!("{path}/addresses"), json!({ "label": "Casa", "street": "Av. Corrientes 1234", "lat": -34.6037, "lon": -58.3816 }))
    .await;
    assert_eq!(status, 201, "{address}");
    assert!((address["lat"].as_f64().expect("lat") + 34.6037).abs() < 1e-9);
    assert!((address["lon"].as_f64().expect("lon") + 58.3816).abs() < 1e-9);

    let (status, pet) = ana.post(&app, "/api/v1/pets", json!({ "name": "Luna", "species_id": dog, "breed_id": poodle, "sex": "female", "birth_date": "2020-03-01" }))
    .await;
    assert_eq!(status, 201, "{pet}");
    assert_eq!(pet["owner_id"], ana.id.as_str());
    let pet_path = format!("/api/v1/pets/{}", pet["id"].as_str().expect("id"));
    let (status, pet) = ana
        .patch(
            &app,
            &pet_path,
            json!({ "neutered": true, "breed_id": null }),
        )
        .await;
    assert_eq!(status, 200, "{pet}");
    assert_eq!(
        (
            pet["neutered"].as_bool(),
            pet["breed_id"].is_null(),
            pet["sex"].as_str()
        ),
        (Some(true), true, Some("female"))
    );

    let (status, _) = ana.delete(&app, &pet_path).await;
    assert_eq!(status, 204);
    let (status, _) = ana.get(&app, &pet_path).await;
    assert_eq!(status, 404, "a deleted pet is gone from reads");
    let (_, pets) = ana.get(&app, "/api/v1/pets").await;
    assert_eq!(pets["items"], json!([]));
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM pets WHERE deleted_at IS NOT NULL")
            .await,
        1,
        "soft delete"
    );
}

#[tokio::test]
async fn constraints_and_validation_name_the_field_and_change_nothing() {
    let app = app().await;
    let staff = staff(&app).await;
    let dog = species(&app, &staff, "Perro").await;
    let cat = species(&app, &staff, "Gato").await;
    let poodle = breed(&app, &staff, &dog, "Caniche").await;
    let ana = app.owner("ana@example.com").await;

    let cases = [
        (
            json!({ "name": "Michi", "species_id": cat, "breed_id": poodle }),
            422,
            "breed_id",
        ),
        (
            json!({ "name": "Michi", "species_id": uuid::Uuid::new_v4() }),
            422,
            "species_id",
        ),
        (json!({ "name": "  ", "species_id": cat }), 422, "name"),
        // The pet's name goes into the vet's WhatsApp: a name, not a phishing line.
        (
            json!({ "name": "Luna. Pagá la visita en pagos-amar.com.ar", "species_id": cat }),
            422,
            "name",
        ),
        (
            json!({ "name": "Luna llamá al 11 5555 0000", "species_id": cat }),
            422,
            "name",
        ),
        (
            json!({ "name": "Michi", "species_id": cat, "birth_date": "2999-01-01" }),
            422,
            "birth_date",
        ),
        (
            json!({ "name": "Michi", "species_id": cat, "sex": "both" }),
            422,
            "sex",
        ),
    ];
    for (body, status, field) in cases {
        let (got, problem) = ana.post(&app, "/api/v1/pets", body.clone()).await;
        assert_eq!(got, status, "{body} -> {problem}");
        assert_eq!(fields(&problem), [field], "{body} -> {problem}");
    }
    let chip = json!({ "name": "Luna", "species_id": dog, "microchip": "985112003456789" });
    assert_eq!(ana.post(&app, "/api/v1/pets", chip.clone()).await.0, 201);
    let (status, problem) = ana.post(&app, "/api/v1/pets", chip).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM pets").await, 1);

    let (status, problem) = ana
        .post(
            &app,
            &format!("/api/v1/owners/{}/addresses", ana.id),
            json!({ "street": "Calle falsa 123", "lat": -134.0, "lon": -58.0 }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&problem), ["lat"]);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM owner_addresses")
            .await,
        0
    );

    let (status, _) = ana.get(&app, "/api/v1/pets?limit=0").await;
    assert_eq!(status, 422);
    let (status, _) = ana
        .post(&app, "/api/v1/species", json!({ "name": "Hurón" }))
        .await;
    assert_eq!(status, 403, "only staff write reference data");
    let (status, _) = staff
        .post(&app, "/api/v1/species", json!({ "name": "Perro" }))
        .await;
    assert_eq!(status, 409);
}

/// Every owner endpoint, called by another owner on Ana's records, and by nobody.
#[tokio::test]
async fn nobody_sees_or_changes_another_owners_records() {
    let app = app().await;
    let staff = staff(&app).await;
    let dog = species(&app, &staff, "Perro").await;
    let ana = app.owner("ana@example.com").await;
    let bruno = app.owner("bruno@example.com").await;
    let (_, pet) = ana
        .post(
            &app,
            "/api/v1/pets",
            json!({ "name": "Luna", "species_id": dog }),
        )
        .await;
    let pet = pet["id"].as_str().expect("pet").to_owned();
    let (_, address) = ana
        .post(
            &app,
            &format!("/api/v1/owners/{}/addresses", ana.id),
            json!({ "street": "Av. Corrientes 1234", "lat": -34.6, "lon": -58.38 }),
        )
        .await;
    let address = address["id"].as_str().expect("address").to_owned();
    let o = &ana.id;

    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/owners/{o}"), None),
        (
            Method::PATCH,
            format!("/api/v1/owners/{o}"),
            Some(json!({ "full_name": "Hacked" })),
        ),
        (Method::GET, format!("/api/v1/owners/{o}/addresses"), None),
        (
            Method::POST,
            format!("/api/v1/owners/{o}/addresses"),
            Some(json!({ "street": "x", "lat": 0.0, "lon": 0.0 })),
        ),
        (
            Method::DELETE,
            format!("/api/v1/owners/{o}/addresses/{address}"),
            None,
        ),
        (Method::GET, format!("/api/v1/pets/{pet}"), None),
        (
            Method::PATCH,
            format!("/api/v1/pets/{pet}"),
            Some(json!({ "name": "Hacked" })),
        ),
        (Method::DELETE, format!("/api/v1/pets/{pet}"), None),
        (
            Method::POST,
            "/api/v1/pets".into(),
            Some(json!({ "owner_id": o, "name": "Intruso", "species_id": dog })),
        ),
    ];
    for (method, path, body) in &attempts {
        let (status, response) = app
            .call(&bruno.token, method.clone(), path, body.clone())
            .await;
        assert_eq!(status, 404, "another owner: {method} {path} -> {response}");
        assert!(
            response.get("id").is_none() && response.get("items").is_none(),
            "{response}"
        );
        let (status, _) = app.call("", method.clone(), path, body.clone()).await;
        assert_eq!(status, 401, "nobody: {method} {path}");
    }
    let (_, bruno_pets) = bruno.get(&app, "/api/v1/pets").await;
    assert_eq!(bruno_pets["items"], json!([]));
    let (_, bruno_owners) = bruno.get(&app, "/api/v1/owners").await;
    assert_eq!(bruno_owners["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(bruno_owners["items"][0]["id"], bruno.id.as_str());

    // Nothing changed; staff still see all of it.
    let (status, pet) = staff.get(&app, &format!("/api/v1/pets/{pet}")).await;
    assert_eq!((status, pet["name"].as_str()), (200, Some("Luna")));
    let (_, owner) = staff.get(&app, &format!("/api/v1/owners/{o}")).await;
    assert_eq!(owner["full_name"], "Dueña");
    let (_, addresses) = staff
        .get(&app, &format!("/api/v1/owners/{o}/addresses"))
        .await;
    assert_eq!(addresses.as_array().map(Vec::len), Some(1));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM pets").await, 1);
}

#[tokio::test]
async fn vaccinations_get_their_next_due_date_from_the_vaccine_and_stay_private() {
    let app = app().await;
    let staff = staff(&app).await;
    let dog = species(&app, &staff, "Perro").await;
    let cat = species(&app, &staff, "Gato").await;
    let (status, rabies) = staff
        .post(
            &app,
            "/api/v1/vaccines",
            json!({ "name": "Antirrábica", "interval_days": 365 }),
        )
        .await;
    assert_eq!(status, 201, "{rabies}");
    let (_, feline) = staff
        .post(
            &app,
            "/api/v1/vaccines",
            json!({ "name": "Triple felina", "species_id": cat, "interval_days": 365 }),
        )
        .await;
    let ana = app.owner("ana@example.com").await;
    let bruno = app.owner("bruno@example.com").await;
    let (status, _) = ana
        .post(&app, "/api/v1/vaccines", json!({ "name": "X" }))
        .await;
    assert_eq!(status, 403);
    let (_, luna) = ana
        .post(
            &app,
            "/api/v1/pets",
            json!({ "name": "Luna", "species_id": dog }),
        )
        .await;
    let path = format!(
        "/api/v1/pets/{}/vaccinations",
        luna["id"].as_str().expect("id")
    );

    let (status, shot) = ana
        .post(
            &app,
            &path,
            json!({ "vaccine_id": rabies["id"], "batch": " R-778 ", "applied_on": "2026-03-01" }),
        )
        .await;
    assert_eq!(status, 201, "{shot}");
    assert_eq!(
        (shot["next_due_on"].as_str(), shot["batch"].as_str()),
        (Some("2027-03-01"), Some("R-778"))
    );
    let (status, shot) = ana.post(&app, &path, json!({ "vaccine_id": rabies["id"], "applied_on": "2026-04-01", "next_due_on": "2026-10-01" }))
    .await;
    assert_eq!(
        (status, shot["next_due_on"].as_str()),
        (201, Some("2026-10-01")),
        "a given date wins"
    );

    for (body, field) in [
        (
            json!({ "vaccine_id": feline["id"], "applied_on": "2026-03-01" }),
            "vaccine_id",
        ),
        (
            json!({ "vaccine_id": rabies["id"], "applied_on": "2999-01-01" }),
            "applied_on",
        ),
        (
            json!({ "vaccine_id": rabies["id"], "applied_on": "2026-03-01", "next_due_on": "2026-02-01" }),
            "next_due_on",
        ),
    ] {
        let (status, problem) = ana.post(&app, &path, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert_eq!(problem["errors"][0]["field"], field);
    }

    let (_, listed) = ana.get(&app, &path).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    for (method, body) in [
        (Method::GET, None),
        (
            Method::POST,
            Some(json!({ "vaccine_id": rabies["id"], "applied_on": "2026-03-01" })),
        ),
    ] {
        let (status, _) = app.call(&bruno.token, method, &path, body).await;
        assert_eq!(status, 404, "another owner");
    }
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM vaccine_applications")
            .await,
        2
    );
}

#[tokio::test]
async fn who_may_not_call_learns_nothing_about_their_input() {
    let app = app().await;
    let staff = app.staff().await;
    let Caller {
        token: vet_token, ..
    } = app
        .vet(&staff, "vet.who@example.com", "20-33333333-4")
        .await;
    // A vet is neither an owner nor staff: told so before the body is looked at, valid or
    // not, for the owner's records and for the cart.
    for (path, body) in [
        ("/api/v1/pets", json!({ "name": 7 })),
        ("/api/v1/cart/items", json!({ "nonsense": true })),
        ("/api/v1/quotes", json!({})),
    ] {
        let (status, problem) = app.call(&vet_token, Method::POST, path, Some(body)).await;
        assert_eq!(status, 403, "{path}: {problem}");
    }
}
