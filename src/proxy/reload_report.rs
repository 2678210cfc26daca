//! What a reload attempt reports, and the last verdict kept for `GET
//! /status`.
//!
//! Owns: `Trigger`, `ReloadReport` and `LastReload`. Must not: apply
//! anything (that is `reload.rs`).

use std::sync::Mutex;

use serde::Serialize;

use super::changes::Changes;
use super::dataplane::Dataplane;

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The watcher saw the file or its directory change.
    File,
    /// The fallback poll found new content.
    Poll,
    /// SIGHUP.
    Signal,
    /// `POST /reload`.
    Admin,
    /// A direct call (tests, embedding).
    Api,
}

impl Trigger {
    pub(super) fn is_background(self) -> bool {
        matches!(self, Self::File | Self::Poll)
    }
}

/// The outcome of one reload attempt, as `POST /reload` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadReport {
    /// `success`, `unchanged` or `failure`.
    pub result: &'static str,
    /// What asked for it.
    pub trigger: Trigger,
    /// The generation serving after the attempt.
    pub generation: u64,
    /// Content hash of the file that was read, if it was read.
    pub hash: Option<String>,
    /// Every problem, each with its path (failure only).
    pub errors: Vec<String>,
    /// What changed (success only).
    pub changes: Changes,
}

/// The report of an attempt that found nothing new to apply.
pub(super) fn unchanged(trigger: Trigger, current: &Dataplane, hash: String) -> ReloadReport {
    ReloadReport {
        result: "unchanged",
        trigger,
        generation: current.generation,
        hash: Some(hash),
        errors: Vec::new(),
        changes: Changes::default(),
    }
}

/// The last reload attempt that reached a verdict (`success` or
/// `failure`), with when it did.
#[derive(Debug, Clone, Serialize)]
pub struct LastReload {
    /// Unix seconds of the verdict.
    pub at: f64,
    /// The report, as `POST /reload` answered it.
    #[serde(flatten)]
    pub report: ReloadReport,
}

/// Keeps the last verdict. "Unchanged" attempts are not kept: a poll that
/// finds the same broken file must not hide the failure it caused.
#[derive(Debug, Default)]
pub(super) struct LastReloadCell(Mutex<Option<LastReload>>);

impl LastReloadCell {
    /// Keeps `report` if it is a verdict.
    pub(super) fn record(&self, report: &ReloadReport) {
        if report.result == "unchanged" {
            return;
        }
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let kept = LastReload {
            at,
            report: report.clone(),
        };
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(kept);
    }

    /// The last verdict, if any reload reached one.
    pub(super) fn get(&self) -> Option<LastReload> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
