//! Reference data: everyone reads, staff write, deleted entries disappear.

use std::sync::Arc;

use e2e::{
    TestApp, TestDb, dev_server_address, quick_policy, temporal_settings, unique_task_queue,
};
use reqwest::Method;
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect()
}

#[tokio::test]
async fn staff_curate_the_named_lists_and_everyone_reads_them() {
    let db = Arc::new(TestDb::new().await);
    let app = TestApp::spawn(
        db,
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
    )
    .await;
    let staff = app.staff().await;
    let owner = app.register("ana@example.com").await;

    for list in ["species", "specialties", "study-types"] {
        let path = format!("/api/v1/{list}");
        let (status, first) = app
            .call(
                &staff,
                Method::POST,
                &path,
                Some(json!({ "name": " Clínica " })),
            )
            .await;
        assert_eq!(status, 201, "{list}: {first}");
        assert_eq!(first["name"], "Clínica", "names are trimmed");
        let (status, second) = app
            .call(
                &staff,
                Method::POST,
                &path,
                Some(json!({ "name": "Análisis" })),
            )
            .await;
        assert_eq!(status, 201);

        let (status, listed) = app.get_json(&path).await;
        assert_eq!(
            status, 200,
            "everyone reads {list}, even without signing in"
        );
        assert_eq!(names(&listed), ["Análisis", "Clínica"]);

        let (status, _) = app
            .call(
                &staff,
                Method::POST,
                &path,
                Some(json!({ "name": "Clínica" })),
            )
            .await;
        assert_eq!(status, 409, "{list}: duplicate name");
        let second_path = format!("{path}/{}", second["id"].as_str().expect("id"));
        let (status, _) = app
            .call(
                &staff,
                Method::PATCH,
                &second_path,
                Some(json!({ "name": "Clínica" })),
            )
            .await;
        assert_eq!(status, 409, "{list}: rename onto a taken name");
        let (status, renamed) = app
            .call(
                &staff,
                Method::PATCH,
                &second_path,
                Some(json!({ "name": "Laboratorio" })),
            )
            .await;
        assert_eq!(
            (status, renamed["name"].as_str()),
            (200, Some("Laboratorio"))
        );

        for (method, target, body) in [
            (Method::POST, path.clone(), Some(json!({ "name": "Hack" }))),
            (
                Method::PATCH,
                second_path.clone(),
                Some(json!({ "name": "Hack" })),
            ),
            (Method::DELETE, second_path.clone(), None),
        ] {
            let (status, _) = app
                .call(&owner, method.clone(), &target, body.clone())
                .await;
            assert_eq!(status, 403, "an owner: {method} {target}");
            let (status, _) = app.call("", method.clone(), &target, body).await;
            assert_eq!(status, 401, "nobody: {method} {target}");
        }
        let (status, _) = app
            .call(&staff, Method::POST, &path, Some(json!({ "name": "" })))
            .await;
        assert_eq!(status, 422);

        let (status, _) = app.call(&staff, Method::DELETE, &second_path, None).await;
        assert_eq!(status, 204);
        let (_, listed) = app.get_json(&path).await;
        assert_eq!(
            names(&listed),
            ["Clínica"],
            "{list}: deleted entries disappear"
        );
        let (status, _) = app.call(&staff, Method::DELETE, &second_path, None).await;
        assert_eq!(status, 404);
    }

    let (status, _) = app.get_json("/api/v1/no-such-list").await;
    assert_eq!(status, 404);

    let (_, documents) = app.get_json("/api/v1/document-types").await;
    assert_eq!(
        documents
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|d| d["id"].as_i64())
            .collect::<Vec<_>>(),
        [80, 86, 96, 99]
    );
    let (_, conditions) = app.get_json("/api/v1/vat-conditions").await;
    assert!(
        conditions
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c["id"] == 5 && c["name"] == "Consumidor Final")
    );
}
