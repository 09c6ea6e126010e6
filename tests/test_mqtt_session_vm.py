"""The node's MQTT layer (firmware/mqtt.py, firmware/mqttsession.py) in the MicroPython VM,
against a private Mosquitto that the test crashes, restarts or locks with a password file."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.broker import MosquittoProcess
from tests.vmutil import BOARD, FIRMWARE, REPO, micropython_cmd, vm_path

SCRIPTS = REPO / "tests" / "firmware_vm"


def _vm(script: str, *args: str, cwd: Path, path: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ, MICROPYPATH=path or vm_path())
    return subprocess.Popen(
        [*micropython_cmd(), str(SCRIPTS / script), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stats(out: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", out)}


class NumberWatcher:
    """A host-side paho subscriber that keeps the numbers published on one topic.

    paho reconnects by itself after the broker restarts and subscribes again on connect.
    """

    def __init__(self, port: int, topic: str) -> None:
        self.topic = topic
        self.numbers: list[int] = []
        self._cond = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{topic}")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, *_: object) -> None:
        client.subscribe(self.topic, 1)

    def _on_message(self, _c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        with self._cond:
            self.numbers.append(int(message.payload))
            self._cond.notify_all()

    def highest(self) -> int:
        with self._cond:
            return max(self.numbers, default=-1)

    def wait_above(self, n: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: max(self.numbers, default=-1) > n, timeout)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_session_keeps_publishing_after_the_broker_is_killed_and_restarted_twice(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    prefix = f"t/{uuid.uuid4().hex[:8]}"
    watcher = NumberWatcher(mosquitto.port, f"{prefix}/n")
    vm = _vm("mqtt_session_publisher.py", str(mosquitto.port), prefix, cwd=tmp_path)
    try:
        assert watcher.wait_above(5, 15), "the VM did not start publishing"
        for _ in range(2):
            mosquitto.kill()  # SIGKILL: no DISCONNECT, the TCP connections are reset
            threading.Event().wait(1.0)
            before = watcher.highest()
            mosquitto.start()
            # at 100 ms a message, five new numbers prove the VM reconnected by itself
            assert watcher.wait_above(before + 5, 40), f"nothing new after {before}"
        info = watcher.client.publish(f"{prefix}/stop", b"stop", qos=1)
        info.wait_for_publish(5)
        out, _ = vm.communicate(timeout=30)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.communicate()
        watcher.close()
    print(out)
    assert vm.returncode == 0, out
    stats = _stats(out)
    assert stats["connects"] == 3, out
    assert stats["link_failures"] >= 2, out
    assert out.count("connected") == 3, out
    assert stats["published"] > watcher.highest() - 1 >= 15, out
    # live heap after a collection, sampled every 100 ms: the session's steady-state footprint
    assert stats["live_heap_high"] < 60_000, out


def test_mosquitto_refusing_bad_credentials_gives_oserror_with_the_connack_code(
    tmp_path: Path,
) -> None:
    # Started as root, Mosquitto reads its password file as the user "mosquitto", which
    # cannot enter pytest's private tmp_path: the file lives in a directory it can read.
    with tempfile.TemporaryDirectory() as readable:
        os.chmod(readable, 0o755)
        passwd = Path(readable) / "passwd"
        subprocess.run(
            ["mosquitto_passwd", "-b", "-c", str(passwd), "node-1", "right"],
            check=True,
            capture_output=True,
        )
        passwd.chmod(0o644)
        conf = f"allow_anonymous false\npassword_file {passwd}\n"
        with MosquittoProcess(tmp_path / "broker", extra_conf=conf) as broker:
            port = str(broker.port)
            wrong = _vm("mqtt_connect_once.py", port, "node-1", "wrong", cwd=tmp_path)
            right = _vm("mqtt_connect_once.py", port, "node-1", "right", cwd=tmp_path)
            out_wrong, _ = wrong.communicate(timeout=30)
            out_right, _ = right.communicate(timeout=30)
    # CONNACK 5 "not authorized" is what Mosquitto answers to a wrong password (3.2.2.3)
    assert out_wrong.split() == ["refused", "111", "5"], out_wrong
    assert out_right.split() == ["connected"], out_right


@pytest.mark.parametrize("form", ["source", "mpy"])
def test_mqtt_modules_ram_cost_stays_within_budget(
    form: str, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    path = vm_path()
    if form == "mpy":
        # what a release build puts on the board: modules compiled by mpy-cross
        built = tmp_path / "mpy"
        built.mkdir()
        for name in ("mqtt", "mqttsession"):
            subprocess.run(
                [
                    str(Path(micropython_cmd()[0]).parent / "mpy-cross"),
                    "-o",
                    str(built / f"{name}.mpy"),
                    str(FIRMWARE / f"{name}.py"),
                ],
                check=True,
            )
        path = f"{built}:{BOARD}:.frozen"
    vm = _vm("mqtt_ram_cost.py", str(mosquitto.port), cwd=tmp_path, path=path)
    out, _ = vm.communicate(timeout=60)
    print(form, out)
    assert vm.returncode == 0, out
    cost = _stats(out)
    assert cost["import_mqtt"] < 10_500, out
    assert cost["import_mqttsession"] < 4_500, out
    assert cost["client"] < 6_000, out  # two 2048-byte buffers and the ack table
    # garbage per 200-byte QoS 1 publish, PUBACK included (64-bit VM: about half on an ESP32)
    assert cost["per_publish"] < 2_500, out
