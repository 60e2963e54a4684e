//! Every endpoint × every kind of caller × someone else's resource.
//!
//! The table below classifies each operation the API serves; the walk calls each one as
//! a signed-out visitor, another owner, another vet and (for staff endpoints) the owner of
//! the resources, with a valid body, and expects the exact refusal, a problem body that
//! carries none of the resource's data, and not one row changed anywhere. The table must
//! name every operation of the OpenAPI document, and the document every route the code
//! declares, so a new endpoint cannot skip this test.

use std::collections::BTreeMap;

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::RunQueryDsl;
use e2e::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

use super::authorization_table::{Class::*, table};

/// Every table's rows, hashed: equal before and after means nothing changed.
async fn fingerprint(app: &TestApp) -> BTreeMap<String, String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        hash: String,
    }
    let mut conn = app.db.conn().await;
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
           AND table_name NOT IN ('spatial_ref_sys', '__diesel_schema_migrations', 'login_attempts')",
    )
    .load(&mut conn)
    .await
    .expect("tables");
    assert!(tables.len() > 30, "{} tables", tables.len());
    let mut out = BTreeMap::new();
    for table in tables {
        let row: Row = diesel::sql_query(format!(
            "SELECT '{0}' AS name, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS hash FROM {0} t",
            table.name
        ))
        .get_result(&mut conn)
        .await
        .expect("hash");
        out.insert(row.name, row.hash);
    }
    out
}

struct World {
    ids: BTreeMap<&'static str, String>,
    /// Strings that must never appear in a refusal: the resources' ids and data.
    secrets: Vec<String>,
}

