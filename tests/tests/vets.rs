//! Vets and their coverage areas through HTTP, and the geo search on hand-built
//! polygons: inside, outside, on the border, inside a hole.

use std::sync::Arc;

use diesel_async::RunQueryDsl;
use e2e::{
    TestApp, TestDb, dev_server_address, quick_policy, temporal_settings, unique_task_queue,
};
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    let db = Arc::new(TestDb::new().await);
    TestApp::spawn(
        db,
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
    )
    .await
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> String {
    let (status, tokens) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    tokens["access_token"].as_str().expect("token").to_owned()
}

async fn staff(app: &TestApp) -> String {
    let (status, tokens) = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "staff@amarmascotas.ar", "password": "correct horse battery", "full_name": "Staff" }),
        )
        .await;
    assert_eq!(status, 201);
    let mut conn = app.db.conn().await;
    diesel::sql_query("UPDATE users SET is_staff = true WHERE email = 'staff@amarmascotas.ar'")
        .execute(&mut conn)
        .await
        .expect("make staff");
    tokens["access_token"].as_str().expect("token").to_owned()
}

/// Creates a vet (as staff) and returns (vet id, the vet's own token).
async fn vet(app: &TestApp, staff: &str, email: &str, cuit: &str) -> (String, String) {
    let (status, vet) = call(
        app,
        staff,
        Method::POST,
        "/api/v1/vets",
        Some(json!({
            "email": email, "password": "vet password 123", "full_name": email,
            "license_number": format!("MP {email}"), "cuit": cuit, "phone": "+5491100000000"
        })),
    )
    .await;
    assert_eq!(status, 201, "{vet}");
    let token = sign_in(app, email, "vet password 123").await;
    (vet["id"].as_str().expect("id").to_owned(), token)
}

fn rect(west: f64, south: f64, east: f64, north: f64) -> Vec<[f64; 2]> {
    vec![
        [west, south],
        [east, south],
        [east, north],
        [west, north],
        [west, south],
    ]
}

