//! Structure-aware config inputs: a shipped example config (`config/*.yaml`)
//! as a YAML tree, changed by a few edits the fuzzer's bytes choose
//! (replace a value, drop or repeat an entry, add a key the schema knows,
//! graft a subtree from another example), then written back as YAML. Most
//! results are nearly valid, so validation runs deep instead of stopping at
//! the first unknown key.

use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use serde_yaml::{Mapping, Value};

const SEEDS: [&str; 6] = [
    include_str!("../../config/demo.yaml"),
    include_str!("../../config/edge-tls.yaml"),
    include_str!("../../config/gateway.yaml"),
    include_str!("../../config/plugins.yaml"),
    include_str!("../../config/sidecar.yaml"),
    include_str!("../../config/switchyard.yaml"),
];

const SCHEMA: &str = include_str!("../../config/switchyard.schema.json");

/// Strings that sit on the edges of what the config's value parsers accept
/// (durations, sizes, shares, addresses, URLs, hosts, paths, regexes, names).
const TRICKY: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "0s",
    "1ns",
    "1us",
    "1µs",
    "1.5s",
    "1m30s",
    "1m30",
    ".s",
    "1..5s",
    "5",
    "18446744073709551616s",
    "18446744073709551615ms",
    "1e308s",
    "9999999999999999d",
    "nan s",
    "0B",
    "1B",
    "1.5KiB",
    "10MiB",
    "16EiB",
    "18446744073709551615B",
    "1e20GiB",
    "99999999999TiB",
    "0%",
    "1%",
    "100%",
    "101%",
    "-1%",
    "50.5%",
    "NaN%",
    "1e400%",
    "0.0.0.0:0",
    "127.0.0.1:65535",
    "127.0.0.1:65536",
    "[::1]:0",
    "[::]:80",
    "localhost:80",
    ":80",
    "1.2.3.4",
    "[::1",
    "http://127.0.0.1:1",
    "https://[::1]:443/base/",
    "http://a:0",
    "http://a:99999",
    "http://u@h:1",
    "http://h:1/p?q",
    "http://h:1/#f",
    "https://1.2.3.4:1",
    "https://_x:1",
    "ftp://h:1",
    "http://",
    "http:///",
    "http://h:1//",
    "*.example.com",
    "*",
    "*.",
    ".",
    "a..b",
    "EXAMPLE.com.",
    "*.*.a",
    "a*.b",
    "/",
    "//",
    "/a/",
    "a",
    "/%2e%2e/",
    "/..",
    "(",
    "^/v[0-9]+$",
    "a{1000}{1000}",
    "\\p{Greek}+",
    "(?i)x",
    "[[:alpha:]]",
    "a**",
    "GET",
    "get",
    "G E T",
    "CONNECT",
    "x-a",
    "X-A",
    "host",
    "connection",
    ":path",
    "a b",
    "content-length",
    "transfer-encoding",
    "a.wasm",
    "a.wat",
    "../x.wasm",
    "certs/example.com.pem",
    "\u{0}",
    "é",
    "~",
    "null",
    "true",
    "yes",
    "0x10",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
];

struct Known {
    seeds: Vec<Value>,
    keys: Vec<String>,
    words: Vec<String>,
}

fn known() -> &'static Known {
    static KNOWN: OnceLock<Known> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let seeds = SEEDS
            .iter()
            .filter_map(|s| serde_yaml::from_str(s).ok())
            .collect();
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap_or_default();
        let (mut keys, mut words) = (Vec::new(), Vec::new());
        collect(&schema, &mut keys, &mut words);
        keys.sort();
        keys.dedup();
        words.sort();
        words.dedup();
        Known { seeds, keys, words }
    })
}

/// Property names and enum or const values anywhere in the schema.
fn collect(v: &serde_json::Value, keys: &mut Vec<String>, words: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("properties", serde_json::Value::Object(p)) => keys.extend(p.keys().cloned()),
                    ("const", serde_json::Value::String(s)) => words.push(s.clone()),
                    ("enum", serde_json::Value::Array(a)) => {
                        words.extend(a.iter().filter_map(|s| s.as_str().map(str::to_owned)))
                    }
                    _ => {}
                }
                collect(x, keys, words);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, keys, words)),
        _ => {}
    }
}

