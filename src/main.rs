//! The `switchyard` command line: parse arguments, set up logging, build
//! the runtime, hand over to the library, map the result to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use switchyard::config;
use tracing_subscriber::EnvFilter;

/// mimalloc: the request path allocates many small, short-lived objects,
/// which glibc malloc serves markedly slower (see docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "A config-driven HTTP reverse proxy and load balancer"
)]
struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Log level or filter (e.g. `debug`, `switchyard=debug`); default: RUST_LOG, else `info`.
    #[arg(long, global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// `--config`, shared by the commands that read the proxy's config file.
#[derive(clap::Args)]
struct ConfigFile {
    /// Config file.
    #[arg(
        short,
        long,
        env = "SWITCHYARD_CONFIG",
        default_value = "config/switchyard.yaml"
    )]
    config: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy.
    Run {
        #[command(flatten)]
        file: ConfigFile,
    },
    /// Validate a config file exactly as `run` does, and summarise it.
    Check {
        #[command(flatten)]
        file: ConfigFile,
    },
    /// Ask a running proxy's admin listener for /healthz (exit 0 on 200, else 1),
    /// for container HEALTHCHECKs and exec probes. When the config names an
    /// `admin.token`, it is read and sent (so protected paths such as /config work).
    Healthcheck {
        /// The config file whose `admin.listen` is asked (only that key and
        /// `admin.token` are read).
        #[command(flatten)]
        file: ConfigFile,
        /// Ask this admin address (IP:PORT) instead of the config's.
        #[arg(long)]
        admin: Option<std::net::SocketAddr>,
        /// Admin path to ask, e.g. /readyz.
        #[arg(long, default_value = "/healthz")]
        path: String,
        /// Give up after this long, e.g. 2s.
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Run demo vendors in-process behind the proxy, with a live status
    /// page on the admin listener and controls to make a vendor fail.
    Demo {
        /// Demo config file.
        #[arg(short, long, default_value = "config/demo.yaml")]
        config: PathBuf,
        /// Also send a steady, bounded stream of requests through the proxy.
        #[arg(long)]
        load: bool,
        /// Requests per second with --load (1 to 500).
        #[arg(long, default_value_t = switchyard::demo::load::DEFAULT_RATE, requires = "load",
              value_parser = clap::value_parser!(u32).range(1..=500))]
        load_rate: u32,
        /// Minutes the load runs before it stops by itself (1 to 60).
        #[arg(long, default_value_t = switchyard::demo::load::DEFAULT_MINUTES, requires = "load",
              value_parser = clap::value_parser!(u64).range(1..=60))]
        load_minutes: u64,
    },
    /// Print the JSON Schema of the config file (editors use it to complete
    /// and check keys; `config/switchyard.schema.json` is this output).
    Schema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.log_level.as_deref());
    match cli.command {
        Command::Check { file } => check(&file.config),
        Command::Run { file } => run(&file.config),
        Command::Demo {
            config,
            load,
            load_rate,
            load_minutes,
        } => {
            let plan = load.then(|| {
                switchyard::demo::LoadPlan::new(
                    load_rate,
                    std::time::Duration::from_secs(load_minutes * 60),
                )
            });
            demo(&config, switchyard::demo::DemoOptions { load: plan })
        }
        Command::Schema => {
            print!("{}", config::schema_json());
            ExitCode::SUCCESS
        }
        Command::Healthcheck {
            file,
            admin,
            path,
            timeout,
        } => healthcheck(&file.config, admin, &path, timeout),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    config::parse_duration(s).map_err(|e| e.to_string())
}

fn healthcheck(
    config: &Path,
    admin: Option<std::net::SocketAddr>,
    path: &str,
    timeout: std::time::Duration,
) -> ExitCode {
    let addr = match admin {
        Some(a) => Ok(a),
        None => switchyard::admin::probe::admin_addr(config),
    };
    let token = switchyard::admin::probe::admin_token(config);
    let result =
        addr.and_then(|addr| switchyard::admin::probe::probe(addr, path, token.as_ref(), timeout));
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchyard healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, level: Option<&str>) {
    let filter = match level {
        Some(l) => EnvFilter::new(l),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn print_problems(path: &Path, err: &config::ConfigError) {
    let issues = err.issues();
    eprintln!(
        "{}: invalid config ({} problem{})",
        path.display(),
        issues.len(),
        if issues.len() == 1 { "" } else { "s" }
    );
    for issue in issues {
        eprintln!("  {issue}");
    }
}

fn check(path: &Path) -> ExitCode {
    match config::load_file(path) {
        Ok(loaded) => {
            // Plugins are compiled and configured too, as a reload would.
            if let Err(errors) = check_plugins(&loaded.config) {
                eprintln!("{}: plugin errors:", path.display());
                for e in errors {
                    eprintln!("  {e}");
                }
                return ExitCode::FAILURE;
            }
            // Certificates, keys and client CAs are loaded too.
            if let Err(errors) = switchyard::tls::TlsSet::load(&loaded.config, None) {
                eprintln!("{}: TLS errors:", path.display());
                for e in errors {
                    eprintln!("  {e}");
                }
                return ExitCode::FAILURE;
            }
            println!("{}: OK: {}", path.display(), loaded.config.summary());
            for w in &loaded.config.warnings {
                println!("  warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_problems(path, &e);
            ExitCode::FAILURE
        }
    }
}

fn check_plugins(config: &config::Config) -> Result<(), Vec<String>> {
    if config.plugins.is_empty() {
        return Ok(());
    }
    let metrics = switchyard::metrics::Metrics::new().map_err(|e| vec![e.to_string()])?;
    let host = switchyard::plugin::Host::new()
        .map_err(|e| vec![format!("cannot start the WebAssembly engine: {e:#}")])?;
    switchyard::plugin::PluginSet::load(&host, &config.plugins, None, &metrics.plugins).map(|_| ())
}

fn runtime(worker_threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if worker_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .enable_all()
            .build()
    }
}

fn run(path: &Path) -> ExitCode {
    let loaded = match config::load_file(path) {
        Ok(l) => l,
        Err(e) => {
            print_problems(path, &e);
            return ExitCode::FAILURE;
        }
    };
    for w in &loaded.config.warnings {
        tracing::warn!(warning = %w, "Config warning.");
    }
    let rt = match runtime(loaded.config.runtime.worker_threads) {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "Cannot start the runtime.");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(async {
        let proxy =
            match switchyard::Switchyard::start_with_file(loaded, Some(path.to_path_buf())).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "Cannot start.");
                    return ExitCode::FAILURE;
                }
            };
        switchyard::demo::wait_for_signal().await;
        if proxy.shutdown().await {
            tracing::info!("Stopped.");
        } else {
            tracing::warn!("Stopped with connections still open after shutdown_timeout.");
        }
        ExitCode::SUCCESS
    });
    // Connections are drained by now; do not wait for idle runtime threads.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

fn demo(path: &Path, options: switchyard::demo::DemoOptions) -> ExitCode {
    let rt = match runtime(2) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(switchyard::demo::run(path, options));
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(switchyard::demo::DemoError::Config(e)) => {
            print_problems(path, &e);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("switchyard demo: {e}");
            ExitCode::FAILURE
        }
    }
}
