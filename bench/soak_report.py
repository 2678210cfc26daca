#!/usr/bin/env python3
"""soak_report.py DIR: judges a bench/soak.sh run and prints the report.

Exit status 0 when every pass criterion holds:
  - no panic in the proxy's log, and the proxy exited 0 after SIGTERM;
  - every failed request or session is explained: it overlaps a window in
    which its upstream (or, where the failure does not name one, a member
    of its pool) was killed, and its class is one that a dying upstream
    can cause. Anything else, such as a connection the proxy itself
    dropped, a corrupted body, or a failure far from any kill, is
    unexplained;
  - every config rewrite was applied, with no failed reloads;
  - resident memory is flat: the median of the last minute is within 10%
    of the median of the first minute after warm-up;
  - open file descriptors are flat: the last minute's median is at most
    10% (or 5 fds) above the first minute's after warm-up, and once the
    load has stopped the count comes back to within 5 of the idle count
    before it.
"""

import datetime
import json
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

# After an upstream answers again, requests that started before can still
# end in its failure; allow this long.
GRACE_MS = 2000
POOL_OF_KIND = {
    "h1_api": "api",
    "h1_solo": "solo",
    "upload": "bulk",
    "download": "bulk",
    "ws_session": "ws",
    "h2": "api",
}
# Failure classes a dying upstream can cause, with the design's reason.
EXPLANATIONS = {
    ("status_502", "connect"): "connect refused: the endpoint picked had been killed and was still in "
    "rotation (health checks need 3 failed probes 1 s apart; outlier detection 5 failures in a row, and "
    "it ejects at most half the pool, so while the other endpoint serves out a 30 s ejection from its "
    "own kill, every pick goes to this one), or the pool had no other",
    ("status_502", "reset"): "the upstream was killed with the request in flight, before response headers",
    ("status_503", "no_endpoint"): "no routable endpoint in the pool",
    ("status_504", "timeout"): "the upstream died without closing the connection",
    ("body_cut", None): "the upstream was killed mid-body: a response that has started cannot be "
    "retried, so the proxy cuts the client's stream",
    ("ws_cut", None): "the upstream behind the tunnel was killed: the proxy closes the client side",
    ("ws_status_502", "connect"): "WebSocket handshake to a killed upstream still in rotation "
    "(as for status_502 connect)",
    ("ws_status_502", "reset"): "the upstream was killed during the WebSocket handshake",
    ("ws_handshake", None): "WebSocket handshake cut by a killed upstream",
    ("ws_no_greeting", None): "the upstream was killed right after the handshake",
    ("ws_timeout", None): "the upstream was killed with an echo outstanding",
    ("no_response", "answered_early"): "the proxy answered 5xx at once (its endpoint was down) and "
    "closed the connection while the client was still streaming the upload: the client's write "
    "failed (broken pipe) before it read the answer, as HTTP/1.1 allows (the proxy does not keep "
    "reading a body it will not forward)",
}
# Why the proxy could not hide it, by pool.
POOL_NOTES = {
    "api": "`api` retries up to 3 attempts within its retry budget (20%, at least 10/s); see attempts",
    "solo": "`solo` has one endpoint (no alternative) and no retries",
    "bulk": "`bulk` has no retries: its 1-8 MiB bodies are streamed and cannot be replayed",
    "ws": "upgrades are never retried",
}


def load_params(d):
    params = {}
    for line in (d / "params.env").read_text().splitlines():
        k, _, v = line.partition("=")
        params[k] = v
    return params


def iso_ms(ts):
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def down_windows(d, end_ms):
    """Per upstream name: [start, end] windows in which it was down."""
    windows = defaultdict(list)
    killed = {}
    counts = Counter()
    for line in (d / "events.csv").read_text().splitlines()[1:]:
        ms, ev, name = line.split(",")
        ms = int(ms)
        counts[ev] += 1
        if ev == "kill":
            killed[name] = ms
        elif ev == "up" and name in killed:
            windows[name].append((killed.pop(name), ms + GRACE_MS))
    for name, ms in killed.items():
        windows[name].append((ms, end_ms + GRACE_MS))
    return windows, counts


def overlaps(windows, names, start, end):
    return any(a <= end and start <= b for n in names for a, b in windows.get(n, []))


def median_in(samples, lo, hi, col):
    vals = [s[col] for s in samples if lo <= s["elapsed"] < hi]
    return (statistics.median(vals), len(vals)) if vals else (None, 0)


