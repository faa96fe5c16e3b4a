//! `connector-host store-writer` (hidden): rewrites connections' token sets in a loop, so that
//! the crash tests can kill it at any moment and check that every connection is whole.

use host_harness::platform::{open_store, PlatformError, Record, Secrets, Status};

use super::CliError;

/// Writes token sets `rt-N` / generation N forever, each as one store update.
pub fn run(path: &std::path::Path, name: &str, threads: usize) -> Result<u8, CliError> {
    let store = open_store(path, &super::default_store().with_file_name("postgres.key"))?;
    let names: Vec<String> =
        if threads <= 1 { vec![name.to_string()] } else { (1..=threads).map(|i| format!("{name}-{i}")).collect() };
    let mut records = Vec::new();
    for name in names {
        records.push(match store.get(&name) {
            Ok(r) => r,
            Err(_) => {
                let r = Record {
                    name: name.clone(),
                    settings: serde_json::Map::from_iter([("name".to_string(), serde_json::json!(name))]),
                    status: Status::Connected,
                    remedy: None,
                    last_error: None,
                    identity: None,
                    // Generation 0 is a whole token set too: a kill before a writer's first
                    // update finds it, and the test asks every generation for its own set.
                    expires_at: Some(0),
                    secrets: Secrets {
                        access_token: Some("at-0".into()),
                        refresh_token: Some("rt-0".into()),
                        ..Secrets::default()
                    },
                    generation: 0,
                    created_at: 0,
                    updated_at: 0,
                    last_refresh_at: None,
                    keepalive: Default::default(),
                };
                store.insert(&r)?;
                r
            }
        });
    }
    println!("writing");
    let writers: Vec<_> = records
        .into_iter()
        .map(|mut r| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<(), PlatformError> {
                loop {
                    r.generation += 1;
                    r.secrets.refresh_token = Some(format!("rt-{}", r.generation));
                    r.secrets.access_token = Some(format!("at-{}", r.generation));
                    r.expires_at = Some(r.generation);
                    store.update(&r, r.generation - 1)?;
                }
            })
        })
        .collect();
    for w in writers {
        w.join().map_err(|_| CliError::Other("a writer thread panicked".into()))??;
    }
    Ok(0)
}