async fn build_world(app: &TestApp) -> World {
    let staff = app.staff().await;
    let mut ids = BTreeMap::new();
    let species = app
        .create(&staff, "/api/v1/species", json!({ "name": "Perro" }))
        .await;
    let study_type = app
        .create(
            &staff,
            "/api/v1/study-types",
            json!({ "name": "Hemograma" }),
        )
        .await;
    let vaccine = app
        .create(
            &staff,
            "/api/v1/vaccines",
            json!({ "name": "Antirrábica", "interval_days": 365 }),
        )
        .await;
    let service = app
        .create(
            &staff,
            "/api/v1/services",
            json!({ "code": "CONS", "name": "Consulta", "duration_minutes": 45 }),
        )
        .await;
    let square = json!({ "type": "Polygon", "coordinates": [[[-58.44, -34.59], [-58.40, -34.59], [-58.40, -34.56], [-58.44, -34.56], [-58.44, -34.59]]] });
    let hood = app
        .create(
            &staff,
            "/api/v1/neighborhoods",
            json!({ "name": "Palermo", "area": square, "distance_coefficient": "1.1" }),
        )
        .await;
    let (status, _) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/services/{service}/prices"),
            Some(json!({ "amount": "10000", "valid_from": e2e::fixtures::local_today() })),
        )
        .await;
    assert_eq!(status, 201);
    let turn_fee = app
        .create(
            &staff,
            "/api/v1/turn-fee-groups",
            json!({ "code": "URGENT", "name": "Urgente", "kind": "percent", "value": "50" }),
        )
        .await;
    let discount = app
        .create(
            &staff,
            "/api/v1/discounts",
            json!({ "name": "Promo", "kind": "fixed", "value": "500", "valid_from": "2026-01-01" }),
        )
        .await;
    let carla = app
        .create(
            &staff,
            "/api/v1/owners",
            json!({ "full_name": "Carla Telefónica", "phone": "+5491100000002" }),
        )
        .await;

    let e2e::Caller {
        token: ana_token,
        id: ana,
    } = app.owner("ana@example.com").await;
    let address = app
        .create(
            &ana_token,
            &format!("/api/v1/owners/{ana}/addresses"),
            json!({ "street": "Gurruchaga 1234", "lat": -34.585, "lon": -58.418 }),
        )
        .await;
    let pet = app
        .create(
            &ana_token,
            "/api/v1/pets",
            json!({ "name": "Lunita Secreta", "species_id": species, "sex": "female" }),
        )
        .await;
    app.create(
        &ana_token,
        &format!("/api/v1/pets/{pet}/vaccinations"),
        json!({ "vaccine_id": vaccine, "applied_on": "2026-01-05", "batch": "LOTE-SECRETO" }),
    )
    .await;
    let study = app
        .create(
            &ana_token,
            &format!("/api/v1/pets/{pet}/studies"),
            json!({ "study_type_id": study_type, "performed_on": "2026-02-01", "notes": "nota secreta" }),
        )
        .await;
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.4 secreto".to_vec())
        .file_name("placa-secreta.pdf");
    let uploaded: Value = app
        .http
        .post(app.url(&format!("/api/v1/studies/{study}/files")))
        .bearer_auth(&ana_token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let file = uploaded["id"].as_str().expect("file id").to_owned();

    let start = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .and_hms_opt(13, 0, 0)
        .expect("time")
        .and_utc();
    let end = start + chrono::Duration::hours(2);
    let cart_item = app
        .create(
            &ana_token,
            "/api/v1/cart/items",
            json!({ "service_id": service, "pet_id": pet, "address_id": address, "wanted_start": start, "wanted_end": end }),
        )
        .await;
    let e2e::Caller {
        id: vet,
        token: vet_token,
    } = app.vet(&staff, "martin@example.com", "20-12345678-6").await;
    let area = app
        .create(
            &vet_token,
            &format!("/api/v1/vets/{vet}/coverage-areas"),
            json!({ "name": "Zona secreta", "area": square }),
        )
        .await;
    let slot = app
        .create(
            &vet_token,
            &format!("/api/v1/vets/{vet}/availability"),
            json!({ "weekday": 1, "starts_at": "09:00", "ends_at": "18:00" }),
        )
        .await;
    let time_off = app
        .create(
            &vet_token,
            &format!("/api/v1/vets/{vet}/time-off"),
            json!({ "starts": "2027-02-01T00:00:00Z", "ends": "2027-02-03T00:00:00Z", "reason": "vacaciones secretas" }),
        )
        .await;
    let (status, request) = app
        .staff_post(
            "/api/v1/service-requests",
            &json!({ "description": "pedido secreto" }),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    let request = request["id"].as_str().expect("id").to_owned();
    let (visit, report_file, invoice, invoiced_request) =
        visit_with_report(app, &ana, &pet, &service, &address, &vet).await;

    for (name, id) in [
        ("species", &species),
        ("study_type", &study_type),
        ("vaccine", &vaccine),
        ("service", &service),
        ("hood", &hood),
        ("carla", &carla),
        ("ana", &ana),
        ("address", &address),
        ("pet", &pet),
        ("study", &study),
        ("file", &file),
        ("vet", &vet),
        ("area", &area),
        ("slot", &slot),
        ("time_off", &time_off),
        ("request", &request),
        ("turn_fee", &turn_fee),
        ("discount", &discount),
        ("cart_item", &cart_item),
        ("visit", &visit),
        ("report_file", &report_file),
        ("invoice", &invoice),
        ("invoiced_request", &invoiced_request),
        ("start", &start.to_rfc3339()),
        ("end", &end.to_rfc3339()),
    ] {
        ids.insert(name, id.clone());
    }
    ids.insert("list", "species".into());
    ids.insert("id", species.clone());
    let secrets = [
        ana.clone(),
        cart_item.clone(),
        pet.clone(),
        address.clone(),
        study.clone(),
        file.clone(),
        area.clone(),
        slot.clone(),
        time_off.clone(),
        request.clone(),
        report_file.clone(),
        invoice.clone(),
    ]
    .into_iter()
    .chain(
        [
            "ana@example.com",
            "Lunita Secreta",
            "Gurruchaga",
            "LOTE-SECRETO",
            "nota secreta",
            "placa-secreta",
            "Zona secreta",
            "vacaciones secretas",
            "pedido secreto",
            "martin@example.com",
            "Carla",
            "hallazgo secreto",
        ]
        .map(str::to_owned),
    )
    .collect();
    World { ids, secrets }
}

/// A visit of Ana's pet by Martín, done, with its report and a file: written as the
/// workflow and the API would (no worker runs here).
async fn visit_with_report(
    app: &TestApp,
    ana: &str,
    pet: &str,
    service: &str,
    address: &str,
    vet: &str,
) -> (String, String, String, String) {
    let request = uuid::Uuid::now_v7();
    let visit = uuid::Uuid::now_v7();
    let file = uuid::Uuid::now_v7();
    let invoice = uuid::Uuid::now_v7();
    let mut conn = app.db.conn().await;
    for sql in [
        format!(
            "INSERT INTO service_requests (id, state, state_seq, description, vet_id, owner_id, pet_id, service_id, address_id) \
             VALUES ('{request}', 'completed', 6, 'visita secreta', '{vet}', '{ana}', '{pet}', '{service}', '{address}')"
        ),
        format!(
            "INSERT INTO visits (id, request_id, vet_id, scheduled, status) \
             VALUES ('{visit}', '{request}', '{vet}', tstzrange(now() - interval '2 hours', now() - interval '1 hour'), 'completed')"
        ),
        format!(
            "INSERT INTO visit_reports (id, visit_id, author_user_id, findings, diagnosis) \
             SELECT gen_random_uuid(), '{visit}', user_id, 'hallazgo secreto', 'diagnóstico' FROM veterinarians WHERE id = '{vet}'"
        ),
        format!(
            "INSERT INTO visit_report_files (id, report_id, storage_key, file_name, content_type, size_bytes) \
             SELECT '{file}', id, 'reports/secret/{file}', 'placa-secreta.pdf', 'application/pdf', 10 \
             FROM visit_reports WHERE visit_id = '{visit}'"
        ),
        format!(
            "INSERT INTO invoices (id, request_id, visit_id, issuer_cuit, point_of_sale, receipt_type, \
                 service_date, buyer_name, doc_type, doc_number, buyer_vat_condition, description, net, vat, total) \
             VALUES ('{invoice}', '{request}', '{visit}', 20123456786, 1, 11, current_date, 'Ana secreta', \
                 99, 0, 5, 'visita secreta', 100, 0, 100)"
        ),
    ] {
        let written = diesel_async::RunQueryDsl::execute(diesel::sql_query(&sql), &mut conn)
            .await
            .expect(&sql);
        assert_eq!(written, 1, "{sql}");
    }
    (
        visit.to_string(),
        file.to_string(),
        invoice.to_string(),
        request.to_string(),
    )
}

fn fill(template: &str, ids: &BTreeMap<&'static str, String>) -> String {
    let mut out = template.to_owned();
    for (name, id) in ids {
        out = out.replace(&format!("{{{name}}}"), id);
    }
    out
}

/// The path as the OpenAPI document spells it: `/pets/{pet}` → `/pets/{id}`,
/// `/studies/{study}/files/{file}` → `/studies/{id}/files/{file_id}`.
pub(super) fn as_documented(template: &str) -> String {
    let mut out = String::new();
    let mut first = true;
    for (i, segment) in template.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name @ ("list" | "token" | "answer" | "result")) => {
                out.push_str(&format!("{{{name}}}"));
            }
            Some(_) if first => {
                first = false;
                out.push_str("{id}");
            }
            Some(name) => out.push_str(&format!("{{{name}_id}}")),
            None => out.push_str(segment),
        }
    }
    out
}

