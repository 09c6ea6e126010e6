"""Gateway ingest benchmark: prints one JSON line.

In one run, on this machine:
1. baseline: publishers push valid signed readings at QoS 1 into a private Mosquitto while
   ``mosquitto_sub`` (Mosquitto's own C client) receives them at QoS 1: broker_rate msg/s;
2. the same publishers and load with the gateway process (``territoire gateway run``)
   verifying, storing and acknowledging: gateway_rate readings/s accepted, p99 latency from
   publish to the end-to-end ack, and bytes the gateway process wrote to disk per accepted
   reading (``/proc/<pid>/io`` write_bytes).

ratio = gateway_rate / broker_rate. Usage: python bench/gateway_ingest.py [--messages N]

With ``--qemu`` the gateway runs as ``python -m gateway run`` in the emulated Raspberry Pi
(tools/pi_image: Debian bookworm arm64, aarch64 wheels, qemu-aarch64-static) and Mosquitto
stays a host process, as in hil_tests/test_gateway_qemu.py: the same line, with
``"gateway_runtime": "qemu-aarch64"``, tells the emulation's slowdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gateway.broker import MosquittoProcess, free_port
from gateway.config_file import load_settings
from gateway.service import Gateway
from gateway.store import NodeRecord
from hil_tests.gateway_process import metrics
from protocol.codec import encode_reading, sign

BENCH_USER, BENCH_PASSWORD = "bench", "bench-password"


def secret(node_id: str) -> bytes:
    return node_id.encode().ljust(32, b"!")


def messages(node_ids: list[str], per_node: int, t0: int) -> list[tuple[str, bytes]]:
    out = []
    for c in range(1, per_node + 1):
        for n in node_ids:
            m = [("temp_c", 20.0 + c % 7), ("rh_pct", 55.0)]
            body = encode_reading(n, 1, c, t0, "0.1.0", m)
            out.append((f"territoire/v1/node/{n}/reading", sign(secret(n), body)))
    return out


def run_publishers(port: int, msgs: list[tuple[str, bytes]], user: str,
                   password: str, tmp: Path) -> tuple[float, list[subprocess.Popen[bytes]]]:
    """One ``mosquitto_pub -l`` (Mosquitto's C client) per node, each reading its node's
    messages from a file, one per line, at QoS 1: the offered load costs little CPU."""
    by_topic: dict[str, list[bytes]] = {}
    for topic, payload in msgs:
        by_topic.setdefault(topic, []).append(payload)
    procs = []
    files = []
    for i, (topic, payloads) in enumerate(sorted(by_topic.items())):
        f = tmp / f"pub-{i}.txt"
        f.write_bytes(b"\n".join(payloads) + b"\n")
        files.append((topic, f))
    t0 = time.monotonic()
    for i, (topic, f) in enumerate(files):
        cmd = ["mosquitto_pub", "-p", str(port), "-q", "1", "-l", "-t", topic,
               "-i", f"bench-pub-{i}", "--repeat", "0"]
        cmd = cmd[:-2]
        if user:
            # one account per publisher: the broker binds client ids to user names, so
            # publishers sharing one account would close each other's connection
            cmd += ["-u", f"{user}-{i}", "-P", password]
        procs.append(subprocess.Popen(cmd, stdin=f.open("rb"), stdout=subprocess.DEVNULL))
    return t0, procs


class LatencyProbe:
    """A probe node publishing a reading every 20 ms during the load and timing each one from
    publish to its end-to-end acknowledgement: the gateway's ingest latency, queueing
    included."""

    NODE = "ang-probe"

    def __init__(self, port: int) -> None:
        import threading

        import paho.mqtt.client as mqtt

        self.sent: dict[int, float] = {}
        self.latency: list[float] = []
        self.stop = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-probe")
        self.client.username_pw_set(f"{BENCH_USER}-probe", BENCH_PASSWORD)
        self.client.on_message = self._on_ack
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"territoire/v1/node/{self.NODE}/ack", qos=1)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_ack(self, _c: object, _u: object, msg: object) -> None:
        now = time.monotonic()
        body = msg.payload[:-44]  # type: ignore[attr-defined]
        for c in json.loads(body)["ok"]:
            t = self.sent.pop(c, None)
            if t is not None:
                self.latency.append(now - t)

    def _run(self) -> None:
        c = 0
        while not self.stop.is_set():
            c += 1
            body = encode_reading(self.NODE, 1, c, int(time.time()), "0.1.0", [("temp_c", 1.0)])
            self.sent[c] = time.monotonic()
            self.client.publish(f"territoire/v1/node/{self.NODE}/reading",
                                sign(secret(self.NODE), body), qos=1)
            time.sleep(0.02)

    def p99_ms(self) -> float:
        self.stop.set()
        self.thread.join()
        time.sleep(1.0)
        self.client.loop_stop()
        lat = sorted(self.latency)
        return round(lat[int(0.99 * (len(lat) - 1))] * 1000, 1) if lat else float("nan")


def baseline(tmp: Path, msgs: list[tuple[str, bytes]]) -> float:
    with MosquittoProcess(tmp / "base") as broker:
        sub = subprocess.Popen(
            ["mosquitto_sub", "-p", str(broker.port), "-q", "1", "-t", "territoire/#",
             "-C", str(len(msgs)), "-i", "bench-sub"],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        t0, pubs = run_publishers(broker.port, msgs, "", "", tmp)
        sub.wait(600)
        rate = len(msgs) / (time.monotonic() - t0)
        for p in pubs:
            p.wait(60)
        return rate


def scrape(port: int) -> dict[str, float]:
    """The gateway's /metrics samples, by name with labels; OSError while it does not answer."""
    found = metrics(port)
    if not found:
        raise OSError(f"no metrics on port {port}")
    return found


def load_accepted(m: dict[str, float]) -> float:
    probe = f'territoire_gateway_node_readings_accepted_total{{node="{LatencyProbe.NODE}"}}'
    return m.get("territoire_gateway_readings_accepted_total", 0) - m.get(probe, 0)


def write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def gateway_command(tmp: Path, conf: Path, qemu: bool) -> tuple[list[str], dict[str, str]]:
    if not qemu:
        return [sys.executable, "-c",
                "import sys; from gateway.main import run_gateway; from pathlib import Path; "
                f"run_gateway(Path({str(conf)!r}), manage_broker=True)"], dict(os.environ)
    from tools.pi_image import ensure_image, python_env, stage_gateway

    image = ensure_image()
    app = stage_gateway(tmp / "app")
    return (image.python_argv("-m", "gateway", "run", "--config", str(conf)),
            python_env(app, os.environ))


def gateway_run(tmp: Path, msgs: list[tuple[str, bytes]],
                node_ids: list[str], qemu: bool) -> tuple[float, float, float, float, float, float]:
    mqtt_port, http_port = free_port(), free_port()
    conf = tmp / "gateway.toml"
    conf.write_text(
        f'name = "bench"\ndata_dir = "{tmp / "gw"}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "bench-gw"\n'
        f'[http]\nport = {http_port}\n[publish]\ninterval_s = 5.0\n'
    )
    settings = load_settings(conf)
    gw = Gateway(settings)
    for n in [*node_ids, LatencyProbe.NODE]:
        gw.store.upsert_node(NodeRecord(n, "centre", {1: secret(n)}, False))
    # under QEMU Mosquitto stays a host process (Debian's package beside the gateway on a Pi)
    host_broker = gw.start_private_broker() if qemu else None
    gw.store.close()
    cmd, env = gateway_command(tmp, conf, qemu)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + (120 if qemu else 20)
        while time.monotonic() < deadline:
            try:
                if scrape(http_port):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)
        # bench users with the gateway's rights publish for every node, one per publisher
        passwd = Path(tmp / "gw" / "broker" / "passwd")
        from gateway.broker_config import hash_password

        users = [f"{BENCH_USER}-{i}" for i in range(len({t for t, _ in msgs}))]
        users.append(f"{BENCH_USER}-probe")
        with passwd.open("a") as f:
            f.writelines(f"{u}:{hash_password(BENCH_PASSWORD)}\n" for u in users)
        acl = Path(tmp / "gw" / "broker" / "acl")
        acl.write_text(acl.read_text() + "".join(
            f"\nuser {u}\ntopic readwrite territoire/#\n" for u in users))
        pid_broker = int(subprocess.check_output(["pgrep", "-f", str(tmp / "gw" / "broker")])
                         .split()[0])
        os.kill(pid_broker, signal.SIGHUP)
        time.sleep(0.5)
        if os.environ.get("BENCH_PROFILE"):
            subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-d", "8",
                              "-o", os.environ["BENCH_PROFILE"], "-f", "raw", "-p",
                              str(proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        io0, cpu0 = write_bytes(proc.pid), cpu_seconds(proc.pid)
        acc0 = load_accepted(scrape(http_port))
        probe = LatencyProbe(mqtt_port)
        t0, pubs = run_publishers(mqtt_port, msgs, BENCH_USER, BENCH_PASSWORD, tmp)
        # the load's readings, not the probe's: counting those made the run last as long as
        # the probe took to send a fixed number (sessions 1-2 measured ~8 s whatever the rate)
        target = acc0 + len(msgs)
        last = acc0
        while True:
            last = load_accepted(scrape(http_port))
            if last >= target:
                break
            if time.monotonic() - t0 > 600:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        disk = write_bytes(proc.pid) - io0
        cpu = cpu_seconds(proc.pid) - cpu0
        p99 = probe.p99_ms()
        for p in pubs:
            p.wait(60)
        m = scrape(http_port)
        print("gateway metrics:", {k: v for k, v in m.items() if "total" in k and "{" not in k},
              file=sys.stderr)
        batches = m.get("territoire_gateway_batches_total", 1)
        accepted = max(1.0, last - acc0)
        return (last - acc0) / elapsed, disk / accepted, \
            m.get("territoire_gateway_batch_commit_seconds_sum", 0) / max(1.0, batches), p99, \
            cpu / accepted, cpu / elapsed
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30 if qemu else 10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if host_broker is not None:
            host_broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=40000)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--qemu", action="store_true",
                    help="the gateway in the emulated Raspberry Pi (aarch64, qemu-user)")
    args = ap.parse_args()
    node_ids = [f"ang-{i:04d}" for i in range(1, args.nodes + 1)]
    msgs = messages(node_ids, max(1, args.messages // args.nodes), int(time.time()))
    payload = sum(len(p) for _, p in msgs) / len(msgs)
    tmp = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    try:
        broker_rate = baseline(tmp, msgs)
        gateway_rate, disk_per, batch_s, p99, cpu_per, cores = gateway_run(
            tmp, msgs, node_ids, args.qemu)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({
        "bench": "gateway_ingest",
        "gateway_runtime": "qemu-aarch64" if args.qemu else "native",
        "messages": len(msgs),
        "nodes": args.nodes,
        "broker_rate": round(broker_rate),
        "gateway_rate": round(gateway_rate),
        "ratio": round(gateway_rate / broker_rate, 3),
        "p99_ingest_latency_ms": p99,
        "mean_batch_commit_ms": round(batch_s * 1000, 2),
        # CPU the gateway spent per accepted reading, and cores it kept busy meanwhile
        "gateway_cpu_us_per_reading": round(cpu_per * 1e6, 1),
        "gateway_cores_busy": round(cores, 2),
        "payload_bytes": round(payload),
        "disk_bytes_per_reading": round(disk_per),
        "disk_per_payload": round(disk_per / payload, 2),
    }))


if __name__ == "__main__":
    main()