def main():
    d = Path(sys.argv[1])
    params = load_params(d)
    warmup = int(params["WARMUP"])
    t0 = int((d / "t0").read_text())
    members = defaultdict(list)
    for name in params["NAMES"].split():
        members[{"a": "api", "b": "bulk", "w": "ws", "s": "solo"}[name[0]]].append(name)
    driver = json.loads((d / "driver.json").read_text())
    end_ms = t0 + int(params["SECONDS"]) * 1000
    windows, events = down_windows(d, end_ms)
    verdict = []
    out = []
    p = out.append

    # The proxy's account of every request, by request id.
    access = {}
    h2_lines = []
    statuses = Counter()
    for line in (d / "access.log").read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        statuses[(e.get("protocol"), e.get("status"))] += 1
        if e.get("request_id") == "h2load":
            h2_lines.append(e)
        elif e.get("request_id"):
            access[e["request_id"]] = e

    # Traffic.
    p("## Traffic")
    p("")
    p("| kind | sent | ok | failed | skipped (client at its in-flight cap) |")
    p("|---|---|---|---|---|")
    for kind, k in driver["kinds"].items():
        p(f"| {kind} | {k['sent']} | {k['ok']} | {k['failed']} | {k['skipped']} |")
    h2 = (d / "h2load.txt").read_text()
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", h2)
    sc = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", h2)
    h2_errored = None
    if m and sc:
        total, _, done, ok, failed, errored, timeouts = map(int, m.groups())
        h2_errored = errored + timeouts
        p(f"| h2 (h2load) | {done} done of {total} | {ok} | {failed} ({sc.group(4)} 5xx, {sc.group(3)} 4xx, {errored} errored, {timeouts} timeout) | - |")
    else:
        p("| h2 (h2load) | no summary in h2load.txt | | | |")
    p("")
    p(f"WebSocket messages echoed and checked: {driver['ws_messages']}; "
      f"large-body bytes checked: {driver['checked_bytes'] / 2**30:.2f} GiB.")
    proto = Counter()
    for (pr, _), n in statuses.items():
        proto[pr] += n
    p("Access log lines by protocol: " + ", ".join(f"{k}: {v}" for k, v in sorted(proto.items(), key=str)))
    p("")

    # Events and reloads.
    metrics = (d / "metrics-end.txt").read_text() if (d / "metrics-end.txt").exists() else ""

    def metric(name, label=""):
        total = 0.0
        for line in metrics.splitlines():
            if line.startswith(name) and label in line:
                total += float(line.rsplit(" ", 1)[1])
        return total

    reload_ok = metric("switchyard_config_reloads_total", 'result="success"')
    reload_bad = metric("switchyard_config_reloads_total", 'result="failure"')
    p("## Events")
    p("")
    p(f"Upstream kills: {events['kill']}, restarts: {events['up'] - len(params['NAMES'].split())}, "
      f"failed restarts: {events['start_failed']}. Config rewrites: {events['reload']}; "
      f"reloads applied: {reload_ok:.0f}, failed: {reload_bad:.0f}.")
    p("")
    verdict.append(("every config rewrite reloaded, none failed",
                    reload_bad == 0 and reload_ok >= events["reload"] * 0.9))

    # Failures.
    failures = [json.loads(l) for l in (d / "failures.jsonl").read_text().splitlines() if l.strip()]
    for e in h2_lines:
        if e["status"] >= 400:
            start = iso_ms(e["timestamp"])
            failures.append({"kind": "h2", "id": "h2load", "start_ms": start,
                             "end_ms": start + int(e.get("duration_ms") or 0),
                             "class": f"status_{e['status']}", "detail": "", "upstream": None,
                             "access": e})
    if h2_errored:
        failures.append({"kind": "h2", "id": "h2load", "start_ms": t0, "end_ms": end_ms,
                         "class": "h2load_errored", "detail": f"{h2_errored} errored or timed out",
                         "upstream": None})
    classes = defaultdict(lambda: [0, 0, set(), Counter()])
    unexplained = []
    for f in failures:
        e = f.get("access") or access.get(f["id"])
        reason = e.get("reason") if e else None
        endpoint = f.get("upstream") or (e.get("endpoint") if e else None)
        pool = POOL_OF_KIND[f["kind"]]
        names = [endpoint] if endpoint in members[pool] else members[pool]
        if f["class"] == "no_response" and e and e.get("status", 0) >= 500 and f["kind"] == "upload":
            # The access log shows the answer the client never read.
            reason = "answered_early"
        key = (f["class"], reason) if (f["class"], reason) in EXPLANATIONS else (f["class"], None)
        ok = key in EXPLANATIONS and overlaps(windows, names, f["start_ms"], f["end_ms"])
        c = classes[(f["kind"], f["class"], reason)]
        c[0 if ok else 1] += 1
        c[2].add(key)
        c[3][e.get("attempts") if e else None] += 1
        if not ok:
            unexplained.append((f, reason, endpoint))
    p("## Failures")
    p("")
    if not failures:
        p("None.")
    else:
        p("| kind | class | proxy reason | attempts | explained | unexplained | why |")
        p("|---|---|---|---|---|---|---|")
        for (kind, cls, reason), (good, bad, keys, attempts) in sorted(classes.items(), key=str):
            why = "; ".join(EXPLANATIONS.get(k, "not a failure a dying upstream causes") for k in keys)
            why += "; " + POOL_NOTES[POOL_OF_KIND[kind]]
            tries = ", ".join(f"{a if a is not None else '-'}: {n}" for a, n in sorted(attempts.items(), key=str))
            p(f"| {kind} | {cls} | {reason or '-'} | {tries} | {good} | {bad} | {why} |")
    p("")
    for f, reason, endpoint in unexplained[:20]:
        p(f"UNEXPLAINED {f['kind']} {f['id']} {f['class']} reason={reason} endpoint={endpoint} "
          f"at +{(f['start_ms'] - t0) / 1000:.1f}s: {f['detail'][:200]}")
    verdict.append((f"no unexplained failure ({len(failures)} failures, {len(unexplained)} unexplained)",
                    not unexplained))

    # Memory and file descriptors.
    samples = []
    for line in (d / "samples.csv").read_text().splitlines()[1:]:
        ms, elapsed, rss, fds, threads = map(int, line.split(","))
        samples.append({"elapsed": elapsed, "rss": rss, "fds": fds, "threads": threads})
    last = max(s["elapsed"] for s in samples)
    first_w = (warmup, warmup + 60)
    last_w = (max(last - 60, warmup), last + 1)
    p("## Resources")
    p("")
    if last_w[0] < first_w[1]:
        p(f"(Run too short for separate windows: both are [{warmup}, {last}] s.)")
    p("| | first sample | first minute after warm-up (median) | last minute (median) | max | last sample |")
    p("|---|---|---|---|---|---|")
    flat = {}
    for col, unit in (("rss", "KiB"), ("fds", ""), ("threads", "")):
        a, na = median_in(samples, *first_w, col)
        b, nb = median_in(samples, *last_w, col)
        p(f"| {col} {unit} | {samples[0][col]} | {a} ({na} samples) | {b} ({nb} samples) | "
          f"{max(s[col] for s in samples)} | {samples[-1][col]} |")
        flat[col] = (a, b)
    # A leak shows as growth. RSS also falls when the allocator hands big-
    # body buffers back to the kernel (1-8 MiB bodies come and go with the
    # kills), so a fall is reported, not failed.
    a, b = flat["rss"]
    verdict.append((f"RSS flat after warm-up: no growth over 10% ({a} → {b} KiB, {100 * (b - a) / a:+.1f}%)",
                    b <= 1.10 * a))
    # Under load the fd count follows the connections open (clients' and
    # pooled upstream ones, pruned after idle_timeout), so it may fall; a
    # leak shows as growth, and as fds that stay once the load is gone.
    a, b = flat["fds"]
    verdict.append((f"open fds flat under load: no growth ({a} → {b})", b <= a + max(0.10 * a, 5)))
    idle = dict((l.split(",")[0], l.split(",")[1:]) for l in (d / "idle-fds.csv").read_text().splitlines())
    before, (after, waited) = int(idle["before"][0]), (int(idle["after"][0]), idle["after"][1])
    p("")
    p(f"Open fds idle before the load: {before}; after it: {after} ({waited} s after the clients stopped).")
    verdict.append((f"fds back to the idle count after the load ({before} → {after})", after <= before + 5))
    p("")

    # Panics and the exit.
    log = (d / "proxy.log").read_text(errors="replace")
    panics = log.count("panicked")
    others = sum(f.read_text(errors="replace").count("panicked")
                 for f in list(d.glob("upstream-*.log")) + [d / "driver.out"])
    exit_status = (d / "proxy-exit").read_text().strip()
    stopped = '"Stopped."' in log
    p("## Proxy")
    p("")
    p(f"Panics in the proxy's log: {panics} (in the upstreams' and driver's: {others}). "
      f"Exit status after SIGTERM: {exit_status}; drained in time (`Stopped.`): {stopped}.")
    p("")
    verdict.append(("no panic", panics == 0 and others == 0))
    verdict.append(("clean exit on SIGTERM", exit_status == "0" and stopped))

    p("## Verdict")
    p("")
    for what, good in verdict:
        p(f"- {'PASS' if good else 'FAIL'}: {what}")
    passed = all(g for _, g in verdict)
    p("")
    p("SOAK PASSED" if passed else "SOAK FAILED")
    print("\n".join(out))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
