//! TEMP stub until the cfg branch lands.
#![allow(missing_docs)]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PluginId(pub usize);
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    FailClosed,
    FailOpen,
}
impl OnError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailClosed => "fail_closed",
            Self::FailOpen => "fail_open",
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    pub name: Arc<str>,
    pub file: PathBuf,
    pub config: Arc<[u8]>,
    pub on_error: OnError,
    pub memory: u64,
    pub time: Duration,
    pub body: usize,
}
