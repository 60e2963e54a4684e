//! The vet search through HTTP: the geo search on hand-built polygons (inside, outside,
//! on the border: a corner, an edge along a meridian, the middle of an edge along a
//! parallel; inside a hole), paging, specialty and time window, and the search from
//! memory against PostGIS's, after every kind of change.

use e2e::TestApp;
use reqwest::Method;
use serde_json::json;

use super::vets::rect;

async fn app() -> TestApp {
    TestApp::start().await
}

async fn search(app: &TestApp, staff: &str, lat: f64, lon: f64) -> Vec<String> {
    let (status, vets) = app
        .call(
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
    let staff = app.staff().await;
    let e2e::Caller {
        id: ana,
        token: ana_token,
    } = app.vet(&staff, "ana@vets.ar", "20-12345678-6").await;
    let e2e::Caller { id: bruno, .. } = app.vet(&staff, "bruno@vets.ar", "33-69345023-9").await;

    // Ana: a square with a hole; Bruno: the square east of hers, sharing the meridian -58.40.
    let (status, area) = app
        .call(
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
    let (status, _) = app.call(&staff,
        Method::POST,
        &format!("/api/v1/vets/{bruno}/coverage-areas"),
        Some(json!({ "name": "Este", "area": { "type": "Polygon", "coordinates": [rect(-58.40, -34.70, -58.30, -34.60)] }})),
    )
    .await;
    assert_eq!(status, 201);

    assert_eq!(
        search(&app, &staff, -34.61, -58.49).await,
        ["Ana"],
        "inside Ana's"
    );
    assert_eq!(
        search(&app, &staff, -34.65, -58.45).await,
        Vec::<String>::new(),
        "inside Ana's hole"
    );
    assert_eq!(
        search(&app, &staff, -34.65, -58.35).await,
        ["Bruno"],
        "inside Bruno's"
    );
    assert_eq!(
        search(&app, &staff, -34.60, -58.40).await,
        ["Ana", "Bruno"],
        "on the shared corner"
    );
    assert_eq!(
        search(&app, &staff, -34.65, -58.40).await,
        ["Ana", "Bruno"],
        "on the shared border"
    );
    // The middle of Ana's north edge, which runs along the parallel -34.60 as drawn: on
    // the line on the map, so inside (on the sphere the edge between its corners runs
    // about a metre south of the parallel, and this point was outside).
    assert_eq!(
        search(&app, &staff, -34.60, -58.45).await,
        ["Ana"],
        "on the middle of an edge along a parallel"
    );
    assert_eq!(
        search(&app, &staff, -34.55, -58.45).await,
        Vec::<String>::new(),
        "north of both"
    );

    // Hundreds may cover a point: the answer comes a page at a time, in name order.
    let page = |query: &'static str| {
        let (app, staff) = (&app, &staff);
        async move {
            let path = format!("/api/v1/vets/search?lat=-34.60&lon=-58.40&{query}");
            app.call(staff, Method::GET, &path, None).await
        }
    };
    let names = |vets: &serde_json::Value| -> Vec<String> {
        let list = vets.as_array().expect("list");
        list.iter()
            .map(|v| v["full_name"].as_str().expect("name").to_owned())
            .collect()
    };
    let (status, first) = page("limit=1").await;
    assert_eq!((status, names(&first)), (200, vec!["Ana".to_owned()]));
    let (status, second) = page("limit=1&offset=1").await;
    assert_eq!((status, names(&second)), (200, vec!["Bruno".to_owned()]));
    let (_, past) = page("offset=2").await;
    assert_eq!(names(&past), Vec::<String>::new());
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-1", "offset"),
    ] {
        let (status, problem) = page(query).await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(e2e::problem_fields(&problem), [field], "{query}");
    }

    // A deleted area no longer covers anything.
    let area_id = area["id"].as_str().expect("id");
    let (status, _) = app
        .call(
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
async fn the_search_keeps_vets_with_the_specialty_who_are_free_for_the_whole_window() {
    let app = app().await;
    let staff = app.staff().await;
    let e2e::Caller {
        id: ana,
        token: ana_token,
    } = app.vet(&staff, "ana@vets.ar", "20-12345678-6").await;
    let e2e::Caller {
        id: bruno,
        token: bruno_token,
    } = app.vet(&staff, "bruno@vets.ar", "33-69345023-9").await;
    let square = json!({ "name": "Centro", "area": { "type": "Polygon", "coordinates": [rect(-58.5, -34.7, -58.3, -34.5)] } });
    for (id, token) in [(&ana, &ana_token), (&bruno, &bruno_token)] {
        let (status, _) = app
            .call(
                token,
                Method::POST,
                &format!("/api/v1/vets/{id}/coverage-areas"),
                Some(square.clone()),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, clinic) = app
        .call(
            &staff,
            Method::POST,
            "/api/v1/specialties",
            Some(json!({ "name": "Clínica" })),
        )
        .await;
    let clinic = clinic["id"].as_str().expect("id").to_owned();
    let (status, set) = app
        .call(
            &ana_token,
            Method::PUT,
            &format!("/api/v1/vets/{ana}/specialties"),
            Some(json!({ "specialty_ids": [clinic] })),
        )
        .await;
    assert_eq!(
        (status, set["specialty_ids"].clone()),
        (200, json!([clinic]))
    );
    let (status, problem) = app
        .call(
            &ana_token,
            Method::PUT,
            &format!("/api/v1/vets/{ana}/specialties"),
            Some(json!({ "specialty_ids": [uuid::Uuid::new_v4()] })),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "specialty_ids");

    // Mondays, local time (UTC-3): Ana 09-13, Bruno 14-18.
    for (id, token, from, to) in [
        (&ana, &ana_token, "09:00", "13:00"),
        (&bruno, &bruno_token, "14:00", "18:00"),
    ] {
        let (status, slot) = app
            .call(
                token,
                Method::POST,
                &format!("/api/v1/vets/{id}/availability"),
                Some(json!({ "weekday": 1, "starts_at": from, "ends_at": to })),
            )
            .await;
        assert_eq!(status, 201, "{slot}");
    }
    let (status, problem) = app
        .call(
            &ana_token,
            Method::POST,
            &format!("/api/v1/vets/{ana}/availability"),
            Some(json!({ "weekday": 8, "starts_at": "13:00", "ends_at": "09:00" })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        problem["errors"].as_array().map(Vec::len),
        Some(2),
        "{problem}"
    );

    let find = |from: &'static str, to: &'static str, specialty: Option<String>| {
        let app = &app;
        let staff = &staff;
        async move {
            let mut path = format!("/api/v1/vets/search?lat=-34.6&lon=-58.4&from={from}&to={to}");
            if let Some(s) = specialty {
                path.push_str(&format!("&specialty_id={s}"));
            }
            let (status, vets) = app.call(staff, Method::GET, &path, None).await;
            assert_eq!(status, 200, "{vets}");
            vets.as_array()
                .expect("list")
                .iter()
                .map(|v| v["full_name"].as_str().expect("name").to_owned())
                .collect::<Vec<_>>()
        }
    };
    // 2026-11-30 is a Monday.
    assert_eq!(
        find("2026-11-30T13:00:00Z", "2026-11-30T14:00:00Z", None).await,
        ["Ana"],
        "10-11 local"
    );
    assert_eq!(
        find("2026-11-30T17:00:00Z", "2026-11-30T18:00:00Z", None).await,
        ["Bruno"],
        "14-15 local"
    );
    assert!(
        find("2026-11-30T15:30:00Z", "2026-11-30T16:30:00Z", None)
            .await
            .is_empty(),
        "12:30-13:30 overruns Ana's slot"
    );
    assert!(
        find("2026-12-01T13:00:00Z", "2026-12-01T14:00:00Z", None)
            .await
            .is_empty(),
        "a Tuesday"
    );
    assert_eq!(
        find(
            "2026-11-30T13:00:00Z",
            "2026-11-30T14:00:00Z",
            Some(clinic.clone())
        )
        .await,
        ["Ana"]
    );
    assert!(
        find("2026-11-30T17:00:00Z", "2026-11-30T18:00:00Z", Some(clinic))
            .await
            .is_empty(),
        "Bruno lacks it"
    );

    let (status, off) = app.call(&ana_token,
        Method::POST,
        &format!("/api/v1/vets/{ana}/time-off"),
        Some(json!({ "starts": "2026-11-30T12:30:00Z", "ends": "2026-11-30T13:30:00Z", "reason": "turno médico" })),
    )
    .await;
    assert_eq!(status, 201, "{off}");
    assert!(
        find("2026-11-30T13:00:00Z", "2026-11-30T14:00:00Z", None)
            .await
            .is_empty(),
        "Ana is away"
    );
    assert_eq!(
        find("2026-12-07T13:00:00Z", "2026-12-07T14:00:00Z", None).await,
        ["Ana"],
        "the next Monday"
    );

    let (status, _) = app.call(&staff,
        Method::GET,
        "/api/v1/vets/search?lat=-34.6&lon=-58.4&from=2026-11-30T14:00:00Z&to=2026-11-30T13:00:00Z",
        None,
    )
    .await;
    assert_eq!(status, 422);
}

/// Star-shaped polygons around `center` (concave as often as not): `n` vertices at
/// growing angles, each at its own distance, from a seeded generator.
fn star(seed: &mut u64, center: [f64; 2], n: usize) -> Vec<[f64; 2]> {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let angle = (i as f64 + 0.8 * next()) / n as f64 * std::f64::consts::TAU;
            let radius = 0.01 + 0.03 * next();
            // Every digit a double has: a point on a vertex must be on it in memory too.
            [
                center[0] + radius * angle.cos(),
                center[1] + radius * angle.sin(),
            ]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

#[tokio::test]
async fn the_search_from_memory_agrees_with_postgis_and_follows_every_change() {
    let app = app().await;
    let staff = app.staff().await;
    let ana = app.vet(&staff, "ana@vets.ar", "20-12345678-6").await;
    let bruno = app.vet(&staff, "bruno@vets.ar", "33-69345023-9").await;
    let mut seed = 7u64;
    let mut areas = Vec::new();
    for (vet, center) in [
        (&ana, [-58.45, -34.62]),
        (&ana, [-58.41, -34.60]),
        (&bruno, [-58.43, -34.61]),
        (&bruno, [-58.40, -34.63]),
    ] {
        let ring = star(&mut seed, center, 9);
        let (status, area) = app
            .call(
                &vet.token,
                Method::POST,
                &format!("/api/v1/vets/{}/coverage-areas", vet.id),
                Some(
                    json!({ "name": "Zona", "area": { "type": "Polygon", "coordinates": [ring] } }),
                ),
            )
            .await;
        assert_eq!(status, 201, "{area}");
        areas.push((
            vet.id.clone(),
            area["id"].as_str().expect("id").to_owned(),
            ring,
        ));
    }
    let (_, clinic) = app
        .call(
            &staff,
            Method::POST,
            "/api/v1/specialties",
            Some(json!({ "name": "Clínica" })),
        )
        .await;
    let clinic: uuid::Uuid = clinic["id"].as_str().expect("id").parse().expect("uuid");

    // Points all over the areas, and on them: every vertex and every edge's middle.
    let mut points: Vec<[f64; 2]> = Vec::new();
    for i in 0..14 {
        for j in 0..14 {
            points.push([
                -58.49 + 0.0009 * 7.0 * f64::from(i),
                -34.66 + 0.0009 * 6.0 * f64::from(j),
            ]);
        }
    }
    for (.., ring) in &areas {
        points.extend(ring.iter().copied());
        points.extend(
            ring.windows(2)
                .map(|e| [(e[0][0] + e[1][0]) / 2.0, (e[0][1] + e[1][1]) / 2.0]),
        );
    }
    // What the API answers (from memory, without a window) against PostGIS's answer
    // (the SQL search the dispatcher uses), point by point.
    let compare = |specialty: Option<uuid::Uuid>| {
        let (app, staff, points) = (&app, &staff, &points);
        async move {
            let mut conn = app.db.conn().await;
            let mut answers = Vec::new();
            for [lon, lat] in points {
                let mut path = format!("/api/v1/vets/search?lat={lat}&lon={lon}&limit=200");
                if let Some(s) = specialty {
                    path.push_str(&format!("&specialty_id={s}"));
                }
                let (status, vets) = app.call(staff, Method::GET, &path, None).await;
                assert_eq!(status, 200, "{vets}");
                let api: Vec<String> = vets
                    .as_array()
                    .expect("list")
                    .iter()
                    .map(|v| v["id"].as_str().expect("id").to_owned())
                    .collect();
                let point = domain::LatLon::new(*lat, *lon).expect("a point");
                let sql: Vec<String> =
                    db::vets::vets_covering(&mut conn, point, specialty, None, None)
                        .await
                        .expect("the SQL search")
                        .iter()
                        .map(|v| v.id.to_string())
                        .collect();
                assert_eq!(api, sql, "at {lat}, {lon} (specialty {specialty:?})");
                answers.push(api);
            }
            answers
        }
    };
    let found = |answers: &[Vec<String>]| answers.iter().filter(|a| !a.is_empty()).count();
    let before = compare(None).await;
    assert!(
        found(&before) > points.len() / 4,
        "the points fall in the areas: {} of {}",
        found(&before),
        points.len()
    );
    assert_eq!(
        found(&compare(Some(clinic)).await),
        0,
        "nobody has the specialty yet"
    );

    // Every change is seen by the next search: a specialty given, an area deleted.
    let give_bruno_the_specialty = || async {
        let (status, _) = app
            .call(
                &bruno.token,
                Method::PUT,
                &format!("/api/v1/vets/{}/specialties", bruno.id),
                Some(json!({ "specialty_ids": [clinic] })),
            )
            .await;
        assert_eq!(status, 200);
    };
    let (app, ana) = (&app, &ana);
    let delete_anas_area = |area: String| async move {
        let path = format!("/api/v1/vets/{}/coverage-areas/{area}", ana.id);
        app.call(&ana.token, Method::DELETE, &path, None).await.0
    };
    give_bruno_the_specialty().await;
    assert!(found(&compare(Some(clinic)).await) > 0, "Bruno has it now");

    // What changes nothing does not make the searches load the directory again: the
    // same specialties set again, a delete of an area that is not there.
    let version = || async {
        app.db
            .count("SELECT version AS n FROM vet_directory_version")
            .await
    };
    let before_nothing = version().await;
    give_bruno_the_specialty().await;
    assert_eq!(
        delete_anas_area(uuid::Uuid::new_v4().to_string()).await,
        404
    );
    assert_eq!(
        version().await,
        before_nothing,
        "nothing changed, nothing moved"
    );
    assert_eq!(areas[0].0, ana.id, "the first area is Ana's");
    assert_eq!(delete_anas_area(areas[0].1.clone()).await, 204);
    let after = compare(None).await;
    assert!(
        before.iter().zip(&after).any(|(b, a)| b != a),
        "somewhere only the deleted area covered, the answer changed"
    );
}
