//! `connector-host api-keys create NAME | list | revoke ID`: the keys of the platform's HTTP API,
//! and `connector-host panel-link`: a one-time sign-in link to its web panel. A new key or link
//! is printed once; the store keeps only its hash.

use clap::Subcommand;
use serde_json::json;

use super::connections::{platform, Common};
use super::CliError;

#[derive(Subcommand)]
pub enum ApiKeysCommand {
    /// Make a key named NAME and print it (once: it is not stored, only its hash).
    Create { name: String },
    /// Every key: id, name, when made, whether revoked (never the key).
    List,
    /// Revoke the key with this id (the 12 characters after `chk_`).
    Revoke { id: String },
}

pub fn run(command: ApiKeysCommand, common: Common) -> Result<u8, CliError> {
    let p = platform(&common, None, "http://localhost:8400/callback")?;
    match command {
        ApiKeysCommand::Create { name } => {
            let (key, secret) = p.create_api_key(&name)?;
            if common.json {
                println!("{}", json!({"id": key.id, "name": key.name, "key": secret.expose()}));
            } else {
                println!(
                    "API key {:?} (id {}); give it as `Authorization: Bearer <key>`. It is shown only now:",
                    key.name, key.id
                );
                println!("{}", secret.expose());
            }
            Ok(0)
        }
        ApiKeysCommand::List => {
            let keys = p.store.api_keys()?;
            if common.json {
                let list: Vec<_> = keys
                    .iter()
                    .map(
                        |k| json!({"id": k.id, "name": k.name, "created_at": k.created_at, "revoked_at": k.revoked_at}),
                    )
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!("  {:<14} {:<32} {:<12} STATUS", "ID", "NAME", "CREATED");
                for k in keys {
                    let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    println!("  {:<14} {:<32} {:<12} {status}", k.id, k.name, k.created_at);
                }
            }
            Ok(0)
        }
        ApiKeysCommand::Revoke { id } => {
            if p.revoke_api_key(&id)? {
                println!("revoked API key {id}");
                Ok(0)
            } else {
                eprintln!("connector-host: no active API key with id {id:?}");
                Ok(1)
            }
        }
    }
}

/// `connector-host panel-link`: a new one-time sign-in link to the panel at `url`.
pub fn panel_link(url: &str, common: Common) -> Result<u8, CliError> {
    let base = url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(CliError::Other(format!("--url {url:?}: give the panel's address, such as http://localhost:8400")));
    }
    let p = platform(&common, None, "http://localhost:8400/callback")?;
    let token = p.new_panel_link()?;
    let link = format!("{base}/signin?token={token}");
    if common.json {
        println!("{}", json!({"link": link, "expires_in": host_harness::platform::LINK_TTL_SECS}));
    } else {
        println!("Open this link to sign in to the panel (it works once, for 10 minutes):");
        println!("{link}");
    }
    Ok(0)
}
