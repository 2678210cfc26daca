//! `switchyard demo`: demo vendors in-process plus the proxy, its status
//! page, controls to make a vendor fail, and an optional load generator.
//!
//! Owns: starting the vendors (`vendor.rs`) on the endpoint addresses of the
//! demo config, the `/demo/` admin routes (`control.rs`), the bounded load
//! generator (`load.rs`) and the demo's console output. Exists only for the
//! demo command; nothing here is on the proxy's request path.

mod banner;
pub mod control;
pub mod load;
pub mod vendor;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use load::{LoadPlan, LoadStats};
pub use vendor::Vendor;

use crate::config::{self, ConfigError};
use crate::{StartError, Switchyard};

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo config is broken.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A demo vendor could not bind.
    #[error("cannot start demo vendor {name:?} on {addr}: {source}")]
    Vendor {
        /// Vendor name.
        name: String,
        /// Address.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The proxy could not start.
    #[error("{0}")]
    Start(#[from] StartError),
}

/// What to run beside the vendors and the proxy.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoOptions {
    /// Run the load generator with this plan.
    pub load: Option<LoadPlan>,
}

/// Vendor profiles in endpoint order, repeating: (latency in ms, error
/// rate). With `config/demo.yaml`'s costs: `a` fast and expensive with rare
/// errors, `b` medium in both, `c` slow and cheap with a few errors.
const PROFILES: [(u64, f64); 3] = [(5, 0.005), (25, 0.0), (60, 0.02)];

/// A running demo.
#[derive(Debug)]
pub struct Demo {
    /// The proxy in front of the vendors.
    pub proxy: Switchyard,
    /// The vendors, in endpoint order.
    pub vendors: Vec<Arc<Vendor>>,
    /// The load generator's plan and counters, when it runs.
    pub load: Option<(LoadPlan, Arc<LoadStats>)>,
    load_task: Option<JoinHandle<()>>,
}

impl Demo {
    /// The vendor serving endpoint `name`.
    pub fn vendor(&self, name: &str) -> Option<&Arc<Vendor>> {
        self.vendors.iter().find(|v| v.name == name)
    }

    /// Stops the load generator and the proxy (vendors stop with the runtime).
    pub async fn shutdown(self) -> bool {
        if let Some(t) = &self.load_task {
            t.abort();
        }
        self.proxy.shutdown().await
    }
}

/// Starts a vendor on every endpoint address of the config at `path`, then
/// the proxy in front of them with the `/demo/` admin routes, then (with
/// `options.load`) the load generator against the first plain listener.
///
/// An endpoint on port 0 gets a free port, and the proxy is pointed at it
/// (tests use this to run the demo without fixed ports); the file is then
/// not watched, since a reload would read port 0 back.
pub async fn start(path: &Path, options: DemoOptions) -> Result<Demo, DemoError> {
    let mut loaded = config::load_file(path)?;
    let mut vendors = Vec::new();
    let mut moved = false;
    let endpoints = loaded
        .config
        .pools
        .iter_mut()
        .flat_map(|p| p.endpoints.iter_mut());
    for (i, ep) in endpoints.enumerate() {
        let (latency, errors) = PROFILES[i % PROFILES.len()];
        let addr = ep.url.authority.as_str().to_string();
        let failed = |source| DemoError::Vendor {
            name: ep.name.to_string(),
            addr: addr.clone(),
            source,
        };
        let vendor = vendor::spawn(&ep.name, &addr, latency, errors, ep.cost)
            .await
            .map_err(failed)?;
        if ep.url.authority.port_u16() == Some(0) {
            let bound = vendor.addr.to_string();
            ep.url.authority = bound
                .parse()
                .map_err(|e| failed(std::io::Error::other(e)))?;
            ep.url.original = format!("{}://{bound}{}", ep.url.scheme, ep.url.base_path);
            moved = true;
        }
        vendors.push(vendor);
    }
    let watched = (!moved).then(|| path.to_path_buf());
    let proxy = Switchyard::start_with_file(loaded, watched).await?;
    proxy.extend_admin(Arc::new(control::DemoControl::new(vendors.clone())));
    let target = {
        let dp = proxy.shared().dataplane.load();
        dp.config
            .listeners
            .iter()
            .filter(|l| l.tls.is_none())
            .find_map(|l| proxy.listener_addr(&l.name))
    };
    let (load, load_task) = match (options.load, target) {
        (Some(plan), Some(target)) => {
            let (stats, task) = load::spawn(target, plan);
            (Some((plan, stats)), Some(task))
        }
        _ => (None, None),
    };
    Ok(Demo {
        proxy,
        vendors,
        load,
        load_task,
    })
}

/// Runs the demo with the config at `path` until Ctrl-C or SIGTERM.
pub async fn run(path: &Path, options: DemoOptions) -> Result<(), DemoError> {
    let mut demo = start(path, options).await?;
    print!("{}", banner::banner(&demo, options.load.is_some()));
    let progress = demo.load_task.take().map(|task| {
        let stats = demo.load.as_ref().map(|(_, s)| Arc::clone(s));
        tokio::spawn(report_load(task, stats))
    });
    wait_for_signal().await;
    if let Some(p) = progress {
        p.abort();
    }
    demo.shutdown().await;
    Ok(())
}

/// Prints the load generator's counters every 30 s and once when it stops.
async fn report_load(mut task: JoinHandle<()>, stats: Option<Arc<LoadStats>>) {
    let Some(stats) = stats else { return };
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.tick().await;
    let line = |what: &str| {
        let (sent, ok, errors, failed, skipped) = stats.snapshot();
        println!(
            "load {what}: {sent} sent, {ok} ok, {errors} 5xx, {failed} without answer, {skipped} skipped"
        );
    };
    loop {
        tokio::select! {
            _ = tick.tick() => line("so far"),
            _ = &mut task => {
                line("finished");
                return;
            }
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                tokio::signal::ctrl_c().await.ok();
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok();
    }
}
