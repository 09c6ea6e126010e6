"""OTA HIL: emulated nodes (real MicroPython VMs) + a real Mosquitto + the gateway as its own
process + the fleet stand-in (a real HTTP server with the contract's endpoints). Updates,
rollback, refusals, a link drop mid-download, and power cuts at random instants."""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from hil_tests.fleet_standin import Release
from hil_tests.ota_lab import Lab, app_files, build_release, lab, with_version
from tools.emulator import EmulatedNode

pytestmark = pytest.mark.hil

STATUS_LINE = re.compile(r"status heap_peak=\d+ heap_free=\d+ measured=(\d+)")
BOOT = re.compile(r"^node \S+ boot \d+ fw (\S+) slot", re.MULTILINE)
# what the console says last tells the stage an update was in when the power went
_PHASES = (
    ("ota: confirmed", "after confirmation"),
    ("loader: slot", "trial boot"),
    ("ota: switching", "slot switch"),
    ("--- boot", "update boot"),
    ("ota: offer of", "offer received"),
)


def _phase(console: str) -> str:
    best, where = "before the offer", -1
    for marker, name in _PHASES:
        at = console.rfind(marker)
        if at > where:
            best, where = name, at
    if best == "trial boot" and "trial" not in console[where:].split("\n", 1)[0]:
        best = "update boot"  # the loader line of the update boot itself (no trial)
    return best


def _reported(t: Lab, node_id: str, entry: tuple[str, str, str]) -> bool:
    return entry in t.statuses(node_id)


def _settled(t: Lab, node_id: str, version: str) -> bool:
    return any(
        v == version and st in ("confirmed", "rolled_back", "refused")
        for v, st, _w in t.statuses(node_id)
    )


def _back_up(node: EmulatedNode, mark: int) -> bool:
    """An app booted after the power-on and got as far as a status line."""
    tail = node.console()[mark:]
    return BOOT.search(tail) is not None and STATUS_LINE.search(tail) is not None


def _only(t: Lab) -> str:
    """The lab's one node, once it runs the factory firmware from slot a."""
    (node_id,) = t.nodes
    t.wait("first boot", lambda: t.running(node_id) == ("0.1.0", "a"), 60)
    return node_id


def _served(t: Lab) -> float:
    return t.metrics().get("territoire_gateway_ota_bytes_served_total", 0.0)


def test_node_updates_to_a_new_version_fetching_only_what_changed_and_reports_it(
    tmp_path: Path,
) -> None:
    base = app_files()
    with lab(tmp_path, 1) as t:
        node_id = _only(t)
        changed = with_version(base, "0.2.0")
        release = build_release(1, "0.2.0", t.key, changed)
        t.fleet.target(release, [node_id])
        t.wait("confirmed", lambda: ("0.2.0", "confirmed", "") in t.statuses(node_id), 90)
        assert t.running(node_id) == ("0.2.0", "b")
        states = [s for _v, s, _w in t.statuses(node_id)]
        assert states[-3:] == ["downloading", "switching", "confirmed"], states
        served = _served(t)
        # the manifest and version.mpy, nothing else: the other modules are copied on the node
        assert served == len(release.manifest) + len(changed["version.mpy"]), served
        assert served < 0.1 * sum(len(d) for d in base.values())
        # the fleet's uplink carried the release once
        assert t.fleet.release_bytes_sent() == len(release.manifest) + sum(
            len(d) for d in release.files.values()
        )


