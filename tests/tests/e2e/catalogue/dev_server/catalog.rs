//! The service catalog and neighborhoods: everyone reads, staff write; a point is
//! located in its neighborhood or is outside the service area.

use e2e::{TestApp, fixtures::square};
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::start().await
}

#[tokio::test]
async fn staff_build_the_catalog_and_everyone_reads_it() {
    let app = app().await;
    let staff = app.staff().await;
    let owner = app.register("ana@example.com").await;
    let vaccine =
        json!({ "code": "vac-rab", "name": "Vacuna antirrábica", "duration_minutes": 30 });

    let (status, service) = app
        .call(
            &staff,
            Method::POST,
            "/api/v1/services",
            Some(vaccine.clone()),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(service["code"], "VAC-RAB");
    let (status, _) = app
        .call(
            &staff,
            Method::POST,
            "/api/v1/services",
            Some(vaccine.clone()),
        )
        .await;
    assert_eq!(status, 409, "duplicate code");
    for (body, field) in [
        (
            json!({ "code": "X", "name": "X", "duration_minutes": 1 }),
            "duration_minutes",
        ),
        (
            json!({ "code": "a b", "name": "X", "duration_minutes": 30 }),
            "code",
        ),
        (
            json!({ "code": "X", "name": "X", "duration_minutes": 30, "specialty_id": uuid::Uuid::new_v4() }),
            "specialty_id",
        ),
    ] {
        let (status, problem) = app
            .call(&staff, Method::POST, "/api/v1/services", Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body} -> {problem}");
    }
    let (status, _) = app
        .call(&owner, Method::POST, "/api/v1/services", Some(vaccine))
        .await;
    assert_eq!(status, 403);

    let (status, services) = app.get_json("/api/v1/services").await;
    assert_eq!(status, 200);
    assert_eq!(services.as_array().map(Vec::len), Some(1));

    let path = format!("/api/v1/services/{}", service["id"].as_str().expect("id"));
    assert_eq!(app.call(&owner, Method::DELETE, &path, None).await.0, 403);
    assert_eq!(app.call(&staff, Method::DELETE, &path, None).await.0, 204);
    let (_, services) = app.get_json("/api/v1/services").await;
    assert_eq!(services, json!([]));
}

#[tokio::test]
async fn a_point_is_located_in_its_neighborhood_or_is_outside_the_service_area() {
    let app = app().await;
    let staff = app.staff().await;
    for (name, area, coefficient) in [
        ("Palermo", square(-58.45, -34.60, -58.40, -34.55), "1.150"),
        ("Belgrano", square(-58.40, -34.60, -58.35, -34.55), "1.3"),
    ] {
        let (status, body) = app
            .call(
                &staff,
                Method::POST,
                "/api/v1/neighborhoods",
                Some(json!({ "name": name, "area": area, "distance_coefficient": coefficient })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["area"]["type"], "MultiPolygon");
    }
    let locate = |lat: f64, lon: f64| {
        let app = &app;
        async move {
            app.get_json(&format!("/api/v1/neighborhoods/locate?lat={lat}&lon={lon}"))
                .await
        }
    };
    let (status, found) = locate(-34.58, -58.43).await;
    assert_eq!((status, found["name"].as_str()), (200, Some("Palermo")));
    assert_eq!(
        found["distance_coefficient"], "1.150",
        "exact decimal, as written"
    );
    let (_, found) = locate(-34.58, -58.37).await;
    assert_eq!(found["name"], "Belgrano");
    let (_, found) = locate(-34.58, -58.40).await;
    assert_eq!(
        found["name"], "Palermo",
        "on the shared border the smaller coefficient wins"
    );
    let (status, problem) = locate(-34.70, -58.43).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("outside the service area")
    );

    for (coefficient, area) in [
        ("0", square(-58.3, -34.6, -58.2, -34.5)),
        ("1.2345", square(-58.3, -34.6, -58.2, -34.5)),
        ("abc", square(-58.3, -34.6, -58.2, -34.5)),
    ] {
        let (status, problem) = app
            .call(
                &staff,
                Method::POST,
                "/api/v1/neighborhoods",
                Some(json!({ "name": "Nuevo", "area": area, "distance_coefficient": coefficient })),
            )
            .await;
        assert_eq!(status, 422, "{coefficient}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "distance_coefficient");
    }
    let bow_tie = json!({ "type": "Polygon", "coordinates": [[[-58.3, -34.6], [-58.2, -34.5], [-58.2, -34.6], [-58.3, -34.5], [-58.3, -34.6]]] });
    let (status, problem) = app
        .call(
            &staff,
            Method::POST,
            "/api/v1/neighborhoods",
            Some(json!({ "name": "Nuevo", "area": bow_tie, "distance_coefficient": "1" })),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM neighborhoods")
            .await,
        2
    );
}

#[tokio::test]
async fn staff_change_and_retire_services_neighborhoods_and_vaccines() {
    let app = app().await;
    let staff = app.staff().await;
    let surgery = app
        .create(&staff, "/api/v1/specialties", json!({ "name": "Cirugía" }))
        .await;
    let service = app
        .create(
            &staff,
            "/api/v1/services",
            json!({ "code": "CONS", "name": "Consulta", "description": "a domicilio", "duration_minutes": 45 }),
        )
        .await;
    let path = format!("/api/v1/services/{service}");

    let (status, changed) = app
        .call(
            &staff,
            Method::PATCH,
            &path,
            Some(json!({ "name": " Consulta general ", "description": null, "specialty_id": surgery, "active": false })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Consulta general");
    assert_eq!(changed["description"], Value::Null, "null clears");
    assert_eq!(changed["duration_minutes"], 45, "omitted stays");
    assert_eq!(changed["specialty_id"], surgery.as_str());
    assert_eq!(changed["active"], false);
    let (_, shown) = app.get_json(&path).await;
    assert_eq!(shown, changed, "everyone reads the change");

    for (body, field) in [
        (json!({ "duration_minutes": 0 }), "duration_minutes"),
        (json!({ "name": "  " }), "name"),
        (json!({ "code": "OTHER" }), "code"),
        (json!({ "specialty_id": "not-a-uuid" }), "specialty_id"),
    ] {
        let (status, problem) = app
            .call(&staff, Method::PATCH, &path, Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(e2e::problem_fields(&problem), [field], "{body}");
    }
    let (status, problem) = app
        .call(
            &staff,
            Method::PATCH,
            &path,
            Some(json!({ "specialty_id": service })),
        )
        .await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["specialty_id".to_owned()]),
        "{problem}"
    );
    let (_, unchanged) = app.get_json(&path).await;
    assert_eq!(unchanged, changed, "refused changes change nothing");

    let (status, _) = app.call(&staff, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, _) = app.get_json(&path).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            &staff,
            Method::PATCH,
            &path,
            Some(json!({ "name": "Otra" })),
        )
        .await;
    assert_eq!(status, 404, "a deleted service cannot be changed");

    // Neighborhoods: a new coefficient and shape; an invalid shape changes nothing.
    let hood = app
        .create(
            &staff,
            "/api/v1/neighborhoods",
            json!({ "name": "Palermo", "area": square(-58.44, -34.59, -58.40, -34.56), "distance_coefficient": "1.100" }),
        )
        .await;
    let hood_path = format!("/api/v1/neighborhoods/{hood}");
    let (status, changed) = app
        .call(
            &staff,
            Method::PATCH,
            &hood_path,
            Some(json!({ "distance_coefficient": "1.25", "area": square(-58.50, -34.59, -58.40, -34.56) })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["distance_coefficient"], "1.250");
    let (status, located) = app
        .get_json("/api/v1/neighborhoods/locate?lat=-34.58&lon=-58.47")
        .await;
    assert_eq!(
        (status, &located["id"]),
        (200, &json!(hood)),
        "the wider area applies"
    );
    let bowtie = json!({ "type": "Polygon", "coordinates": [[[-58.5, -34.6], [-58.4, -34.5], [-58.4, -34.6], [-58.5, -34.5], [-58.5, -34.6]]] });
    let (status, problem) = app
        .call(
            &staff,
            Method::PATCH,
            &hood_path,
            Some(json!({ "area": bowtie, "name": "Palermo Soho" })),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Self-intersection"),
        "{problem}"
    );
    let (status, problem) = app
        .call(
            &staff,
            Method::PATCH,
            &hood_path,
            Some(json!({ "distance_coefficient": "0" })),
        )
        .await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["distance_coefficient".to_owned()])
    );
    let (_, unchanged) = app.get_json(&hood_path).await;
    assert_eq!(unchanged, changed, "refused changes change nothing");
    let (status, _) = app.call(&staff, Method::DELETE, &hood_path, None).await;
    assert_eq!(status, 204);
    let (status, problem) = app
        .get_json("/api/v1/neighborhoods/locate?lat=-34.58&lon=-58.47")
        .await;
    assert_eq!(
        status, 422,
        "a retired neighborhood is outside the service area: {problem}"
    );

    // Vaccines.
    let rabies = app
        .create(
            &staff,
            "/api/v1/vaccines",
            json!({ "name": "Antirrábica", "interval_days": 365 }),
        )
        .await;
    let vaccine_path = format!("/api/v1/vaccines/{rabies}");
    let (status, changed) = app
        .call(
            &staff,
            Method::PATCH,
            &vaccine_path,
            Some(json!({ "interval_days": null, "name": "Antirrábica anual" })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["interval_days"].clone(), changed["name"].clone()),
        (Value::Null, json!("Antirrábica anual"))
    );
    let (status, problem) = app
        .call(
            &staff,
            Method::PATCH,
            &vaccine_path,
            Some(json!({ "interval_days": 0 })),
        )
        .await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["interval_days".to_owned()])
    );
    let (status, _) = app.call(&staff, Method::DELETE, &vaccine_path, None).await;
    assert_eq!(status, 204);
    let (_, vaccines) = app.get_json("/api/v1/vaccines").await;
    assert_eq!(vaccines, json!([]), "a retired vaccine is no longer listed");
    let (status, _) = app.call(&staff, Method::DELETE, &vaccine_path, None).await;
    assert_eq!(status, 404);
}
