//! Running the server: bind, learn in the background, reload on SIGHUP, stop gracefully.

use super::state::{Opened, refresh_articles};
use super::{AppState, ServeConfig, conn, learner, router};

/// Runs the server until SIGTERM or Ctrl-C; SIGHUP reloads the model.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    // The address first: a start that cannot listen must not create the database and its
    // one-time admin token (printed, then lost with the failed start).
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "another program (or another replyguard) listens there"
                }
                std::io::ErrorKind::PermissionDenied => {
                    "ports below 1024 need root or CAP_NET_BIND_SERVICE"
                }
                std::io::ErrorKind::AddrNotAvailable => "the address is not one of this machine's",
                _ => "the system refused it",
            };
            anyhow::anyhow!(
                "cannot listen on {}: {e} ({why}); choose another with --listen or \
                 REPLYGUARD_LISTEN, e.g. --listen 127.0.0.1:8081",
                config.listen
            )
        })?;
    let Opened {
        state,
        generated_token,
    } = AppState::open(&config).await?;
    if let Some(token) = generated_token {
        tracing::warn!(
            "generated an admin token (shown once, only its hash is stored): {token} — \
             set REPLYGUARD_ADMIN_TOKEN to choose your own"
        );
    }
    let addr = listener.local_addr()?;
    // One line on stdout for people and scripts; the rest of the log goes to stderr.
    println!("replyguard listening on http://{addr}/");
    tracing::info!(%addr, model = %state.models.current().version, db = %config.db, "serving");

    tokio::spawn(refresh_articles(state.clone()));
    tokio::spawn(super::sites::follow(state.clone()));
    tokio::spawn(super::notify::run(state.clone()));
    if let crate::storage::Database::Sqlite(path) = &config.db
        && let Some(problem) = unwritable(path)
    {
        tracing::error!(%problem, "the database cannot take comments");
        let _ = state.unwritable.set(problem);
    }
    tokio::spawn(check_integrity(state.clone()));
    tokio::spawn(learner::run(
        state.learner.clone(),
        state.store.clone(),
        state.models.clone(),
    ));
    if config.learning.implicit_weight > 0.0 {
        tokio::spawn(learner::learn_unchallenged(
            state.learner.clone(),
            state.store.clone(),
            config.learn_published_after,
            config.learn_published_after_comments,
        ));
    }

    #[cfg(unix)]
    {
        let models = state.models.clone();
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let models = models.clone();
                match tokio::task::spawn_blocking(move || models.reload()).await {
                    Ok(Ok(version)) => tracing::info!(%version, "model reloaded on SIGHUP"),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "model reload refused; the previous model keeps serving")
                    }
                    Err(e) => tracing::error!(error = %e, "model reload task failed"),
                }
            }
        });
    }

    let proxies = state.proxies.clone();
    tracing::info!(
        max_connections = config.connections.max_total,
        per_address = config.connections.max_per_ip,
        "connection limits"
    );
    let (usage, keys) = (state.akismet_usage.clone(), state.keys.clone());
    conn::serve(
        listener,
        router(state, config.request_timeout),
        config.connections,
        proxies,
        shutdown_signal(),
    )
    .await;
    usage.flush_all(&*keys).await;
    tracing::info!("stopped; every acknowledged comment is committed");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Why this process cannot write the SQLite database at `path` (a file left to another user, by
/// a restore run as root say): readers would see the comments, but every comment and decision
/// would be refused. `/healthz` says so instead of "ok".
fn unwritable(path: &std::path::Path) -> Option<String> {
    // Asked with access(2), never by opening the file: closing any descriptor of a SQLite file
    // drops every POSIX lock this process holds on it, SQLite's own included (its connection
    // then kept reading one stale snapshot; tests/sites.rs caught it).
    first_unwritable(path, |file| {
        rustix::fs::accessat(
            rustix::fs::CWD,
            file,
            rustix::fs::Access::WRITE_OK,
            rustix::fs::AtFlags::EACCESS,
        )
        .map_err(|e| e.to_string())
    })
}

/// The first of the database's files (itself, its `-wal` and `-shm`) that `writable` refuses,
/// with what to do.
fn first_unwritable(
    path: &std::path::Path,
    writable: impl Fn(&std::path::Path) -> Result<(), String>,
) -> Option<String> {
    let files = ["", "-wal", "-shm"].map(|suffix| {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        std::path::PathBuf::from(name)
    });
    files.iter().filter(|file| file.exists()).find_map(|file| {
        let refused = writable(file).err()?;
        Some(format!(
            "{} is not writable by this process ({refused}): no comment can be posted or \
             moderated; give the database's files to the service's user (chown) and restart",
            file.display()
        ))
    })
}

/// Reads the whole database once for damage, after the server is up (a pass over the file costs
/// too much to delay the start); what it finds is logged and shown by `/healthz`.
async fn check_integrity(state: AppState) {
    match state.store.integrity().await {
        Ok(None) => tracing::info!("database check: ok"),
        Ok(Some(problem)) => {
            tracing::error!(%problem, "the database file is damaged: restore a backup (replyguard restore)");
            let _ = state.damage.set(problem);
        }
        Err(e) => tracing::warn!(error = %e, "database check could not run"),
    }
}

#[cfg(test)]
mod tests {
    use super::{first_unwritable, unwritable};

    #[test]
    fn a_database_the_process_cannot_write_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rg.db");
        std::fs::write(&db, b"").unwrap();
        assert_eq!(unwritable(&db), None);
        assert_eq!(unwritable(&dir.path().join("missing.db")), None);
        // A log left to another user is named (file modes do not stop root, who runs the tests
        // here, so the refusal is played).
        let wal = dir.path().join("rg.db-wal");
        std::fs::write(&wal, b"").unwrap();
        let problem = first_unwritable(&db, |file| {
            if file == wal {
                Err("Permission denied".into())
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert!(
            problem.contains("rg.db-wal is not writable by this process (Permission denied)"),
            "{problem}"
        );
    }
}