async fn search(app: &TestApp, staff: &str, lat: f64, lon: f64) -> Vec<String> {
    let (status, vets) = call(
        app,
        staff,
        Method::GET,
        &format!("/api/v1/vets/search?lat={lat}&lon={lon}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{vets}");
    let mut names: Vec<String> = vets
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["full_name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_search_finds_the_vets_whose_coverage_holds_the_point() {
    let app = app().await;
    let staff = staff(&app).await;
    let (ana, ana_token) = vet(&app, &staff, "ana@vets.ar", "20-12345678-6").await;
    let (bruno, _) = vet(&app, &staff, "bruno@vets.ar", "33-69345023-9").await;

    // Ana: a square with a hole; Bruno: the square east of hers, sharing the meridian -58.40.
    let (status, area) = call(
        &app,
        &ana_token,
        Method::POST,
        &format!("/api/v1/vets/{ana}/coverage-areas"),
        Some(
            json!({ "name": "Oeste", "area": { "type": "Polygon", "coordinates": [
                rect(-58.50, -34.70, -58.40, -34.60),
                rect(-58.47, -34.67, -58.43, -34.63),
            ]}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{area}");
    assert_eq!(area["area"]["type"], "Polygon");
    let (status, _) = call(
        &app,
        &staff,
        Method::POST,
        &format!("/api/v1/vets/{bruno}/coverage-areas"),
        Some(json!({ "name": "Este", "area": { "type": "Polygon", "coordinates": [rect(-58.40, -34.70, -58.30, -34.60)] }})),
    )
    .await;
    assert_eq!(status, 201);

    assert_eq!(
        search(&app, &staff, -34.61, -58.49).await,
        ["ana@vets.ar"],
        "inside Ana's"
    );
    assert_eq!(
        search(&app, &staff, -34.65, -58.45).await,
        Vec::<String>::new(),
        "inside Ana's hole"
    );
    assert_eq!(
        search(&app, &staff, -34.65, -58.35).await,
        ["bruno@vets.ar"],
        "inside Bruno's"
    );
    assert_eq!(
        search(&app, &staff, -34.60, -58.40).await,
        ["ana@vets.ar", "bruno@vets.ar"],
        "on the shared corner"
    );
    assert_eq!(
        search(&app, &staff, -34.65, -58.40).await,
        ["ana@vets.ar", "bruno@vets.ar"],
        "on the shared border"
    );
    assert_eq!(
        search(&app, &staff, -34.55, -58.45).await,
        Vec::<String>::new(),
        "north of both"
    );

    // A deleted area no longer covers anything.
    let area_id = area["id"].as_str().expect("id");
    let (status, _) = call(
        &app,
        &ana_token,
        Method::DELETE,
        &format!("/api/v1/vets/{ana}/coverage-areas/{area_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        search(&app, &staff, -34.61, -58.49).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn invalid_polygons_are_refused_with_the_reason_and_nothing_is_stored() {
    let app = app().await;
    let staff = staff(&app).await;
    let (ana, ana_token) = vet(&app, &staff, "ana@vets.ar", "20-12345678-6").await;
    let path = format!("/api/v1/vets/{ana}/coverage-areas");
    let bow_tie = json!({ "type": "Polygon", "coordinates": [[[-58.5, -34.7], [-58.4, -34.6], [-58.4, -34.7], [-58.5, -34.6], [-58.5, -34.7]]] });
    let open = json!({ "type": "Polygon", "coordinates": [[[-58.5, -34.7], [-58.4, -34.7], [-58.4, -34.6], [-58.5, -34.6]]] });
    let point = json!({ "type": "Point", "coordinates": [-58.5, -34.7] });
    let far = json!({ "type": "Polygon", "coordinates": [[[-58.5, -34.7], [-258.4, -34.7], [-58.4, -34.6], [-58.5, -34.7]]] });
    for (area, says) in [
        (bow_tie, "Self-intersection"),
        (open, "not closed"),
        (point, "Polygon"),
        (far, "longitude"),
    ] {
        let (status, problem) = call(
            &app,
            &ana_token,
            Method::POST,
            &path,
            Some(json!({ "name": "x", "area": area })),
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "area");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    }
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM vet_coverage_areas")
            .await,
        0
    );

    let (status, problem) = call(
        &app,
        &staff,
        Method::POST,
        "/api/v1/vets",
        Some(
            json!({ "email": "x@vets.ar", "password": "vet password 123", "full_name": "X",
                     "license_number": "MP 1", "cuit": "20-12345678-5", "phone": "1" }),
        ),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "cuit");
}

#[tokio::test]
async fn only_the_vet_and_staff_manage_a_vets_areas() {
    let app = app().await;
    let staff = staff(&app).await;
    let (ana, _) = vet(&app, &staff, "ana@vets.ar", "20-12345678-6").await;
    let (_, bruno_token) = vet(&app, &staff, "bruno@vets.ar", "33-69345023-9").await;
    let (status, owner) = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "owner@example.com", "password": "correct horse battery", "full_name": "Dueña" }),
        )
        .await;
    assert_eq!(status, 201);
    let owner_token = owner["access_token"].as_str().expect("token").to_owned();
    let square = json!({ "name": "x", "area": { "type": "Polygon", "coordinates": [rect(-58.5, -34.7, -58.4, -34.6)] } });

    for token in [&bruno_token, &owner_token] {
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/vets/{ana}"), None),
            (
                Method::GET,
                format!("/api/v1/vets/{ana}/coverage-areas"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/vets/{ana}/coverage-areas"),
                Some(square.clone()),
            ),
        ] {
            let (status, body) = call(&app, token, method.clone(), &path, body).await;
            assert_eq!(status, 404, "{method} {path} -> {body}");
        }
    }
    let (status, _) = call(
        &app,
        &owner_token,
        Method::GET,
        "/api/v1/vets/search?lat=-34.6&lon=-58.4",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        &bruno_token,
        Method::POST,
        "/api/v1/vets",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 403, "only staff create vets");
    let (status, _) = call(&app, "", Method::GET, &format!("/api/v1/vets/{ana}"), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM vet_coverage_areas")
            .await,
        0
    );
}
