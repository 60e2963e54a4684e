//! The server's own bounds: a client that sends its headers slowly (slowloris) or sits
//! idle is disconnected after the header-read timeout, connections over the cap are
//! answered `503` at once, and one client's requests in flight are capped, while other
//! clients are served.

use std::{sync::Arc, time::Duration};

use e2e::{
    TestApp, TestDb, dev_server_address, quick_policy, temporal_settings, unique_task_queue,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

async fn app(max_connections: usize, header_read_timeout: Duration) -> TestApp {
    TestApp::spawn_with(
        Arc::new(TestDb::new().await),
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
        move |settings| {
            settings.connections = api::server::ConnectionLimits {
                max_connections,
                header_read_timeout,
                ..Default::default()
            };
        },
    )
    .await
}

/// Reads until the server closes the connection (or `limit` passes); what it said.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut said = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&said).into_owned()),
            Ok(Ok(n)) => said.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_client_dribbling_its_headers_is_disconnected_and_others_are_served() {
    let app = app(64, Duration::from_secs(1)).await;
    let mut slow = TcpStream::connect(app.authority()).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    // One header byte every 200 ms: each byte is progress, but the headers never end.
    let dribble = async {
        loop {
            if slow.write_all(b"X").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if started.elapsed() > Duration::from_secs(10) {
                break;
            }
        }
    };
    let served = async {
        let (status, _) = app.get_json("/healthz").await;
        status
    };
    let ((), status) = tokio::join!(dribble, served);
    assert_eq!(status, 200, "another client is served meanwhile");
    let held = started.elapsed();
    assert!(
        held < Duration::from_secs(5),
        "the dribbling connection was dropped after {held:?}"
    );

    // An idle connection (no request at all) is closed after the same timeout.
    let mut idle = TcpStream::connect(app.authority()).await.expect("connect");
    let closed = read_to_close(&mut idle, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "an idle connection is closed");
}

#[tokio::test]
async fn connections_over_the_cap_are_told_503_at_once() {
    let app = app(2, Duration::from_secs(3)).await;
    // Two connections that say nothing hold both places.
    let first = TcpStream::connect(app.authority()).await.expect("connect");
    let _second = TcpStream::connect(app.authority()).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(app.authority()).await.expect("connect");
    let said = read_to_close(&mut third, Duration::from_secs(2))
        .await
        .expect("answered and closed at once");
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("retry-after: 1"), "{said}");
    assert!(said.contains("application/problem+json"), "{said}");

    // A place freed is a place served.
    drop(first);
    let mut served = None;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut fourth = TcpStream::connect(app.authority()).await.expect("connect");
        fourth
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let said = read_to_close(&mut fourth, Duration::from_secs(2)).await;
        if said
            .as_deref()
            .is_some_and(|s| s.starts_with("HTTP/1.1 200"))
        {
            served = said;
            break;
        }
    }
    assert!(served.is_some(), "served once a connection closed");
}

#[tokio::test]
async fn one_client_has_at_most_its_share_of_requests_in_flight() {
    let app = TestApp::spawn_with(
        Arc::new(TestDb::new().await),
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
        |settings| settings.connections.max_requests_per_client = 2,
    )
    .await;
    // Two requests whose bodies never finish are this client's two in flight.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(app.authority()).await.expect("connect");
        stream
            .write_all(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            )
            .await
            .expect("write");
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, problem) = app.get_json("/api/v1/services").await;
    assert_eq!(status, 429, "{problem}");
    // Once they end, the client is served again.
    drop(held);
    e2e::eventually("served again", Duration::from_secs(10), || async {
        let (status, _) = app.get_json("/api/v1/services").await;
        (status == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_unsigned_webhook_is_refused_before_its_body_is_read() {
    let app = app(64, Duration::from_secs(10)).await;
    let mut stream = TcpStream::connect(app.authority()).await.expect("connect");
    // A body announced and never sent: the signature is checked first, and fails.
    stream
        .write_all(
            b"POST /api/v1/webhooks/mercadopago?data.id=1&type=payment HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
        )
        .await
        .expect("write");
    let mut said = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut said))
        .await
        .expect("answered without the body")
        .expect("read");
    let said = String::from_utf8_lossy(&said[..n]).into_owned();
    assert!(said.starts_with("HTTP/1.1 401"), "{said}");
}
