//! `check` and `load_str` on `access_log`: defaults, the accepted
//! spellings, relative files, and every rejected value with its path and
//! position. `check` never creates the log file.

use std::path::Path;

use switchyard::config::{load_str, load_str_in, AccessLogField, AccessLogFormat, AccessLogOutput};

use super::resilience::{assert_line, error};
use super::{check, problems};

/// A valid config with `access_log` (spliced in as written) at the end.
fn yaml(access_log: &str) -> String {
    format!(
        "version: 1
listeners:
  - name: web
    listen: 127.0.0.1:8080
routes:
  - name: r
    pool: p
pools:
  - name: p
    endpoints:
      - name: a
        url: http://127.0.0.1:9001
{access_log}"
    )
}

#[test]
fn absent_means_off_and_an_empty_map_means_json_on_stdout_with_the_default_fields() {
    assert_eq!(load_str(&yaml("")).unwrap().access_log, None);
    assert_eq!(
        load_str(&yaml("access_log: null\n")).unwrap().access_log,
        None
    );
    let on = load_str(&yaml("access_log: {}\n"))
        .unwrap()
        .access_log
        .unwrap();
    assert_eq!(on.format, AccessLogFormat::Json);
    assert_eq!(on.output, AccessLogOutput::Stdout);
    assert_eq!(on.fields, AccessLogField::defaults());
    assert!(!on.fields.contains(&AccessLogField::Query));
    assert_eq!(on.fields.len(), AccessLogField::ALL.len() - 1);
}

#[test]
fn every_key_is_read_and_a_relative_file_is_in_the_config_directory() {
    let text = yaml(
        "access_log:\n  format: common\n  path: logs/access.log\n  fields: [status, query, upstream_duration_ms]\n",
    );
    let c = load_str_in(&text, Some(Path::new("/etc/switchyard"))).unwrap();
    let log = c.access_log.unwrap();
    assert_eq!(log.format, AccessLogFormat::Common);
    assert_eq!(
        log.output,
        AccessLogOutput::File("/etc/switchyard/logs/access.log".into())
    );
    assert_eq!(
        log.fields,
        [
            AccessLogField::Status,
            AccessLogField::Query,
            AccessLogField::UpstreamDurationMs
        ]
    );
    let abs = load_str_in(
        &yaml("access_log: { path: /var/log/sy.log }\n"),
        Some(Path::new("/etc")),
    );
    assert_eq!(
        abs.unwrap().access_log.unwrap().output,
        AccessLogOutput::File("/var/log/sy.log".into())
    );
}

#[test]
fn every_field_name_is_accepted() {
    let names: Vec<&str> = AccessLogField::ALL.iter().map(|f| f.as_str()).collect();
    let text = yaml(&format!(
        "access_log: {{ fields: [{}] }}\n",
        names.join(", ")
    ));
    let log = load_str(&text).unwrap().access_log.unwrap();
    assert_eq!(log.fields, AccessLogField::ALL);
}

#[test]
fn an_unknown_format_is_rejected_with_the_choices() {
    let y = yaml("access_log:\n  format: xml\n");
    error(
        &y,
        "access_log.format",
        "unknown variant `xml`, expected `json` or `common`",
        "xml",
    );
}

#[test]
fn an_unknown_key_is_rejected() {
    let y = yaml("access_log:\n  rotate: daily\n");
    error(
        &y,
        "access_log.rotate",
        "unknown field `rotate`, expected one of `format`, `path`, `fields`",
        "rotate",
    );
}

#[test]
fn an_unknown_field_names_the_valid_ones() {
    let y = yaml("access_log:\n  fields: [status, colour, route]\n");
    error(
        &y,
        "access_log.fields[1]",
        "unknown field \"colour\"; valid fields: timestamp, listener, client, method, host, \
         path, query, protocol, status, bytes_in, bytes_out, duration_ms, \
         upstream_duration_ms, route, pool, endpoint, attempts, reason, user_agent, request_id",
        "colour",
    );
}

#[test]
fn every_field_problem_is_reported_at_once() {
    let y = yaml("access_log:\n  path: ''\n  fields:\n    - status\n    - latency\n    - status\n");
    let all = problems(&y);
    assert_eq!(all.len(), 3, "{all:#?}");
    assert_line(&y, &all[0], "access_log.path", "must not be empty", "''");
    assert_line(
        &y,
        &all[1],
        "access_log.fields[1]",
        "unknown field \"latency\"",
        "latency",
    );
    assert_line(
        &y,
        &all[2],
        "access_log.fields[2]",
        "field \"status\" is listed twice (first at access_log.fields[0])",
        "status",
    );
}

#[test]
fn an_empty_field_list_and_a_directory_path_are_rejected() {
    let y = yaml("access_log:\n  fields: []\n");
    error(
        &y,
        "access_log.fields",
        "must name at least one field",
        "[]",
    );
    let y = yaml("access_log:\n  path: /var/log/\n");
    error(&y, "access_log.path", "names a directory", "/var/log/");
}

#[test]
fn check_leaves_the_log_file_alone() {
    let c = check(&yaml("access_log: { path: access.log }\n"));
    assert_eq!(c.run.code, Some(0), "{}", c.run.describe());
    assert!(!c.file.with_file_name("access.log").exists());
}
