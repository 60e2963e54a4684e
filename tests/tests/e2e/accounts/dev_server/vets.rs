//! Vets and their coverage areas through HTTP: staff create and list vets, a vet edits
//! their own details and areas, invalid polygons are refused. The search over them is
//! in `vet_search.rs`.

use e2e::TestApp;
use reqwest::Method;
use serde_json::json;

async fn app() -> TestApp {
    TestApp::start().await
}

pub(super) fn rect(west: f64, south: f64, east: f64, north: f64) -> Vec<[f64; 2]> {
    vec![
        [west, south],
        [east, south],
        [east, north],
        [west, north],
        [west, south],
    ]
}

#[tokio::test]
async fn invalid_polygons_are_refused_with_the_reason_and_nothing_is_stored() {
    let app = app().await;
    let staff = app.staff().await;
    let e2e::Caller {
        id: ana,
        token: ana_token,
    } = app.vet(&staff, "ana@vets.ar", "20-12345678-6").await;
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
        let (status, problem) = app
            .call(
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

    let (status, problem) = app
        .call(
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
    let staff = app.staff().await;
    let e2e::Caller { id: ana, .. } = app.vet(&staff, "ana@vets.ar", "20-12345678-6").await;
    let e2e::Caller {
        token: bruno_token, ..
    } = app.vet(&staff, "bruno@vets.ar", "33-69345023-9").await;
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
            let (status, body) = app.call(token, method.clone(), &path, body).await;
            assert_eq!(status, 404, "{method} {path} -> {body}");
        }
    }
    let (status, _) = app
        .call(
            &owner_token,
            Method::GET,
            "/api/v1/vets/search?lat=-34.6&lon=-58.4",
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .call(&bruno_token, Method::POST, "/api/v1/vets", Some(json!({})))
        .await;
    assert_eq!(status, 403, "only staff create vets");
    let (status, _) = app
        .call("", Method::GET, &format!("/api/v1/vets/{ana}"), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM vet_coverage_areas")
            .await,
        0
    );
}

#[tokio::test]
async fn staff_list_and_manage_vets_and_a_vet_edits_their_own_contact_details() {
    let app = app().await;
    let staff = app.staff().await;
    let e2e::Caller {
        id: martin,
        token: martin_token,
    } = app.vet(&staff, "martin@example.com", "20-12345678-6").await;
    let e2e::Caller { id: lucia, .. } = app.vet(&staff, "lucia@example.com", "27-23456789-1").await;

    let (status, list) = app
        .call(&staff, Method::GET, "/api/v1/vets?q=LUC", None)
        .await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [lucia.as_str()],
        "filtered by name, case-insensitively"
    );
    let (_, all) = app
        .call(&staff, Method::GET, "/api/v1/vets?limit=1&offset=1", None)
        .await;
    assert_eq!(
        (all["items"].as_array().map(Vec::len), all["limit"].clone()),
        (Some(1), json!(1))
    );
    let (status, problem) = app
        .call(&staff, Method::GET, "/api/v1/vets?limit=0", None)
        .await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["limit".to_owned()])
    );
    // An offset past 100 000 is work no page needs.
    let (status, problem) = app
        .call(&staff, Method::GET, "/api/v1/vets?offset=100001", None)
        .await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["offset".to_owned()])
    );
    let (status, _) = app
        .call(&martin_token, Method::GET, "/api/v1/vets", None)
        .await;
    assert_eq!(status, 403, "a vet does not list colleagues");

    let path = format!("/api/v1/vets/{martin}");
    let (status, changed) = app
        .call(
            &martin_token,
            Method::PATCH,
            &path,
            Some(json!({ "phone": " +5491155550001 ", "full_name": "Martín Gómez" })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["phone"].clone(), changed["full_name"].clone()),
        (json!("+5491155550001"), json!("Martín Gómez"))
    );
    let (status, _) = app
        .call(
            &martin_token,
            Method::PATCH,
            &path,
            Some(json!({ "active": false })),
        )
        .await;
    assert_eq!(status, 403, "a vet cannot deactivate themselves");
    let (status, problem) = app
        .call(
            &martin_token,
            Method::PATCH,
            &path,
            Some(json!({ "phone": "" })),
        )
        .await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["phone".to_owned()])
    );

    let (status, off) = app
        .call(
            &staff,
            Method::PATCH,
            &path,
            Some(json!({ "active": false })),
        )
        .await;
    assert_eq!(
        (status, off["active"].clone()),
        (200, json!(false)),
        "{off}"
    );
    let (_, inactive) = app
        .call(&staff, Method::GET, "/api/v1/vets?active=false", None)
        .await;
    assert_eq!(inactive["items"][0]["id"], martin.as_str());
    assert_eq!(inactive["items"].as_array().map(Vec::len), Some(1));
    let (_, shown) = app.call(&martin_token, Method::GET, &path, None).await;
    assert_eq!(
        shown["phone"], "+5491155550001",
        "refused changes changed nothing"
    );
}
