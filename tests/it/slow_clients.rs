//! Slow or idle clients cannot hold the service (docs/design.md, "Load, faults and bad input"): headers must arrive in time, idle
//! keep-alive connections close, open connections are capped, and shutdown has a deadline.

use std::time::{Duration, Instant};

use token_service::{AppState, ServeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Limits with a short header timeout and room for every test's connections.
fn limits(header_read_timeout: Duration) -> ServeLimits {
    ServeLimits {
        header_read_timeout,
        max_connections: 64,
        shutdown_deadline: Duration::from_secs(10),
    }
}

const PARTIAL_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n";
const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// When the server closes `stream` (end of stream or reset), counted from `since`; `None`
/// if it is still open `limit` after `since`. What the server sends before closing is ignored.
async fn closed_after(stream: &mut TcpStream, since: Instant, limit: Duration) -> Option<Duration> {
    let closed = async {
        let mut buf = [0u8; 1024];
        while let Ok(1..) = stream.read(&mut buf).await {}
    };
    let remaining = limit.saturating_sub(since.elapsed());
    tokio::time::timeout(remaining, closed)
        .await
        .ok()
        .map(|()| since.elapsed())
}

/// Sends one request on a keep-alive connection and reads its response (head and a
/// `Content-Length` body); returns the status line.
async fn round_trip(stream: &mut TcpStream) -> String {
    stream.write_all(REQUEST).await.unwrap();
    let mut response = Vec::new();
    loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a response");
        response.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let l = l.to_ascii_lowercase();
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if response.len() >= end + 4 + length {
                return text.lines().next().unwrap().to_owned();
            }
        }
    }
}

/// The value of the counter `name` at `url`.
async fn counter(client: &reqwest::Client, url: &str, name: &str) -> u64 {
    let text = client.get(url).send().await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with(name)).unwrap();
    line[name.len()..].trim().parse().unwrap()
}

/// Waits until the server has accepted `n` connections (the `open_connections` gauge).
async fn wait_for_open_connections(state: &AppState, n: usize) {
    let line = format!("token_service_open_connections {n}");
    for _ in 0..200 {
        if state.metrics.render().unwrap().lines().any(|l| l == line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never {n} open connections");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits(secs(1.0))).await;
    let since = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();

    let closed = closed_after(&mut stream, since, secs(4.0)).await;
    let closed = closed.expect("a silent connection is still open after 4 s");
    assert!(closed >= secs(0.9), "closed too early: {closed:?}");
}

#[tokio::test]
async fn a_connection_with_partial_headers_is_closed_after_the_header_timeout() {
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits(secs(1.0))).await;
    let since = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(PARTIAL_HEAD).await.unwrap();

    let closed = closed_after(&mut stream, since, secs(4.0)).await;
    let closed = closed.expect("a connection with partial headers is still open after 4 s");
    assert!(closed >= secs(0.9), "closed too early: {closed:?}");
}

#[tokio::test]
async fn headers_trickled_a_line_a_second_are_cut_off_at_the_header_deadline() {
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits(secs(2.5))).await;
    let since = Instant::now();
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Twenty lines, one a second: each arrives well within any per-read timeout.
    let trickle = tokio::spawn(async move {
        writer.write_all(PARTIAL_HEAD).await?;
        for i in 0..20 {
            tokio::time::sleep(secs(1.0)).await;
            writer
                .write_all(format!("x-line-{i}: y\r\n").as_bytes())
                .await?;
        }
        std::io::Result::Ok(())
    });

    let closed = async {
        let mut buf = [0u8; 1024];
        while let Ok(1..) = reader.read(&mut buf).await {}
    };
    let closed = tokio::time::timeout(secs(6.0), closed).await;
    trickle.abort();
    closed.expect("a trickling client is still connected after 6 s");
    assert!(since.elapsed() >= secs(2.4), "closed too early");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits(secs(1.0))).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(round_trip(&mut stream).await, "HTTP/1.1 200 OK");
    let since = Instant::now();

    let closed = closed_after(&mut stream, since, secs(4.0)).await;
    let closed = closed.expect("an idle keep-alive connection is still open after 4 s");
    assert!(
        closed >= secs(0.9),
        "not kept alive: closed after {closed:?}"
    );
}

#[tokio::test]
async fn over_the_connection_cap_a_new_connection_waits_and_is_served_when_one_closes() {
    let limits = ServeLimits {
        max_connections: 2,
        ..limits(secs(10.0))
    };
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        assert_eq!(round_trip(&mut stream).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }

    let waiting = tokio::spawn(http().get(server.url("/healthz")).send());
    tokio::time::sleep(secs(0.5)).await;
    assert!(!waiting.is_finished(), "served over the cap");
    drop(held.pop());
    let response = tokio::time::timeout(secs(3.0), waiting)
        .await
        .expect("still waiting 3 s after a connection closed")
        .unwrap()
        .expect("the waiting connection failed instead of being served");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn reaching_the_connection_cap_is_counted_in_the_metrics() {
    let limits = ServeLimits {
        max_connections: 2,
        ..limits(secs(10.0))
    };
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits).await;
    let client = http();
    let metrics = server.url("/metrics");
    let metric = "token_service_connection_cap_reached_total";
    assert_eq!(
        counter(&client, &metrics, metric).await,
        0,
        "one connection of two open"
    );

    // The client's pooled connection and this one take both slots.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(round_trip(&mut stream).await, "HTTP/1.1 200 OK");

    assert!(
        counter(&client, &metrics, metric).await >= 1,
        "the cap was reached and not counted"
    );
}

#[tokio::test]
async fn run_returns_within_the_shutdown_deadline_while_partial_headers_are_held() {
    let limits = ServeLimits {
        shutdown_deadline: secs(1.0),
        ..limits(secs(30.0))
    };
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(PARTIAL_HEAD).await.unwrap();
        held.push(stream);
    }
    wait_for_open_connections(&server.state, 3).await;

    let since = Instant::now();
    tokio::time::timeout(secs(4.0), server.stop())
        .await
        .expect("run still running 4 s after the shutdown signal");
    assert!(since.elapsed() >= secs(0.9), "returned before the deadline");
    for stream in &mut held {
        let closed = closed_after(stream, Instant::now(), secs(1.0)).await;
        assert!(
            closed.is_some(),
            "a held connection is still open after run returned"
        );
    }
}

#[tokio::test]
async fn at_shutdown_idle_keep_alive_connections_are_closed_at_once() {
    // Header timeout and deadline far beyond the test: only the shutdown closes the connection.
    let limits = ServeLimits {
        shutdown_deadline: secs(30.0),
        ..limits(secs(30.0))
    };
    let server = TestServer::spawn_with_limits(TestApp::new().state, limits).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(round_trip(&mut stream).await, "HTTP/1.1 200 OK");

    let since = Instant::now();
    tokio::time::timeout(secs(2.0), server.stop())
        .await
        .expect("run waited for an idle connection at shutdown");
    let closed = closed_after(&mut stream, since, secs(2.0)).await;
    assert!(closed.is_some(), "the idle connection is still open");
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}