fn method(name: &str) -> Method {
    name.to_uppercase().parse().expect("method")
}

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, String, String) {
    let mut request = app.http.request(method, app.url(path));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    if path.ends_with("/files") {
        let part = reqwest::multipart::Part::bytes(b"%PDF-1.4 intruso".to_vec()).file_name("x.pdf");
        request = request.multipart(reqwest::multipart::Form::new().part("file", part));
    } else if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn nobody_reaches_what_is_not_theirs_through_any_endpoint() {
    let app = TestApp::start().await;
    let world = build_world(&app).await;
    let staff = app.staff().await;
    let e2e::Caller { token: bruno, .. } = app.owner("bruno@example.com").await;
    let e2e::Caller { token: lucia, .. } =
        app.vet(&staff, "lucia@example.com", "27-23456789-1").await;
    let ana = app
        .sign_in("ana@example.com", "correct horse battery")
        .await;
    let before = fingerprint(&app).await;

    let mut checked = 0;
    for (verb, template, class, body) in table() {
        let path = fill(template, &world.ids);
        let body = body.map(|b| {
            serde_json::from_str::<Value>(&fill(&b.to_string(), &world.ids)).expect("body")
        });
        let callers: Vec<(&str, &str, u16)> = match class {
            Public => continue,
            Own => vec![("signed out", "", 401)],
            Staff => vec![
                ("signed out", "", 401),
                ("an owner", &ana, 403),
                ("another owner", &bruno, 403),
                ("a vet", &lucia, 403),
            ],
            Owner => vec![
                ("signed out", "", 401),
                ("another owner", &bruno, 404),
                ("a vet", &lucia, 403),
            ],
            Vet => vec![
                ("signed out", "", 401),
                ("an owner", &bruno, 404),
                ("another vet", &lucia, 404),
            ],
            Visit | Request => vec![
                ("signed out", "", 401),
                ("another owner", &bruno, 404),
                ("another vet", &lucia, 404),
            ],
            Receipt => vec![
                ("signed out", "", 401),
                ("another owner", &bruno, 404),
                ("a vet", &lucia, 404),
            ],
            OwnRef => vec![
                ("signed out", "", 401),
                ("another owner", &bruno, 422),
                ("a vet", &lucia, 403),
            ],
        };
        for (who, token, want) in callers {
            let (status, content_type, text) =
                send(&app, token, method(verb), &path, body.as_ref()).await;
            assert_eq!(status, want, "{who}: {verb} {path}: {text}");
            assert_eq!(
                content_type, "application/problem+json",
                "{who}: {verb} {path}"
            );
            let problem: Value = serde_json::from_str(&text).expect("problem JSON");
            assert_eq!(problem["status"], want, "{who}: {verb} {path}: {text}");
            for secret in &world.secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{who}: {verb} {path} leaks {secret}: {text}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked} calls checked");

    // Lists of one's own show nothing of anyone else's.
    for path in ["/api/v1/owners", "/api/v1/pets", "/api/v1/me"] {
        for (who, token) in [("another owner", &bruno), ("a vet", &lucia)] {
            let (status, _, text) = send(&app, token, Method::GET, path, None).await;
            assert!(status == 200 || status == 403, "{who}: {path}: {status}");
            for secret in &world.secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{who}: GET {path} leaks {secret}: {text}"
                );
            }
        }
    }
    // Creating "own" things cannot be aimed at someone else's record.
    let (status, _, text) = send(
        &app,
        &bruno,
        Method::POST,
        "/api/v1/pets",
        Some(&json!({ "name": "Colado", "species_id": world.ids["species"], "owner_id": world.ids["ana"] })),
    )
    .await;
    assert!(
        [403, 404, 422].contains(&status),
        "an owner adds a pet to Ana: {status} {text}"
    );

    assert_eq!(
        before,
        fingerprint(&app).await,
        "refused calls changed nothing"
    );

    // The same calls as the resources' owners and staff do work (the refusals above are
    // about who asks, not about the calls being wrong): spot-check one of each class.
    for (token, path) in [
        (&ana, format!("/api/v1/pets/{}", world.ids["pet"])),
        (&staff, format!("/api/v1/pets/{}", world.ids["pet"])),
        (
            &staff,
            format!("/api/v1/vets/{}/time-off", world.ids["vet"]),
        ),
        (
            &staff,
            format!("/api/v1/service-requests/{}", world.ids["request"]),
        ),
    ] {
        let (status, _, text) = send(&app, token, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{path}: {text}");
    }
}

/// Public reads answer without signing in.
#[tokio::test]
async fn public_reads_need_no_sign_in() {
    let app = TestApp::start().await;
    let world = build_world(&app).await;
    for (verb, template, class, _) in table() {
        // Offer links need a token signed for a real offer: dispatch_flow.rs opens them.
        if class != Public || verb != "get" || template.contains("{token}") {
            continue;
        }
        let path = fill(template, &world.ids).replace("{result}", "success");
        let path = if path.ends_with("/locate") {
            format!("{path}?lat=-34.58&lon=-58.42")
        } else {
            path
        };
        let (status, _, text) = send(&app, "", Method::GET, &path, None).await;
        assert_eq!(status, 200, "GET {path}: {text}");
    }
}
