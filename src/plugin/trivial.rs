//! Finding exported callbacks that do nothing.
//!
//! C and SDK-less plugins export `proxy_on_context_create`,
//! `proxy_on_done`, `proxy_on_log` and `proxy_on_delete` with empty bodies
//! (or a body that only returns a constant). Calling them has no effect but
//! costs a call into the module each (about a tenth of a microsecond with
//! its bookkeeping), so the host skips them. Only bodies made of nothing
//! but `nop`s and at most one constant are treated as empty.

use std::borrow::Cow;
use std::collections::HashMap;

use wasmparser::{ExternalKind, Operator, Parser, Payload, TypeRef};

/// The callbacks worth checking.
const CANDIDATES: [&str; 4] = [
    "proxy_on_context_create",
    "proxy_on_done",
    "proxy_on_log",
    "proxy_on_delete",
];

/// The names of `CANDIDATES` that `module` (binary or WAT text) exports
/// with an empty body. Anything unreadable yields none (nothing skipped).
pub(super) fn empty_callbacks(module: &[u8]) -> Vec<&'static str> {
    let bytes: Cow<'_, [u8]> = match wat::parse_bytes(module) {
        Ok(b) => b,
        Err(_) => return Vec::new(),
    };
    scan(&bytes).unwrap_or_default()
}

fn scan(bytes: &[u8]) -> Option<Vec<&'static str>> {
    let mut imported = 0u32;
    let mut exports: HashMap<u32, &'static str> = HashMap::new();
    let mut index = 0u32;
    let mut empty = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.ok()?.ty, TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.ok()?;
                    if export.kind != ExternalKind::Func {
                        continue;
                    }
                    if let Some(name) = CANDIDATES.iter().find(|c| **c == export.name) {
                        exports.insert(export.index, name);
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let func = imported + index;
                index += 1;
                let Some(name) = exports.get(&func) else {
                    continue;
                };
                let mut consts = 0;
                let mut only_trivial = true;
                for op in body.get_operators_reader().ok()? {
                    match op.ok()? {
                        Operator::Nop | Operator::End => {}
                        Operator::I32Const { .. } if consts == 0 => consts += 1,
                        _ => {
                            only_trivial = false;
                            break;
                        }
                    }
                }
                if only_trivial {
                    empty.push(*name);
                }
            }
            _ => {}
        }
    }
    Some(empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_empty_and_constant_bodies_only() {
        let wat = r#"(module
          (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
          (func (export "proxy_on_context_create") (param i32 i32))
          (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
          (func (export "proxy_on_log") (param i32) (drop (call 0 (i32.const 0) (i32.const 0) (i32.const 0))))
          (func (export "proxy_on_delete") (param i32) nop))"#;
        let mut got = empty_callbacks(wat.as_bytes());
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "proxy_on_context_create",
                "proxy_on_delete",
                "proxy_on_done"
            ]
        );
        assert!(empty_callbacks(b"not a module").is_empty());
    }
}
