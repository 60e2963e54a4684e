//! Studies and their files through HTTP: upload, list, download, delete; the size and type
//! limits; who may see them; and the S3 backend against an S3-compatible server (moto).

use std::{process::Stdio, sync::Arc, time::Duration};

use e2e::{
    TestApp, TestDb, dev_server_address, problem_fields, quick_policy, temporal_settings,
    unique_task_queue,
};
use reqwest::{Method, multipart};
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n";

async fn app() -> TestApp {
    TestApp::start().await
}

/// A pet of a new owner and a study type: (owner token, pet id, study type id, staff token).
async fn pet_and_type(app: &TestApp) -> (String, String, String, String) {
    let staff = app.staff().await;
    let dog = app
        .create(&staff, "/api/v1/species", json!({ "name": "Perro" }))
        .await;
    let blood = app
        .create(
            &staff,
            "/api/v1/study-types",
            json!({ "name": "Hemograma" }),
        )
        .await;
    let e2e::Caller { token: ana, .. } = app.owner("ana@example.com").await;
    let pet = app
        .create(
            &ana,
            "/api/v1/pets",
            json!({ "name": "Luna", "species_id": dog }),
        )
        .await;
    (ana, pet, blood, staff)
}

async fn upload(
    app: &TestApp,
    token: &str,
    study: &str,
    name: &str,
    declared: &str,
    bytes: &[u8],
) -> (u16, Value) {
    let part = multipart::Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str(declared)
        .expect("mime");
    let response = app
        .http
        .post(app.url(&format!("/api/v1/studies/{study}/files")))
        .bearer_auth(token)
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn download(
    app: &TestApp,
    token: &str,
    url: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .http
        .get(app.url(url))
        .bearer_auth(token)
        .send()
        .await
        .expect("download");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.bytes().await.expect("body").to_vec(),
    )
}

async fn study(app: &TestApp, token: &str, pet: &str, study_type: &str) -> String {
    app.create(
        token,
        &format!("/api/v1/pets/{pet}/studies"),
        json!({ "study_type_id": study_type, "performed_on": "2026-10-01", "notes": " ayunas " }),
    )
    .await
}

