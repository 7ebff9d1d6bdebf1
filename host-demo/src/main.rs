//! host-demo: a real host for the dagu-auth plugin. It reads Dagu-style configuration, loads the
//! plugin through the Rust or the C ABI, forwards the auth API to it and guards demo DAGs with it.

/// `eprintln!` that drops a line stderr cannot take (a full disk, a closed pipe) where
/// `eprintln!` would panic: the host must not fall over, or exit failing, for its log. While
/// serving, lines go through `request_log::line` instead.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod api_error;
mod cli;
mod config;
mod dags;
mod exposure;
mod front;
mod health;
mod plugin;
mod request_log;
mod server;
mod server_lock;
mod sso_config;
#[cfg(test)]
mod testing;
mod web;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{AuthMode, Config};
use crate::dags::Catalogue;
use crate::exposure::AllowedHosts;
use crate::plugin::LoadedPlugin;
use crate::server::AppState;

const ENV_HELP: &str = "\
Environment (overrides the config file; blank counts as unset):
  DAGU_HOST [127.0.0.1]  DAGU_PORT [8080]  DAGU_DATA_DIR [./data, from the working directory]
  DAGU_AUTH_MODE [builtin|none]  DAGU_AUTH_BUILTIN_ABI [rust|c]  DAGU_AUTH_PLUGIN [searched]
  DAGU_AUTH_TOKEN_SECRET  DAGU_AUTH_TOKEN_TTL [24h]
  DAGU_AUTH_BUILTIN_INITIAL_ADMIN_USERNAME  DAGU_AUTH_BUILTIN_INITIAL_ADMIN_PASSWORD
  DAGU_AUTH_ALLOWED_ORIGINS [comma list of https://host[:port]]
  DAGU_LICENSE_FEATURES [rbac,audit; set but empty = unlicensed]";

#[derive(Debug, Parser)]
#[command(name = "host-demo", version, about, after_help = ENV_HELP)]
struct Cli {
    /// Dagu-style YAML config; DAGU_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

/// Subcommands; `serve` is the default so `host-demo` alone starts the server.
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    #[command(flatten)]
    Operator(cli::OperatorCommand),
}

/// The log line that shows a fresh exposed install's setup code starts with this.
const SETUP_CODE_LINE: &str = "setup code: ";

/// Exit statuses: configuration problems are told apart from run-time failures for scripts.
const EXIT_FAILURE: u8 = 1;
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config.as_deref()),
        Command::Operator(command) => cli::run(cli.config.as_deref(), command),
    }
}

fn serve(config_file: Option<&Path>) -> ExitCode {
    let mut config = match load_config(config_file) {
        Ok(config) => config,
        Err(message) => {
            say!("host-demo: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Generated before the plugin opens (it takes the code in its configuration); the plugin asks
    // for it only while no user exists, and it is printed only then.
    if config.auth_mode == AuthMode::Builtin && !exposure::listens_on_loopback(&config.host) {
        match exposure::new_setup_code() {
            Ok(code) => config.setup_code = Some(code),
            Err(e) => {
                say!("host-demo: cannot generate a setup code: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    }

    // Held until serve returns: `db restore` refuses while any server holds it.
    let _server_lock = match config.auth_mode {
        AuthMode::None => None,
        AuthMode::Builtin => match server_lock::ServerLock::acquire(&config.data_dir) {
            Ok(lock) => Some(lock),
            Err(message) => {
                say!("host-demo: {message}");
                return ExitCode::from(EXIT_FAILURE);
            }
        },
    };

    // Opened before the runtime exists: opening may hash the initial admin's password, and a
    // refusal must stop start-up before anything listens.
    let plugin = match config.auth_mode {
        AuthMode::None => {
            say!("host-demo: auth.mode is none: user management is off, every DAG is open");
            None
        }
        AuthMode::Builtin => match open_plugin(&config) {
            Ok(plugin) => Some(Arc::new(plugin)),
            Err(message) => {
                say!("host-demo: {message}");
                return ExitCode::from(EXIT_FAILURE);
            }
        },
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            say!("host-demo: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let state = AppState {
        plugin,
        dags: Arc::new(Catalogue::demo()),
        allowed_hosts: AllowedHosts::for_listener(&config.host, &config.allowed_origins)
            .map(Arc::new),
    };
    match runtime.block_on(run(&config, state)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            say!("host-demo: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
    // The runtime, then the state and with it the plugin instance, drop here: the instance is
    // closed only after every request has finished.
}

fn load_config(file: Option<&Path>) -> Result<Config, String> {
    let mut warnings = Vec::new();
    let env = config::process_env(&mut warnings);
    let loaded = config::load(file, &env).map_err(|e| e.to_string())?;
    for warning in warnings.iter().chain(&loaded.warnings) {
        say!("host-demo: warning: {warning}");
    }
    let mut config = loaded.config;
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    config.resolve_data_dir(&cwd).map_err(|e| e.to_string())?;
    Ok(config)
}

fn open_plugin(config: &Config) -> Result<LoadedPlugin, String> {
    let plugin = LoadedPlugin::open_configured(config).map_err(|e| e.to_string())?;
    say!(
        "host-demo: loaded {} (version {}) through the {} ABI; data in {}",
        plugin.path().display(),
        plugin.version(),
        plugin.abi(),
        config.data_dir.display()
    );
    match plugin.setup_required() {
        Ok(true) => {
            say!(
                "host-demo: no user exists yet: create the first admin with POST /api/v1/auth/setup"
            );
            if let Some(code) = &config.setup_code {
                say!(
                    "host-demo: {SETUP_CODE_LINE}{code} (the server listens beyond loopback; \
                     the /setup page asks for it, the API takes it as \"setupCode\")"
                );
            }
        }
        Ok(false) => {}
        Err(e) => return Err(format!("the plugin cannot read its user store: {e}")),
    }
    Ok(plugin)
}

async fn run(config: &Config, state: AppState) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    // The bound address, not the configured one: with port 0 only this says where to connect.
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    println!("host-demo listening on http://{address}");
    let served = server::serve(listener, state, shutdown_signal()).await;
    // Lines of the last requests are written whether the server stopped cleanly or failed.
    request_log::flush();
    served.map_err(|e| format!("server failed: {e}"))?;
    say!("host-demo: stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. If a signal cannot be watched, that one is simply never seen.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            say!("host-demo: cannot watch Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                say!("host-demo: cannot watch SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    say!("host-demo: shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve_and_config_is_optional() {
        let cli = Cli::try_parse_from(["host-demo"]).expect("parses");
        assert!(cli.command.is_none() && cli.config.is_none());
        let cli =
            Cli::try_parse_from(["host-demo", "serve", "--config", "c.yaml"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert_eq!(cli.config, Some(PathBuf::from("c.yaml")));
    }
}
