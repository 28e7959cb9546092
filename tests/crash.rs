//! Crash safety: comments are posted concurrently while the server is killed with SIGKILL at
//! random moments (20 times, fixed seed); after each restart every comment that was acknowledged
//! with 201 must be present and intact, and the database must pass `PRAGMA integrity_check`.

use crate::common;

use common::{Server, agent, model};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ARTICLE: &str = "alibaba-olympic-partner";
const KILLS: usize = 20;
const CLIENTS: usize = 6;

#[test]
fn acknowledged_comments_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    // id → content of every comment the server acknowledged.
    let acknowledged: Arc<Mutex<HashMap<i64, String>>> = Arc::default();
    let mut sequence = 0u64;

    for round in 0..KILLS {
        let server = Server::start(&db, &model(), &[]);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let url = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
                let stop = stop.clone();
                let acknowledged = acknowledged.clone();
                let first = sequence + (c as u64) * 1_000_000;
                std::thread::spawn(move || {
                    let agent = agent();
                    let mut n = first;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let content = format!("Crash round {round}, comment {n}: the deal runs to 2028.");
                        let body = json!({"comment_content": content, "comment_author": format!("R{n}"), "comment_author_email": format!("r{n}@example.org")});
                        // A refused connection or a cut response means "not acknowledged".
                        let Ok(mut resp) = agent.post(&url).send_json(&body) else { continue };
                        if resp.status().as_u16() != 201 {
                            continue;
                        }
                        let Ok(text) = resp.body_mut().read_to_string() else { continue };
                        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                        if let Some(id) = v["id"].as_i64() {
                            acknowledged.lock().unwrap().insert(id, content);
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..250)));
        server.stop(); // SIGKILL: no graceful shutdown
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        sequence += 10_000_000;
    }

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let acknowledged = acknowledged.lock().unwrap();
    assert!(
        acknowledged.len() > 100,
        "the test must have posted: {}",
        acknowledged.len()
    );
    let mut stmt = conn
        .prepare("SELECT content FROM comments WHERE id = ?1")
        .unwrap();
    for (id, content) in acknowledged.iter() {
        let stored: String = stmt
            .query_row([id], |r| r.get(0))
            .unwrap_or_else(|_| panic!("acknowledged comment {id} is missing after kill -9"));
        assert_eq!(&stored, content, "comment {id} changed");
    }
    eprintln!(
        "{} acknowledged comments checked after {KILLS} kills",
        acknowledged.len()
    );
    // And the server starts again and serves exactly what the database holds.
    let published: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM comments WHERE status = 'published'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let server = Server::start(&db, &model(), &[]);
    let mut resp = agent()
        .get(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments?per_page=1")))
        .call()
        .unwrap();
    let list: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(list["total"].as_i64(), Some(published));
}