/// A shipped config with 1 to 8 edits, as YAML text.
pub fn mutated_config(u: &mut Unstructured<'_>) -> Result<String> {
    let k = known();
    let mut doc = u.choose(&k.seeds)?.clone();
    for _ in 0..u.int_in_range(1..=8)? {
        edit(&mut doc, u)?;
    }
    Ok(serde_yaml::to_string(&doc).unwrap_or_default())
}

fn edit(doc: &mut Value, u: &mut Unstructured<'_>) -> Result<()> {
    let k = known();
    let node = pick_mut(doc, u)?;
    match u.int_in_range(0..=7)? {
        0 | 1 => *node = scalar(u)?,
        2 => match node {
            Value::Mapping(m) if !m.is_empty() => {
                let i = u.choose_index(m.len())?;
                let key = m.keys().nth(i).cloned().unwrap_or(Value::Null);
                m.remove(&key);
            }
            Value::Sequence(s) if !s.is_empty() => {
                let i = u.choose_index(s.len())?;
                s.remove(i);
            }
            _ => *node = Value::Null,
        },
        3 => match node {
            // Repeats make duplicate names and unreachable routes.
            Value::Sequence(s) if !s.is_empty() => {
                let i = u.choose_index(s.len())?;
                let copy = s[i].clone();
                s.push(copy);
            }
            _ => *node = Value::Sequence(vec![node.clone(), node.clone()]),
        },
        4 => {
            let key = Value::String(u.choose(&k.keys)?.clone());
            let value = if u.arbitrary()? {
                scalar(u)?
            } else {
                pick(u.choose(&k.seeds)?, u)?.clone()
            };
            match node {
                Value::Mapping(m) => {
                    m.insert(key, value);
                }
                _ => {
                    let mut m = Mapping::new();
                    m.insert(key, value);
                    *node = Value::Mapping(m);
                }
            }
        }
        5 => *node = pick(u.choose(&k.seeds)?, u)?.clone(),
        6 => {
            if let Value::String(s) = node {
                let extra: String = u.arbitrary()?;
                let at = u.choose_index(s.len() + 1)?;
                if s.is_char_boundary(at) {
                    s.insert_str(at, &extra);
                }
            } else {
                *node = scalar(u)?;
            }
        }
        _ => {
            let wrapped = node.clone();
            *node = Value::Sequence(vec![wrapped]);
        }
    }
    Ok(())
}

fn scalar(u: &mut Unstructured<'_>) -> Result<Value> {
    let k = known();
    Ok(match u.int_in_range(0..=9)? {
        0 | 1 => Value::String((*u.choose(TRICKY)?).to_owned()),
        2 => Value::String(u.choose(&k.words)?.clone()),
        3 => Value::String(u.arbitrary()?),
        4 => Value::Number(
            (*u.choose(&[0i64, 1, -1, 2, 100, 65535, 65536, i64::MAX, i64::MIN])?).into(),
        ),
        5 => Value::Number(u.arbitrary::<u64>()?.into()),
        6 => Value::Number(
            (*u.choose(&[0.0f64, 0.5, 1.0, 1.5, -0.0, 1e308, f64::INFINITY, f64::NAN])?).into(),
        ),
        7 => Value::Bool(u.arbitrary()?),
        8 => Value::Null,
        _ => Value::Number(u.arbitrary::<i64>()?.into()),
    })
}

/// A node of `v` (maybe `v` itself), walking down a random path.
fn pick<'a>(mut v: &'a Value, u: &mut Unstructured<'_>) -> Result<&'a Value> {
    loop {
        let children: Vec<&Value> = match v {
            Value::Mapping(m) => m.values().collect(),
            Value::Sequence(s) => s.iter().collect(),
            _ => return Ok(v),
        };
        if children.is_empty() || u.ratio(1, 4)? {
            return Ok(v);
        }
        v = children[u.choose_index(children.len())?];
    }
}

fn pick_mut<'a>(mut v: &'a mut Value, u: &mut Unstructured<'_>) -> Result<&'a mut Value> {
    loop {
        let n = match &*v {
            Value::Mapping(m) => m.len(),
            Value::Sequence(s) => s.len(),
            _ => 0,
        };
        if n == 0 || u.ratio(1, 4)? {
            return Ok(v);
        }
        let i = u.choose_index(n)?;
        v = match v {
            Value::Mapping(m) => m.values_mut().nth(i).expect("i < len"),
            Value::Sequence(s) => &mut s[i],
            _ => unreachable!("only maps and sequences have children"),
        };
    }
}
