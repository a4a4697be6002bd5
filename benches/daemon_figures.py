#!/usr/bin/env python3
"""Measurements of the real edgewatch daemon (release build), loopback only. Figures, not
assertions: it prints tables; nothing here passes or fails on a number.

  slow-peers   issue 11 item 9: 1,000 targets on peers that accept and never finish a handshake
               (half silent, half trickling a TLS record header a byte a second), every 5 s;
               `concurrency: 64` (the old fixed default) against the default sizing (unset:
               targets x min(1, timeouts.probe / interval) x 1.25). Same binary, interleaved.
  tls-scan     issue 14: the daemon's CPU per probe at 1,000 targets with `tls.scan` on and off
               (interleaved runs, medians), and the scan's own CPU and wall per address from
               `--once` runs of one target with the scan on and off (paired, interleaved).
               Needs the bench endpoints: benches/probe_cost in --hold mode (started here).

  cargo build --release && cargo bench --bench probe_cost --no-run
  benches/daemon_figures.py slow-peers --rounds 2
  benches/daemon_figures.py tls-scan --rounds 3 --bench target/release/deps/probe_cost-HASH

CPU is what the OS charged the process: utime + stime from /proc/PID/stat (10 ms ticks).
The daemon is pinned to core 0 (`taskset -c 0`, so tokio runs one worker), the peers/endpoints
to core 1, as in benches/probe_cost. On a machine shared with compilers the spread is wide:
every run is printed, not just the median.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("EDGEWATCH_BIN", os.path.join(ROOT, "target/release/edgewatch"))
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICKS


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    m = {"probes": 0, "late": 0, "lag": {}, "scanned": set(), "concurrency": None}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        v = float(value)
        if series.startswith("edgewatch_probes_total{"):
            m["probes"] += v
        elif series == "edgewatch_probes_late_total":
            m["late"] = v
        elif series.startswith("edgewatch_probe_schedule_lag_seconds_bucket{"):
            le = re.search(r'le="([^"]+)"', series).group(1)
            m["lag"][le] = v
        elif series.startswith("edgewatch_tls_accepted_info{"):
            m["scanned"].add(re.search(r'target="([^"]+)"', series).group(1))
    return m


def pinned(core, argv):
    if core is not None and os.path.exists("/usr/bin/taskset"):
        return ["/usr/bin/taskset", "-c", str(core)] + argv
    return argv


class Daemon:
    """The release binary as a daemon with `yaml` (whose `listen:` it fills in)."""

    def __init__(self, workdir, tag, yaml, core):
        self.port = free_port()
        path = os.path.join(workdir, f"edgewatch-{tag}.yaml")
        with open(path, "w") as f:
            f.write(f"listen: 127.0.0.1:{self.port}\n" + yaml)
        self.log = open(os.path.join(workdir, f"edgewatch-{tag}.log"), "w")
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen(
            pinned(core, [BIN, "--config", path]), stdout=subprocess.DEVNULL,
            stderr=self.log, env=env)
        self.started = time.monotonic()
        # taskset execs edgewatch in place: the pid is the daemon's.
        self.pid = self.proc.pid
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"edgewatch {tag} did not start (see {self.log.name})")
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def lag_text(before, after):
    """Probes in the window by start lag: <=0.1 s / <=1 s / <=5 s / <=30 s / all."""
    keys = ["0.1", "1", "5", "30", "+Inf"]
    return " / ".join(str(int(after["lag"].get(k, 0) - before["lag"].get(k, 0))) for k in keys)


# ---------------------------------------------------------------------------------------------
# slow peers

PEERS = r'''
import asyncio, json, sys
N = int(sys.argv[1])
async def silent(r, w):
    try:
        while await r.read(4096):
            pass
    except Exception:
        pass
    w.close()
async def trickle(r, w):
    # A TLS record header announcing 16 KiB, then zeros, one byte a second: the handshake never
    # completes, the peer never goes quiet for long.
    try:
        for b in b"\x16\x03\x03\x40\x00" + b"\x00" * 100000:
            w.write(bytes([b]))
            await w.drain()
            await asyncio.sleep(1)
    except Exception:
        pass
    w.close()
async def main():
    ports = []
    for i in range(N):
        s = await asyncio.start_server(silent if i % 2 == 0 else trickle, "127.0.0.1", 0,
                                       backlog=64)
        ports.append(s.sockets[0].getsockname()[1])
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
'''


def slow_peers(args):
    workdir = tempfile.mkdtemp(prefix="edgewatch-slow-")
    peers = subprocess.Popen(pinned(1, [sys.executable, "-c", PEERS, str(args.targets)]),
                             stdout=subprocess.PIPE, text=True)
    ports = json.loads(peers.stdout.readline())
    targets = "".join(f"  - host: 127.0.0.1\n    port: {p}\n" for p in ports)
    base = (f"interval: {args.interval}\nresolver:\n  nameservers: [\"127.0.0.1:{free_port()}\"]\n"
            f"  timeout: 200ms\ntargets:\n{targets}")
    variants = [("concurrency: 64 (before)", "concurrency: 64\n"),
                ("default sizing (after)", "")]
    rows = []
    try:
        for rnd in range(args.rounds):
            for name, extra in variants:
                d = Daemon(workdir, f"slow-{rnd}-{len(extra)}", extra + base, 0)
                time.sleep(args.warmup)
                b, c0, t0 = scrape(d.port), cpu_seconds(d.pid), time.monotonic()
                peak_fds = 0
                while time.monotonic() - t0 < args.window:
                    time.sleep(1)
                    peak_fds = max(peak_fds, fds(d.pid))
                a, c1, w = scrape(d.port), cpu_seconds(d.pid), time.monotonic() - t0
                rows.append({
                    "variant": name, "round": rnd + 1, "window_s": w,
                    "done_per_s": (a["probes"] - b["probes"]) / w,
                    "late_window": a["late"] - b["late"], "late_total": a["late"],
                    "lag": lag_text(b, a), "cpu_share": (c1 - c0) / w,
                    "rss_mib": status_kib(d.pid, "VmHWM") / 1024, "peak_fds": peak_fds,
                    "uptime_s": time.monotonic() - d.started,
                })
                d.stop()
                print(json.dumps(rows[-1]), flush=True)
    finally:
        peers.kill()
    due = args.targets / float(args.interval.rstrip("s"))
    print(f"\n{args.targets} targets (half silent, half trickling) every {args.interval}; "
          f"{due:.0f} probes/s due; warm-up {args.warmup}s, window {args.window}s")
    print("| variant | round | probes done/s (due) | late in window | late total (since start) "
          "| lag <=0.1s / <=1s / <=5s / <=30s / all (window) | CPU share | peak RSS MiB | peak fds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['round']} | {r['done_per_s']:.1f} ({due:.0f}) | "
              f"{r['late_window']:.0f} | {r['late_total']:.0f} ({r['uptime_s']:.0f}s) | {r['lag']} "
              f"| {r['cpu_share']:.1%} | {r['rss_mib']:.1f} | {r['peak_fds']} |")


# ---------------------------------------------------------------------------------------------
# TLS scan

def start_endpoints(bench, targets):
    proc = subprocess.Popen([bench, "--hold", "--scale", str(targets)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    ep, files = None, None
    for line in proc.stdout:
        m = re.search(r"endpoints: Endpoints \{ port: (\d+), ips: (\d+), dns: ([\d.:]+) \}; "
                      r"files in (\S+)", line)
        if m:
            ep = {"port": int(m.group(1)), "ips": int(m.group(2)), "dns": m.group(3)}
            files = m.group(4)
            break
    if ep is None:
        raise SystemExit("the bench endpoints did not start")
    return proc, ep, files


def scan_yaml(ep, files, hosts, interval, scan):
    yaml = (f"interval: {interval}\nresolver:\n  nameservers: [\"{ep['dns']}\"]\n  timeout: 2s\n"
            f"tls:\n  ca_file: {files}/root.pem\n  scan: {'true' if scan else 'false'}\n"
            f"backend:\n  path: /\n  expect_status: \"200\"\ntargets:\n")
    return yaml + "".join(f"  - host: {h}\n    port: {ep['port']}\n" for h in hosts)


def once_cost(workdir, ep, files, scan, tag):
    """CPU (s) and wall (s) of one `--once` run probing one target (one address)."""
    path = os.path.join(workdir, f"once-{tag}.yaml")
    with open(path, "w") as f:
        f.write("listen: 127.0.0.1:0\n" + scan_yaml(ep, files, ["t0.bench.test"], "30s", scan))
    t0 = time.monotonic()
    proc = subprocess.Popen(pinned(0, [BIN, "--once", "--output", "json", "--config", path]),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    doc = json.loads(out)
    return usage.ru_utime + usage.ru_stime, wall, doc


def policy_status(doc):
    for t in doc.get("targets", []):
        for c in t.get("checks", []):
            if c.get("check") == "tls_policy":
                return c.get("status")
    return "?"


def tls_scan(args):
    workdir = tempfile.mkdtemp(prefix="edgewatch-scan-")
    bench, ep, files = start_endpoints(args.bench, args.targets)
    try:
        # 1. The scan's own cost per address: --once of one target, scan on minus scan off.
        cpu_d, wall_d, cpu_on, cpu_off = [], [], [], []
        status = None
        for i in range(args.once_pairs):
            off_cpu, off_wall, _ = once_cost(workdir, ep, files, False, f"off{i}")
            on_cpu, on_wall, doc = once_cost(workdir, ep, files, True, f"on{i}")
            status = policy_status(doc)
            cpu_d.append(on_cpu - off_cpu)
            wall_d.append(on_wall - off_wall)
            cpu_on.append(on_cpu)
            cpu_off.append(off_cpu)
        print(f"--once, one target (one address), {args.once_pairs} interleaved pairs; "
              f"tls_policy with the scan: {status}")
        print("| | median | min..max |\n|---|---|---|")
        for name, xs, unit in [("CPU ms, scan off", cpu_off, 1e3), ("CPU ms, scan on", cpu_on, 1e3),
                               ("scan CPU ms per address (on - off, paired)", cpu_d, 1e3),
                               ("scan wall ms per address (on - off, paired)", wall_d, 1e3)]:
            print(f"| {name} | {statistics.median(xs) * unit:.1f} | "
                  f"{min(xs) * unit:.1f}..{max(xs) * unit:.1f} |")

        # 2. The daemon at 1,000 targets, scan on and off, interleaved.
        hosts = [f"t{i}.bench.test" for i in range(args.targets)]
        rows = []
        secs = float(args.interval.rstrip("s"))
        for rnd in range(args.rounds):
            for scan in ([False, True] if rnd % 2 == 0 else [True, False]):
                d = Daemon(workdir, f"scan-{rnd}-{scan}",
                           scan_yaml(ep, files, hosts, args.interval, scan), 0)
                # First interval: every target's first probe, and (scan on) every first scan.
                time.sleep(secs + 5)
                first = scrape(d.port)
                c_first = cpu_seconds(d.pid)
                t0 = time.monotonic()
                time.sleep(args.window)
                a, c1, w = scrape(d.port), cpu_seconds(d.pid), time.monotonic() - t0
                rows.append({
                    "scan": scan, "round": rnd + 1,
                    "first_probes": first["probes"], "first_cpu_ms": c_first * 1e3,
                    "first_ms_per_probe": c_first * 1e3 / max(first["probes"], 1),
                    "scanned": len(first["scanned"]),
                    "probes": a["probes"] - first["probes"],
                    "ms_per_probe": (c1 - c_first) * 1e3 / max(a["probes"] - first["probes"], 1),
                    "cpu_share": (c1 - c_first) / w, "late": a["late"],
                    "rss_mib": status_kib(d.pid, "VmHWM") / 1024,
                })
                d.stop()
                print(json.dumps(rows[-1]), flush=True)
        print(f"\n{args.targets} targets every {args.interval}, daemon on core 0; first = start "
              f"to interval + 5 s (first probes, first scans); steady = the next {args.window}s")
        print("| scan | round | first: probes | first: CPU ms | first: CPU ms/probe | targets "
              "scanned | steady: probes | steady: CPU ms/probe | steady: CPU share | late | "
              "peak RSS MiB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {'on' if r['scan'] else 'off'} | {r['round']} | {r['first_probes']:.0f} | "
                  f"{r['first_cpu_ms']:.0f} | {r['first_ms_per_probe']:.3f} | {r['scanned']} | "
                  f"{r['probes']:.0f} | {r['ms_per_probe']:.3f} | {r['cpu_share']:.1%} | "
                  f"{r['late']:.0f} | {r['rss_mib']:.1f} |")
        print("\n| scan | steady CPU ms/probe median (min..max) | first-interval CPU ms median "
              "(min..max) |\n|---|---|---|")
        for scan in (False, True):
            xs = [r["ms_per_probe"] for r in rows if r["scan"] == scan]
            fs = [r["first_cpu_ms"] for r in rows if r["scan"] == scan]
            print(f"| {'on' if scan else 'off'} | {statistics.median(xs):.3f} "
                  f"({min(xs):.3f}..{max(xs):.3f}) | {statistics.median(fs):.0f} "
                  f"({min(fs):.0f}..{max(fs):.0f}) |")
    finally:
        bench.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("slow-peers")
    s.add_argument("--targets", type=int, default=1000)
    s.add_argument("--interval", default="5s")
    s.add_argument("--warmup", type=float, default=10)
    s.add_argument("--window", type=float, default=30)
    s.add_argument("--rounds", type=int, default=2)
    t = sub.add_parser("tls-scan")
    t.add_argument("--bench", required=True, help="the probe_cost bench binary (release)")
    t.add_argument("--targets", type=int, default=1000)
    t.add_argument("--interval", default="30s")
    t.add_argument("--window", type=float, default=30)
    t.add_argument("--rounds", type=int, default=3)
    t.add_argument("--once-pairs", type=int, default=15)
    args = p.parse_args()
    if not os.path.exists(BIN):
        raise SystemExit(f"{BIN} missing: cargo build --release")
    {"slow-peers": slow_peers, "tls-scan": tls_scan}[args.what](args)


if __name__ == "__main__":
    main()