def test_release_that_crashes_at_start_rolls_back_by_itself_and_reports_it(
    tmp_path: Path,
) -> None:
    def broken(src: Path) -> None:
        node = src / "node.py"
        node.write_text('raise RuntimeError("broken release")\n' + node.read_text())

    with lab(tmp_path, 1) as t:
        node_id = _only(t)
        t.fleet.target(build_release(1, "0.2.0", t.key, app_files(broken, "0.2.0")), [node_id])
        t.wait(
            "rolled back",
            lambda: ("0.2.0", "rolled_back", "trial_failed") in t.statuses(node_id),
            120,
        )
        node = t.nodes[node_id]
        assert node.console().count("loader: slot b trial") == 3
        assert "broken release" in node.console()
        t.wait("old version running", lambda: t.running(node_id) == ("0.1.0", "a"), 30)
        # it keeps working on the old version: readings still flow after the rollback (status
        # lines of the boot after it; the offer may have come before the node's first one)
        def since_rollback() -> list[str]:
            return STATUS_LINE.findall(node.console().rsplit("--- boot", 1)[-1])

        t.wait("a status line after the rollback", lambda: bool(since_rollback()), 60)
        measured = int(since_rollback()[-1])
        t.wait(
            "readings after the rollback",
            lambda: int(since_rollback()[-1]) > measured + 2,
            30,
        )
        assert ("0.2.0", "confirmed", "") not in t.statuses(node_id)


def test_expired_downgraded_wrong_hardware_tampered_releases_are_refused_and_reported(
    tmp_path: Path,
) -> None:
    base = app_files()
    with lab(tmp_path, 1) as t:
        node_id = _only(t)
        cases = [
            (
                build_release(1, "0.2.0", t.key, with_version(base, "0.2.0"), expires_in=-60),
                "expired",
            ),
            (build_release(2, "0.0.9", t.key, with_version(base, "0.0.9")), "downgrade"),
            (
                build_release(3, "0.3.0", t.key, with_version(base, "0.3.0"), hardware="esp32"),
                "wrong_hw",
            ),
        ]
        for release, why in cases:
            t.fleet.target(release, [node_id])
            t.wait(why, partial(_reported, t, node_id, (release.version, "refused", why)), 60)
        # a manifest changed after signing: the gateway's own check refuses it, no node sees it
        good = build_release(4, "0.4.0", t.key, with_version(base, "0.4.0"))
        tampered = Release(
            4, "0.4.0", "emu-x64", good.manifest.replace(b'"sv":1', b'"sv":9'), good.files
        )
        t.fleet.target(tampered, [node_id])
        t.wait(
            "gateway refusal",
            lambda: (
                t.metrics().get(
                    'territoire_gateway_ota_releases_refused_total{reason="bad_signature"}', 0
                )
                >= 1
            ),
            30,
        )
        # an object corrupted in the gateway's cache after its check: the node refuses it
        node = t.nodes[node_id]
        node.set_link(False)
        changed = with_version(base, "0.5.0")
        release = build_release(5, "0.5.0", t.key, changed)
        t.fleet.target(release, [node_id])
        version_sha = next(h for h, d in release.files.items() if d == changed["version.mpy"])
        cached = tmp_path / "gw" / "ota" / version_sha
        t.wait("release cached", cached.exists, 30)
        data = bytearray(cached.read_bytes())
        data[-1] ^= 0xFF
        cached.write_bytes(bytes(data))
        node.set_link(True)
        t.wait("bad_hash", lambda: ("0.5.0", "refused", "bad_hash") in t.statuses(node_id), 60)
        assert t.running(node_id) == ("0.1.0", "a")
        assert "loader: slot b" not in node.console()
        assert not any(st in ("switching", "confirmed") for _v, st, _w in t.statuses(node_id))


def test_link_drop_mid_download_resumes_where_it_stopped(tmp_path: Path) -> None:
    base = app_files()
    pad = os.urandom(48 * 1024)  # a big new file, never imported: the download takes a while
    files = {**with_version(base, "0.2.0"), "pad.mpy": pad}
    with lab(tmp_path, 1) as t:
        node_id = _only(t)
        node = t.nodes[node_id]
        release = build_release(1, "0.2.0", t.key, files)
        t.fleet.target(release, [node_id])
        t.wait("download under way", lambda: _served(t) > len(release.manifest) + 8 * 512, 60)
        node.set_link(False)
        dropped_at = _served(t)
        time.sleep(5)
        node.set_link(True)
        t.wait("confirmed", lambda: ("0.2.0", "confirmed", "") in t.statuses(node_id), 120)
        needed = len(release.manifest) + len(pad) + len(files["version.mpy"])
        resent = _served(t) - needed
        print(
            f"link dropped after {dropped_at:.0f} bytes; re-sent {resent:.0f} bytes "
            f"of a {len(pad)}-byte file"
        )
        assert dropped_at < needed
        # what travels twice: the chunk in flight at the drop, plus any chunk the node had to
        # ask again (a chunk it could not take in, e.g. its heap was fragmented at that moment)
        assert 0 <= resent < len(pad) / 8, resent
        assert t.running(node_id) == ("0.2.0", "b")