#[tokio::test]
async fn an_owner_keeps_a_study_with_its_files_and_downloads_them_back() {
    let app = app().await;
    let (ana, pet, blood, _) = pet_and_type(&app).await;
    let study = study(&app, &ana, &pet, &blood).await;

    let (status, file) = upload(
        &app,
        &ana,
        &study,
        "análisis octubre.pdf",
        "application/pdf",
        PDF,
    )
    .await;
    assert_eq!(status, 201, "{file}");
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(file["size_bytes"], PDF.len());
    assert_eq!(file["file_name"], "análisis octubre.pdf");
    // The type comes from the bytes: a PNG sent as "application/octet-stream" is a PNG.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    let (status, image) = upload(&app, &ana, &study, "", "application/octet-stream", png).await;
    assert_eq!(status, 201, "{image}");
    assert_eq!(image["content_type"], "image/png");
    assert_eq!(
        image["file_name"], "study.png",
        "a name is made up when none is given"
    );

    let (status, listed) = app
        .call(
            &ana,
            Method::GET,
            &format!("/api/v1/pets/{pet}/studies"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["notes"], "ayunas");
    assert_eq!(listed[0]["files"].as_array().map(Vec::len), Some(2));

    let url = file["download_url"].as_str().expect("url");
    let (status, headers, body) = download(&app, &ana, url).await;
    assert_eq!(status, 200);
    assert_eq!(body, PDF, "the same bytes come back");
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().expect("ascii");
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("filename*=UTF-8''an%C3%A1lisis%20octubre.pdf"),
        "{disposition}"
    );

    // Deleting a file hides it; deleting the study hides it and what is left.
    let (status, _) = app.call(&ana, Method::DELETE, url, None).await;
    assert_eq!(status, 204);
    let (status, _, _) = download(&app, &ana, url).await;
    assert_eq!(status, 404);
    let (_, shown) = app
        .call(&ana, Method::GET, &format!("/api/v1/studies/{study}"), None)
        .await;
    assert_eq!(shown["files"].as_array().map(Vec::len), Some(1));
    let (status, _) = app
        .call(
            &ana,
            Method::DELETE,
            &format!("/api/v1/studies/{study}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, listed) = app
        .call(
            &ana,
            Method::GET,
            &format!("/api/v1/pets/{pet}/studies"),
            None,
        )
        .await;
    assert_eq!(listed, json!([]));
    let image_url = image["download_url"].as_str().expect("url");
    let (status, _, _) = download(&app, &ana, image_url).await;
    assert_eq!(status, 404, "files of a deleted study are gone too");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM study_files WHERE deleted_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn bad_studies_and_bad_files_are_refused_and_leave_nothing_behind() {
    let app = app().await;
    let (ana, pet, blood, _) = pet_and_type(&app).await;
    let path = format!("/api/v1/pets/{pet}/studies");

    let (status, problem) = app
        .call(
            &ana,
            Method::POST,
            &path,
            Some(json!({ "study_type_id": pet, "performed_on": "2999-01-01" })),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let mut named = problem_fields(&problem);
    named.sort();
    assert_eq!(named, ["performed_on", "study_type_id"]);
    let (status, problem) = app
        .call(&ana, Method::POST, &path, Some(json!({ "study_type_id": blood, "performed_on": "2026-01-01", "notes": "x".repeat(2001) })))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_fields(&problem), ["notes"]);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM studies").await, 0);

    let study = study(&app, &ana, &pet, &blood).await;
    let exe = b"MZ\x90\0\x03\0\0\0 this program cannot be run in DOS mode";
    let (status, problem) =
        upload(&app, &ana, &study, "resultado.pdf", "application/pdf", exe).await;
    assert_eq!(status, 415, "a renamed executable is not a PDF: {problem}");
    assert_eq!(problem["status"], 415);
    let (status, problem) = upload(&app, &ana, &study, "vacío.pdf", "application/pdf", b"").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_fields(&problem), ["file"]);
    // The test app accepts files of up to 256 KiB.
    let mut big = PDF.to_vec();
    big.resize(256 * 1024 + 1, b' ');
    let (status, problem) = upload(&app, &ana, &study, "grande.pdf", "application/pdf", &big).await;
    assert_eq!(status, 413, "{problem}");
    let mut huge = PDF.to_vec();
    huge.resize(2 * 1024 * 1024, b' ');
    let (status, _) = upload(&app, &ana, &study, "enorme.pdf", "application/pdf", &huge).await;
    assert_eq!(status, 413, "well past the body limit");
    let mut just_fits = PDF.to_vec();
    just_fits.resize(256 * 1024, b' ');
    let (status, fits) = upload(
        &app,
        &ana,
        &study,
        "justo.pdf",
        "application/pdf",
        &just_fits,
    )
    .await;
    assert_eq!(status, 201, "exactly the limit is fine: {fits}");

    let (status, problem) = app
        .call(
            &ana,
            Method::POST,
            &format!("/api/v1/studies/{study}/files"),
            Some(json!({ "file": "JVBERi0=" })),
        )
        .await;
    assert_eq!(status, 415, "JSON is not an upload: {problem}");
    let form = multipart::Form::new().text("comment", "hola");
    let response = app
        .http
        .post(app.url(&format!("/api/v1/studies/{study}/files")))
        .bearer_auth(&ana)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 422);

    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM study_files").await,
        1,
        "only the file within the limits was recorded"
    );
    let stored = count_files(
        &std::env::var_os("TEST_FILES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("files-{}", app.db.name)),
    );
    assert_eq!(stored, 1, "and only its bytes were stored");
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() { count_files(&path) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn nobody_else_sees_or_touches_a_study() {
    let app = app().await;
    let (ana, pet, blood, staff) = pet_and_type(&app).await;
    let study = study(&app, &ana, &pet, &blood).await;
    let (_, file) = upload(&app, &ana, &study, "r.pdf", "application/pdf", PDF).await;
    let url = file["download_url"].as_str().expect("url").to_owned();
    let e2e::Caller { token: bruno, .. } = app.owner("bruno@example.com").await;
    let e2e::Caller { token: vet, .. } = app.vet(&staff, "vet@example.com", "20-12345678-6").await;

    for (who, token, want) in [("another owner", &bruno, 404), ("a vet", &vet, 403)] {
        for (method, path) in [
            (Method::GET, format!("/api/v1/pets/{pet}/studies")),
            (Method::GET, format!("/api/v1/studies/{study}")),
            (Method::GET, url.clone()),
            (Method::DELETE, url.clone()),
            (Method::DELETE, format!("/api/v1/studies/{study}")),
        ] {
            let (status, body) = app.call(token, method.clone(), &path, None).await;
            assert_eq!(status, want, "{who}: {method} {path}: {body}");
            assert!(
                body.get("files").is_none() && body.get("id").is_none(),
                "{body}"
            );
        }
        let (status, body) = app
            .call(
                token,
                Method::POST,
                &format!("/api/v1/pets/{pet}/studies"),
                Some(json!({ "study_type_id": blood, "performed_on": "2026-01-01" })),
            )
            .await;
        assert_eq!(status, want, "{who}: {body}");
        let (status, _) = upload(&app, token, &study, "x.pdf", "application/pdf", PDF).await;
        assert_eq!(status, want, "{who} uploads");
    }
    let (status, _) = upload(&app, "", &study, "x.pdf", "application/pdf", PDF).await;
    assert_eq!(status, 401, "signed out");
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM study_files").await,
        1
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM studies WHERE deleted_at IS NULL")
            .await,
        1
    );

    // Staff see and fetch everything.
    let (status, _, body) = download(&app, &staff, &url).await;
    assert_eq!((status, body.as_slice()), (200, PDF));
}

/// An S3-compatible server (moto) on a free port, stopped when dropped.
struct S3Server {
    child: tokio::process::Child,
    endpoint: String,
}

impl S3Server {
    async fn start() -> Self {
        let bin = std::env::var("MOTO_SERVER_BIN").unwrap_or_else(|_| {
            e2e::root()
                .join(".venv/bin/moto_server")
                .display()
                .to_string()
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = tokio::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {bin} (scripts/ensure-test-tools.sh installs it): {e}")
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        e2e::eventually("moto S3 server up", Duration::from_secs(30), || {
            let http = http.clone();
            let endpoint = endpoint.clone();
            async move { http.get(&endpoint).send().await.ok().map(|_| ()) }
        })
        .await;
        Self { child, endpoint }
    }
}

#[tokio::test]
async fn with_s3_configured_files_go_to_the_bucket_and_come_back() {
    let mut s3 = S3Server::start().await;
    let http = reqwest::Client::new();
    let created = http
        .put(format!("{}/studies-bucket", s3.endpoint))
        // Readable without credentials, so the test can look into it with a plain GET.
        .header("x-amz-acl", "public-read")
        .send()
        .await
        .expect("create bucket");
    assert!(created.status().is_success(), "{}", created.status());

    let db = Arc::new(TestDb::new().await);
    let app = TestApp::spawn_with_storage(
        db,
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
        api::storage::StorageSettings::S3 {
            bucket: "studies-bucket".into(),
            region: "us-east-1".into(),
            endpoint: Some(s3.endpoint.clone()),
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        },
    )
    .await;
    let (ana, pet, blood, _) = pet_and_type(&app).await;
    let study = study(&app, &ana, &pet, &blood).await;
    let (status, file) = upload(&app, &ana, &study, "placa.pdf", "application/pdf", PDF).await;
    assert_eq!(status, 201, "{file}");

    // The object is in the bucket under the key the row names...
    let mut conn = app.db.conn().await;
    let key: String = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        #[derive(QueryableByName)]
        struct Key {
            #[diesel(sql_type = diesel::sql_types::Text)]
            storage_key: String,
        }
        let rows: Vec<Key> = diesel::sql_query("SELECT storage_key FROM study_files")
            .load(&mut conn)
            .await
            .expect("keys");
        rows.into_iter().next().expect("one file").storage_key
    };
    let object = http
        .get(format!("{}/studies-bucket/{key}", s3.endpoint))
        .send()
        .await
        .expect("get object");
    assert_eq!(object.status().as_u16(), 200);
    assert_eq!(object.bytes().await.expect("bytes").as_ref(), PDF);
    // ...and the API serves it back from there.
    let (status, _, body) = download(&app, &ana, file["download_url"].as_str().expect("url")).await;
    assert_eq!((status, body.as_slice()), (200, PDF));

    // With the storage down, an upload is a clear 503 and records nothing.
    s3.child.kill().await.expect("stop moto");
    let (status, problem) = upload(&app, &ana, &study, "otra.pdf", "application/pdf", PDF).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM study_files").await,
        1
    );
}

/// Starts an upload over a raw connection and stops half-way through the body, as a
/// slow phone would: the open connection, to finish later.
async fn half_an_upload(app: &TestApp, token: &str, study: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let head = "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\
                Content-Type: application/pdf\r\n\r\n";
    let body_len = head.len() + PDF.len() + "\r\n--b0undary--\r\n".len();
    let address = app.authority();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!(
        "POST /api/v1/studies/{study}/files HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b0undary\r\n\
         Content-Length: {body_len}\r\nConnection: close\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(&PDF[..10]).await.expect("write");
    stream
}

async fn finish_upload(mut stream: tokio::net::TcpStream) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(&PDF[10..]).await.expect("write");
    stream
        .write_all(b"\r\n--b0undary--\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    answer
}

#[tokio::test]
async fn slow_uploads_hold_no_database_connection_while_their_bodies_stream_in() {
    // The test app's pool has 4 connections; 10 uploads wait half-way through.
    let app = app().await;
    let (ana, pet, blood, _) = pet_and_type(&app).await;
    let study = study(&app, &ana, &pet, &blood).await;
    let mut slow = Vec::new();
    for _ in 0..10 {
        slow.push(half_an_upload(&app, &ana, &study).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile the owner reads: a pool held by the uploads would make these wait 5 s
    // for a connection and answer 503.
    for _ in 0..5 {
        let (status, body) = app
            .call(
                &ana,
                Method::GET,
                &format!("/api/v1/pets/{pet}/studies"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body[0]["files"], json!([]), "no upload finished yet");
    }
    for stream in slow {
        let answer = finish_upload(stream).await;
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
    let (_, body) = app
        .call(
            &ana,
            Method::GET,
            &format!("/api/v1/pets/{pet}/studies"),
            None,
        )
        .await;
    assert_eq!(body[0]["files"].as_array().map(Vec::len), Some(10));
}
