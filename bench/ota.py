"""Over-the-air update benchmark: prints one JSON line.

- ``one_module_fraction``: bytes the gateway sent a node for a release that changes one module,
  as a fraction of the full application bundle (goal < 0.1), measured on a real node for the
  smallest module (version.mpy) and computed the same way for the others
  (``one_module_fraction_other_modules``: ``node.mpy`` is the goal's, < 0.1);
- ``uplink_bundles``: release bytes the gateway fetched from the fleet to update N nodes, as a
  multiple of one release (goal 1.0 whatever N);
- ``update_wall_s``: wall time from the fleet's decision to N nodes confirmed;
- ``verify``: time and heap of one manifest verification in the VM (100 KB heap), RSA-3072
  against a pure-MicroPython Ed25519, both on the same manifest body.

Run: ``python -m bench.ota [--nodes 50]``. Everything is real: emulated nodes (MicroPython VMs),
Mosquitto, the gateway process and the fleet stand-in (hil_tests/fleet_standin.py).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hil_tests.ota_lab import app_files, build_release, lab, release_key, with_version
from protocol import manifest as mf
from tools.emulator.vm import (
    BOARD_DIR,
    EMULATION_TRANSIENT_MARGIN,
    heap_bytes,
    micropython_binary,
)
from tools.release.bundle import firmware_files

HERE = Path(__file__).resolve().parent
FIRMWARE = HERE.parent / "firmware"


def _vm(case: Path, scheme: str, mode: str, heap: int) -> str:
    # the modules compiled to .mpy (next to case.json), as on a node: compiling them from
    # source would need more heap than running them
    env = {"MICROPYPATH": f"{case.parent}:{BOARD_DIR}:.frozen", "PATH": "/usr/bin"}
    proc = subprocess.run(
        [
            micropython_binary(),
            "-X",
            f"heapsize={heap}",
            str(HERE / "vm" / "verify_bench.py"),
            str(case),
            scheme,
            mode,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    return proc.stdout


def _min_heap(case: Path, scheme: str, mode: str) -> int:
    """The smallest VM heap (to 256 bytes) with which the run succeeds."""
    lo, hi = 4096, 100 * 1024
    want = "LOADED" if mode == "load" else "VERIFIED True"
    if want not in _vm(case, scheme, mode, hi):
        raise RuntimeError(f"{scheme} {mode} fails even with a 100 KB heap")
    while hi - lo > 256:
        mid = (lo + hi) // 2
        if want in _vm(case, scheme, mode, mid):
            hi = mid
        else:
            lo = mid
    return hi


def verify_figures(tmp: Path) -> dict[str, object]:
    key = release_key()
    body = mf.encode_body(
        version="0.2.0",
        hardware="emu-x64",
        secure_version=1,
        expires=2_000_000_000,
        created=1_700_000_000,
        files=mf.file_entries(app_files()),
    )
    signed = mf.sign_body(body, key)
    ed = Ed25519PrivateKey.generate()
    n, e = mf.public_numbers(key.public_key())
    case = tmp / "case.json"
    (tmp / "case.bin").write_bytes(signed)
    case.write_text(
        json.dumps(
            {
                "now": 1_800_000_000,
                "rsa_key": {"n": format(n, "x"), "e": e},
                "ed_pub": ed.public_key().public_bytes_raw().hex(),
                "ed_sig": ed.sign(body).hex(),
            }
        )
    )
    src = tmp / "src"
    src.mkdir()
    for path in (FIRMWARE / "manifest.py", HERE / "vm" / "ed25519_verify.py"):
        (src / path.name).write_text(path.read_text())
    for name, data in firmware_files(root=src).items():
        (tmp / name.removeprefix("a/")).write_bytes(data)
    out: dict[str, object] = {"manifest_bytes": len(signed)}
    for scheme in ("rsa", "ed25519"):
        times = []
        for _ in range(3):
            words = _vm(case, scheme, "verify", 100 * 1024).split()
            times.append(int(words[-1]))
        peak = _min_heap(case, scheme, "verify") - _min_heap(case, scheme, "load")
        out[scheme] = {"verify_ms": round(min(times) / 1000, 2), "heap_peak_bytes": peak}
    return out


def update_figures(tmp: Path, nodes: int) -> dict[str, object]:
    base = app_files()
    bundle = sum(len(d) for d in base.values())
    with lab(tmp, nodes, interval_s=2.0, ota={"offer_interval_s": 5.0}) as t:
        t.wait("every node up", lambda: all(t.running(n) for n in t.nodes), 300)
        changed = with_version(base, "0.2.0")
        release = build_release(1, "0.2.0", t.key, changed)
        start = time.monotonic()
        t.fleet.target(release, list(t.nodes))
        t.wait(
            "every node confirmed",
            lambda: all(("0.2.0", "confirmed", "") in t.statuses(n) for n in t.nodes),
            900,
        )
        wall = time.monotonic() - start
        heap = []
        for node in t.nodes.values():
            found = re.findall(r"ota heap_peak=(\d+)", node.console())
            if found:  # the update boot's live heap peak, less what the emulation holds
                emulation = (
                    int(node.vm_heapsize or 0)
                    - heap_bytes(node.heapsize)
                    - EMULATION_TRANSIENT_MARGIN
                )
                heap.append(int(found[-1]) - emulation)
        served = t.metrics().get("territoire_gateway_ota_bytes_served_total", 0.0)
        uplink = t.fleet.release_bytes_sent()
    release_bytes = len(release.manifest) + sum(len(d) for d in release.files.values())
    manifest_len = len(release.manifest)
    # computed the same way (the manifest plus the one file) for a change to each part of the
    # application: node.py is only their composition since the OTA client left it (issue 15)
    parts = ("node.mpy", "otaclient.mpy", "uplink.mpy", "meter.mpy", "health.mpy", "sensors/pm.mpy")
    others = {p: (manifest_len + len(base[p])) / bundle for p in parts}
    return {
        "nodes": nodes,
        "bundle_bytes": bundle,
        "one_module_fraction": round(served / nodes / bundle, 4),
        "one_module_fraction_other_modules": {p: round(v, 4) for p, v in others.items()},
        "uplink_bundles": round(uplink / release_bytes, 3),
        "update_wall_s": round(wall, 1),
        "update_boot_heap_peak_bytes": max(heap) if heap else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ota.") as tmp:
        result = update_figures(Path(tmp), args.nodes)
        if not args.skip_verify:
            result["verify"] = verify_figures(Path(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
