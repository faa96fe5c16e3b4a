//! `connector-host`: load connector plugins and act as the integration platform around them.
//! Exit codes: 0 ok, 1 the connector (or connection) reported an error, 2 usage or host error.

fn main() -> std::process::ExitCode {
    connector_host::cli::main()
}
