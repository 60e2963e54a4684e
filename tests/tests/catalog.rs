//! The service catalog and neighborhoods: everyone reads, staff write; a point is
//! located in its neighborhood or is outside the service area.

use std::sync::Arc;

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

fn square(west: f64, south: f64, east: f64, north: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]] })
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
