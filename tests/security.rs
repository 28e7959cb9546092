//! Regression tests for the findings of the attacker's review (issue #27), each through the real
//! binary on an ephemeral port: raw sockets, raw HTTP, the process's own resident memory.

mod common;

use common::{Server, model};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A TCP connection to `addr` from the loopback address `from` (127.0.0.x), so a test can play
/// several clients.
fn connect_from(from: &str, addr: &str) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

/// Sends `request` and reads the answer until the server closes or `wait` passes.
fn exchange(stream: &mut TcpStream, request: &[u8], wait: Duration) -> String {
    stream.set_read_timeout(Some(wait)).unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// True when the server closed `stream` (EOF or reset) within `wait`.
fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Idle and slow (slowloris) connections, more than the process has file descriptors for: the
/// server keeps answering `/healthz` within 100 ms, refuses what is over the per-address limit
/// with a 429, and closes idle and half-sent connections after the header timeout.
#[test]
fn idle_and_slow_connections_do_not_starve_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_fd_limit(
        256,
        &dir.path().join("rg.db"),
        &model(),
        &["--header-timeout", "2"],
    );
    let addr = server.addr();
    // 300 idle connections from one address: more than the 256 descriptors the server has.
    let mut idle: Vec<TcpStream> = (0..300).map(|_| connect_from("127.0.0.1", &addr)).collect();
    // 30 slow ones from another, each sending its headers a byte at a time.
    let mut slow: Vec<TcpStream> = (0..30).map(|_| connect_from("127.0.0.3", &addr)).collect();
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        for s in &mut slow {
            let _ = s.write_all(
                &b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaa"[sent % 40..sent % 40 + 1],
            );
        }
        sent += 1;
        let t = Instant::now();
        let mut probe = connect_from("127.0.0.2", &addr);
        let answer = exchange(&mut probe, HEALTHZ, Duration::from_secs(2));
        let took = t.elapsed();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        worst = worst.max(took);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        worst < Duration::from_millis(100),
        "/healthz took {worst:?}"
    );
    // The connections over the per-address limit (64) were closed at once, answered 429 while
    // the server had room to write answers (the rest without one).
    let answers: Vec<String> = idle
        .iter_mut()
        .rev()
        .take(200)
        .map(|s| exchange(s, b"", Duration::from_millis(300)))
        .collect();
    let refused = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 429"))
        .count();
    assert!(refused > 0, "{answers:?}");
    for s in idle.iter_mut().rev().take(200) {
        assert!(closed_by_server(s, Duration::from_millis(300)));
    }
    // The header timeout closes idle and half-sent connections.
    for s in idle.iter_mut().take(64).chain(slow.iter_mut()) {
        assert!(closed_by_server(s, Duration::from_secs(4)), "still open");
    }
    // A kept-alive connection idle after its request is closed too.
    let mut kept = connect_from("127.0.0.4", &addr);
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    kept.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(closed_by_server(&mut kept, Duration::from_secs(4)));
}

/// Past `--max-connections` a connection is answered 503 at once, not left hanging.
#[test]
fn connections_over_the_cap_are_refused_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--max-connections", "20"],
    );
    let addr = server.addr();
    let _held: Vec<TcpStream> = (0..20)
        .map(|i| connect_from(&format!("127.0.1.{}", i + 1), &addr))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut over = connect_from("127.0.2.1", &addr);
    let t = Instant::now();
    let answer = exchange(&mut over, HEALTHZ, Duration::from_secs(2));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("\"error\""), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// A body announced over the limit is refused from its `Content-Length` at once, without waiting
/// for 64 KiB to arrive; JSON for the API, Akismet's form for Akismet.
#[test]
fn oversized_content_length_is_refused_before_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let addr = server.addr();
    for (path, expect) in [
        (
            "/api/v1/articles/alibaba-olympic-partner/comments",
            "\"error\"",
        ),
        ("/1.1/comment-check", "x-akismet-debug-help"),
    ] {
        let mut s = connect_from("127.0.0.1", &addr);
        let t = Instant::now();
        let answer = exchange(
            &mut s,
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{{\"a\":").as_bytes(),
            Duration::from_secs(3),
        );
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer:?}");
        assert!(answer.to_ascii_lowercase().contains(expect), "{answer}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
