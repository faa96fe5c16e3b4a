//! Starting a sign-in, against the peer a user would pick instead: the platform makes the
//! state, PKCE verifier and nonce and calls `authorize_url`, and MSAL Python's
//! `initiate_auth_code_flow` does the same for the same scopes, prompt and login hint
//! (`bench/msal_initiate.py`, in the virtual environment `make bench` makes under `target/`).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use connector_interface::{AuthorizeUrlInput, Secret};
use host_harness::platform::sign_in_secrets;
use host_harness::ConnectorHost;

use crate::inputs::{settings_map, REDIRECT};
use crate::measure::median_of;
use crate::root;

pub const LOGIN_HINT: &str = "adele.vance@contoso.onmicrosoft.com";
const SAMPLES: usize = 2000;

/// Both medians, in microseconds, each over the samples of every process; MSAL's median in each
/// of its processes; and the msal release timed.
pub struct Msal {
    pub ours_us: f64,
    pub msal_us: f64,
    pub msal_by_process_us: Vec<f64>,
    pub version: String,
}

impl Msal {
    pub fn speedup(&self) -> f64 {
        self.msal_us / self.ours_us
    }
}

/// MSAL's side runs in this many Python processes, one after another, each alternating with
/// ours for an equal share of the [`ROUNDS`]. A Python process's speed depends on the process
/// itself (its address space layout, its hash seed: pyperf runs every benchmark in many worker
/// processes for this reason, github.com/psf/pyperf/issues/136): with one process, MSAL's
/// median was 147 us in some runs of the same build and 235 to 290 us in the others, while ours
/// stayed where it was.
pub const PROCESSES: usize = 4;

/// Batches of MSAL's calls and of ours, alternating, over all the processes.
const ROUNDS: usize = 200;

/// The comparison, or why it was not made (no virtual environment with msal). MSAL's calls and
/// ours are timed in alternating batches, so both meet the same moments of the machine; each
/// side's median is taken over all its batches.
pub fn compare(host: &ConnectorHost) -> Result<Msal, String> {
    let python = root().join("target/msal-venv/bin/python");
    if !python.exists() {
        return Err("not measured: no target/msal-venv (make bench makes it when pip reaches the registry)".into());
    }
    let (mut msal, mut mine, mut by_process, mut version) = (Vec::new(), Vec::new(), Vec::new(), String::new());
    for _ in 0..PROCESSES {
        let part = in_one_process(host, &python)?;
        by_process.push(median_of(part.msal.clone()).median);
        msal.extend(part.msal);
        mine.extend(part.mine);
        version = part.version;
    }
    Ok(Msal {
        ours_us: median_of(mine).median,
        msal_us: median_of(msal).median,
        msal_by_process_us: by_process,
        version,
    })
}

/// One process's share: the msal release and both sides' samples, in microseconds.
struct Samples {
    version: String,
    msal: Vec<f64>,
    mine: Vec<f64>,
}

fn in_one_process(host: &ConnectorHost, python: &std::path::Path) -> Result<Samples, String> {
    let mut child = Command::new(python)
        .arg(root().join("bench/msal_initiate.py"))
        .arg("rounds")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("not measured: {e}"))?;
    let result = alternate(host, &mut child, ROUNDS / PROCESSES);
    drop(child.stdin.take());
    let status = child.wait().map_err(|e| format!("not measured: {e}"))?;
    result.and_then(|m| {
        if status.success() {
            Ok(m)
        } else {
            let mut stderr = String::new();
            child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
            Err(format!("not measured: msal_initiate.py said {stderr:?}"))
        }
    })
}

fn alternate(host: &ConnectorHost, child: &mut Child, rounds: usize) -> Result<Samples, String> {
    let broken = |what: &str| format!("not measured: msal_initiate.py {what}");
    let mut to_python = child.stdin.take().ok_or_else(|| broken("has no input"))?;
    let mut from_python = BufReader::new(child.stdout.take().ok_or_else(|| broken("has no output"))?).lines();
    let mut line = || from_python.next().and_then(Result::ok).ok_or_else(|| broken("stopped answering"));
    let version = line()?.trim().to_string();
    let mut settings = settings_map();
    settings.insert("prompt".into(), "select_account".into());
    settings.insert("login_hint".into(), LOGIN_HINT.into());
    let ours = || {
        // As `Platform::begin_authorization` makes them.
        let (state, verifier, nonce) = sign_in_secrets();
        let input = AuthorizeUrlInput {
            settings: settings.clone(),
            redirect_uri: REDIRECT.into(),
            state,
            code_verifier: Secret::new(verifier),
            nonce: Some(nonce),
            claims: None,
        };
        host.v1().authorize_url(&input).unwrap().unwrap();
    };
    for _ in 0..SAMPLES / 10 {
        ours();
    }
    let per_round = SAMPLES / ROUNDS;
    let (mut msal, mut mine) = (Vec::with_capacity(per_round * rounds), Vec::with_capacity(per_round * rounds));
    for _ in 0..rounds {
        writeln!(to_python, "{per_round}").map_err(|e| broken(&e.to_string()))?;
        let times = line()?;
        msal.extend(times.split_whitespace().filter_map(|t| t.parse::<f64>().ok()));
        for _ in 0..per_round {
            let t = Instant::now();
            ours();
            mine.push(t.elapsed().as_nanos() as f64 / 1000.0);
        }
    }
    if msal.len() != per_round * rounds {
        return Err(broken("answered with fewer times than asked"));
    }
    Ok(Samples { version, msal, mine })
}