def test_power_cut_at_random_instants_always_boots_the_old_or_the_new_version(
    tmp_path: Path,
) -> None:
    """Nodes killed (SIGKILL: a power cut) at random instants through download, verification,
    slot switch and first boot; 5 nodes x 10 trials in parallel."""
    n_nodes, trials = 5, 10
    base = app_files()
    rng = random.Random(20261127)
    failures: list[str] = []
    outcomes: list[tuple[str, str, str]] = []
    phases: list[str] = []
    with lab(tmp_path, n_nodes, ota={"offer_interval_s": 1.0}) as t:
        releases = [
            build_release(i + 1, f"0.{i + 2}.0", t.key, with_version(base, f"0.{i + 2}.0"))
            for i in range(trials)
        ]
        delays = {n: [rng.uniform(0.5, 5.0) for _ in range(trials)] for n in t.nodes}

        def run(node_id: str) -> None:
            node = t.nodes[node_id]
            try:
                t.wait("first boot", lambda: t.running(node_id) is not None, 90)
                for i, release in enumerate(releases):
                    before = t.running(node_id)
                    assert before is not None
                    start = len(node.console())
                    t.fleet.target(release, [node_id])
                    time.sleep(delays[node_id][i])
                    node.kill()
                    mark = len(node.console())
                    phases.append(_phase(node.console()[start:mark]))
                    node.start()
                    # back up: an app booted after the power-on and got as far as a status line
                    t.wait(f"{node_id} trial {i} back up", partial(_back_up, node, mark), 90)
                    versions = BOOT.findall(node.console()[mark:])
                    outcomes.append((node_id, before[0], versions[0]))
                    wrong = [v for v in versions if v not in (before[0], release.version)]
                    if wrong:
                        failures.append(f"{node_id} trial {i}: booted {wrong}, before {before}")
                    t.wait(
                        f"{node_id} trial {i} settled",
                        partial(_settled, t, node_id, release.version),
                        90,
                    )
            except AssertionError as exc:
                failures.append(f"{node_id}: {str(exc)[:3000]}")

        threads = [threading.Thread(target=run, args=(n,)) for n in t.nodes]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert failures == [], "\n".join(failures)
        assert len(outcomes) == n_nodes * trials
        moved = sum(1 for _n, a, b in outcomes if a != b)
        print(
            f"{len(outcomes)} power cuts: {moved} came back on the new version, "
            f"{len(outcomes) - moved} on the old one; cut during: "
            f"{dict(sorted(Counter(phases).items()))}"
        )
        # the cuts fell into every stage of an update, not only before or after it
        assert {"update boot", "trial boot"} <= set(phases), phases


def test_battery_node_awake_a_second_per_wake_gets_its_offer_and_updates(
    tmp_path: Path,
) -> None:
    # awake about a second per ten-second wake cycle, and the scheduled offer goes once an
    # hour: the offer has to come as the node's readings arrive, before the acknowledgement
    # that sends it back to sleep
    with lab(tmp_path, 1, interval_s=600.0, ota={"offer_interval_s": 3600.0},
             node_extra={"battery": True, "awake_s": 10}) as t:
        node_id = _only(t)
        node = t.nodes[node_id]
        release = build_release(1, "0.2.0", t.key, with_version(app_files(), "0.2.0"))
        t.fleet.target(release, [node_id])
        t.wait("confirmed", lambda: ("0.2.0", "confirmed", "") in t.statuses(node_id), 180)
        assert t.running(node_id)[0] == "0.2.0"
        assert node.restarts["deepsleep"] >= 1, node.restarts
        offers = t.metrics()
        assert offers.get('territoire_gateway_ota_offers_total{trigger="heard"}', 0.0) >= 1, offers
