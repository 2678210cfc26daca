//! Validation of `access_log`: the output path and the field list.
//!
//! Owns: the rules for `access_log` and the wording of its errors. Must
//! not: open or create the log file (start and reload do, so that `check`
//! has no side effects).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::access_log::{AccessLog, AccessLogField, AccessLogFormat, AccessLogOutput};
use super::defaults;
use super::raw_access_log::{RawAccessLog, RawAccessLogFormat};
use super::validate::Issues;

/// Validates `access_log`; `None` (absent or `null`) means no access log.
/// A relative file is joined to `base_dir` when given.
pub(super) fn access_log(
    issues: &mut Issues<'_>,
    raw: Option<&RawAccessLog>,
    base_dir: Option<&Path>,
) -> Option<AccessLog> {
    let raw = raw?;
    let format = match raw.format {
        None => defaults::ACCESS_LOG_FORMAT,
        Some(RawAccessLogFormat::Json) => AccessLogFormat::Json,
        Some(RawAccessLogFormat::Common) => AccessLogFormat::Common,
    };
    let path = raw.path.as_deref().unwrap_or(defaults::ACCESS_LOG_PATH);
    let output = output(issues, path, base_dir);
    let fields = match &raw.fields {
        None => AccessLogField::defaults(),
        Some(names) => fields(issues, names),
    };
    Some(AccessLog {
        format,
        output,
        fields,
    })
}

fn output(issues: &mut Issues<'_>, text: &str, base_dir: Option<&Path>) -> AccessLogOutput {
    if text == "stdout" {
        return AccessLogOutput::Stdout;
    }
    let written = PathBuf::from(text);
    if text.trim().is_empty() {
        issues.error(
            "access_log.path",
            "must not be empty: write `stdout` or a file path",
        );
    } else if text.ends_with('/') {
        issues.error(
            "access_log.path",
            format!("{text:?} names a directory: name a file in it"),
        );
    }
    AccessLogOutput::File(match base_dir {
        Some(dir) if written.is_relative() => dir.join(written),
        _ => written,
    })
}

fn fields(issues: &mut Issues<'_>, names: &[String]) -> Vec<AccessLogField> {
    if names.is_empty() {
        issues.error(
            "access_log.fields",
            "must name at least one field; leave it out for the default set",
        );
        return AccessLogField::defaults();
    }
    let mut out = Vec::with_capacity(names.len());
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let path = format!("access_log.fields[{i}]");
        let Some(field) = AccessLogField::parse(name) else {
            let valid: Vec<&str> = AccessLogField::ALL.iter().map(|f| f.as_str()).collect();
            issues.error(
                path,
                format!("unknown field {name:?}; valid fields: {}", valid.join(", ")),
            );
            continue;
        };
        if let Some(first) = seen.insert(name, i) {
            issues.error(
                path,
                format!("field {name:?} is listed twice (first at access_log.fields[{first}])"),
            );
            continue;
        }
        out.push(field);
    }
    out
}
