//! `switchyard healthcheck`: asks a running proxy's admin listener for
//! `/healthz` (or another path), for container HEALTHCHECKs and exec
//! probes in images without curl.
//!
//! Owns: finding the admin address and token from a config file (only
//! `admin.listen` and `admin.token` are read, so a config with a broken
//! edit elsewhere, which the running proxy refuses to load, does not make a
//! healthy proxy look dead) and one blocking HTTP/1.1 GET with a deadline,
//! with the token when the config names one (so `--path /config` works
//! too). Must not: start anything, or print the token.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config as defaults;
use crate::config::{Secret, SecretSource};

/// The admin address in the config file at `path`: its `admin.listen`, or
/// the default when the file has none. A wildcard address (`0.0.0.0`,
/// `[::]`) is asked on loopback.
pub fn admin_addr(path: &Path) -> Result<SocketAddr, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| format!("{}: not YAML: {e}", path.display()))?;
    let listen = doc
        .get("admin")
        .and_then(|a| a.get("listen"))
        .and_then(serde_yaml::Value::as_str)
        .unwrap_or(defaults::ADMIN_LISTEN);
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| format!("{}: admin.listen {listen:?} is not IP:PORT", path.display()))?;
    Ok(loopback_for(addr))
}

/// The admin token the config file at `path` names (`admin.token`, a file
/// relative to the config's directory or an environment variable), read
/// now. `None` when it names none or it cannot be read: the probe then
/// goes without, and only a protected path would answer 401.
pub fn admin_token(path: &Path) -> Option<Secret> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    let token = doc.get("admin")?.get("token")?;
    let source = match (token.get("file"), token.get("env")) {
        (Some(file), None) => {
            let file = Path::new(file.as_str()?);
            let dir = path.parent().unwrap_or(Path::new("."));
            SecretSource::File(dir.join(file))
        }
        (None, Some(env)) => SecretSource::Env(env.as_str()?.to_string()),
        _ => return None,
    };
    source.read().ok()
}

fn loopback_for(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// `GET path` on `addr` within `timeout`, with `token` as a bearer token
/// when given; `Ok` with the status line when the answer is 200, else why
/// not.
pub fn probe(
    addr: SocketAddr,
    path: &str,
    token: Option<&Secret>,
    timeout: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer from {addr} within {timeout:?}"))
    };
    let mut stream =
        TcpStream::connect_timeout(&addr, left()?).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_write_timeout(Some(left()?))
        .map_err(|e| e.to_string())?;
    let authorization = token.map_or_else(String::new, |t| {
        format!("Authorization: Bearer {}\r\n", t.expose())
    });
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         User-Agent: switchyard-healthcheck\r\n{authorization}\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("{addr}: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("").to_string();
    match line.split_whitespace().nth(1) {
        Some("200") => Ok(line),
        Some(_) => Err(format!("{addr}{path}: {line}")),
        None => Err(format!("{addr}{path}: no HTTP answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_asked_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:9901".parse().unwrap();
        assert_eq!(loopback_for(v4), "127.0.0.1:9901".parse().unwrap());
        let v6: SocketAddr = "[::]:9901".parse().unwrap();
        assert_eq!(loopback_for(v6), "[::1]:9901".parse().unwrap());
        let fixed: SocketAddr = "10.0.0.5:9901".parse().unwrap();
        assert_eq!(loopback_for(fixed), fixed);
    }

    #[test]
    fn admin_address_comes_from_the_file_or_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let with = dir.path().join("a.yaml");
        std::fs::write(
            &with,
            "version: 1\nadmin: { listen: '0.0.0.0:9999' }\nroutes: [oops\n",
        )
        .unwrap();
        // Broken YAML is an error: nothing to read the address from.
        assert!(admin_addr(&with).is_err());
        std::fs::write(
            &with,
            "version: 1\nadmin: { listen: '0.0.0.0:9999' }\nroutes: 7\n",
        )
        .unwrap();
        // A config the proxy would refuse still names its admin address.
        assert_eq!(
            admin_addr(&with).unwrap(),
            "127.0.0.1:9999".parse().unwrap()
        );
        let without = dir.path().join("b.yaml");
        std::fs::write(&without, "version: 1\n").unwrap();
        assert_eq!(
            admin_addr(&without).unwrap(),
            defaults::ADMIN_LISTEN.parse().unwrap()
        );
        assert!(admin_addr(&dir.path().join("missing.yaml")).is_err());
    }

    #[test]
    fn probe_reads_the_status_line() {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for answer in [
                "HTTP/1.1 200 OK\r\n\r\nok\n",
                "HTTP/1.1 503 Service Unavailable\r\n\r\n",
                "HTTP/1.1 200 OK\r\n\r\n{}\n",
            ] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).unwrap();
                requests.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                s.write_all(answer.as_bytes()).unwrap();
            }
            requests
        });
        let t = Duration::from_secs(5);
        assert_eq!(probe(addr, "/healthz", None, t).unwrap(), "HTTP/1.1 200 OK");
        let err = probe(addr, "/readyz", None, t).unwrap_err();
        assert!(err.contains("503"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.yaml");
        std::fs::write(&config, "version: 1\nadmin: { token: { file: t } }\n").unwrap();
        assert!(admin_token(&config).is_none(), "no token file yet");
        std::fs::write(dir.path().join("t"), "probe-token-0123456789\n").unwrap();
        let token = admin_token(&config).expect("the token file next to the config");
        assert_eq!(
            probe(addr, "/config", Some(&token), t).unwrap(),
            "HTTP/1.1 200 OK"
        );
        let requests = server.join().unwrap();
        assert!(!requests[0].contains("Authorization"), "{}", requests[0]);
        assert!(
            requests[2].contains("\r\nAuthorization: Bearer probe-token-0123456789\r\n"),
            "{}",
            requests[2]
        );
        // Nothing listening any more.
        assert!(probe(addr, "/healthz", None, t).is_err());
    }
}
