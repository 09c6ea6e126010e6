# The OTA client (otaclient.py) through its interface with the node: authentic commands in,
# progress reports out on a real MQTT session (a private Mosquitto), the pending offer of an
# update boot in flash, the trial confirmed by this boot's acknowledged readings.
import binascii
import json
import os
from time import ticks_diff, ticks_ms

import asyncio
import clock
import mqtt
import mqttsession
import otaclient
import proto
import slots
import version

NEEDS_BROKER = True
PORT = int(os.getenv("TERRITOIRE_BROKER_PORT") or "0")
NODE = "ang-0001"
SECRET = binascii.unhexlify("11" * 32)
TOPIC = "territoire/v1/node/%s/ota" % NODE
MH = "ab" * 32
CFG = {"id": NODE, "hw": "emu-x64", "release_keys": [], "battery": False}


class Board:
    """The node's machine as far as the client uses it: a reset, recorded."""

    def __init__(self):
        self.resets = 0

    def reset(self):
        self.resets += 1


async def _until(cond, ms=3000):
    t0 = ticks_ms()
    while not cond():
        if ticks_diff(ticks_ms(), t0) > ms:
            raise AssertionError("not within %d ms" % ms)
        await asyncio.sleep_ms(10)


def _report(msg):
    """A progress report as the gateway reads it: body, space, the node's MAC of the body."""
    body, _, mac = bytes(msg).rpartition(b" ")
    assert proto.Signer(SECRET).mac_b64(body) == mac, msg
    return json.loads(body)


async def _client(board, trial=False, synced=True, cfg=CFG):
    """An OTA client on a connected session, and what the gateway's side receives."""
    clk = clock.Clock()
    if synced:
        clk.sync(1_800_000_000)
    enc = proto.Encoder(NODE, 1, proto.Signer(SECRET))
    states = []

    async def publish_state():
        states.append("online")

    ota = otaclient.OtaClient(cfg, enc, clk, board, TOPIC, "a", trial, publish_state)
    got = []
    gw = mqtt.MQTTClient("gw", "127.0.0.1", PORT)
    gw.set_callback(lambda t, m: got.append(_report(m)))
    await gw.connect()
    await gw.subscribe(TOPIC, 1)
    ota.session = mqttsession.MQTTSession(lambda: mqtt.MQTTClient(NODE, "127.0.0.1", PORT))
    asyncio.create_task(ota.session.run())
    await ota.session.connected.wait()
    return ota, got, states


def _offer(ver="0.2.0", mh=MH, ml=2400):
    return {"y": "o", "n": NODE, "ver": ver, "mh": mh, "ml": ml}


async def test_offer_of_a_rolled_back_release_is_answered_without_an_update_boot():
    st = slots.fresh()
    st.update({"ev": "rolled_back", "ev_v": "0.2.0", "ev_mh": MH})
    slots.save(st)
    board = Board()
    ota, got, _ = await _client(board)
    assert ota.pending is None
    ota.on_cmd(_offer())
    await _until(lambda: got)
    assert [(m["ver"], m["st"], m["why"]) for m in got] == [("0.2.0", "rolled_back",
                                                            "trial_failed")], got
    assert board.resets == 0 and "ota.pend" not in os.listdir()


async def test_offer_once_the_time_is_known_resets_into_an_update_boot_counted_three_times():
    board = Board()
    ota, got, _ = await _client(board)
    ota.on_cmd(_offer(ml=2400))
    await _until(lambda: board.resets == 1)
    assert got == [] and open("ota.pend").read() == "0.2.0 %s 2400 0" % MH
    # the update boots that follow: each takes the offer and counts itself, three at most
    for tries in (1, 2, 3):
        nxt = otaclient.OtaClient(CFG, None, clock.Clock(), board, TOPIC, "a", False, None)
        assert nxt.pending == ("0.2.0", MH, 2400), nxt.pending
        assert open("ota.pend").read() == "0.2.0 %s 2400 %d" % (MH, tries)
    last = otaclient.OtaClient(CFG, None, clock.Clock(), board, TOPIC, "a", False, None)
    assert last.pending is None and "ota.pend" not in os.listdir()


async def test_offer_before_the_time_is_known_waits_and_a_trial_ignores_offers():
    board = Board()
    ota, got, _ = await _client(board, synced=False)
    ota.on_cmd(_offer())
    await _until(lambda: ota.task is None)
    assert board.resets == 0 and "ota.pend" not in os.listdir()
    on_trial = otaclient.OtaClient(CFG, None, clock.Clock(), board, TOPIC, "b", True, None)
    on_trial.on_cmd(_offer())
    assert on_trial.task is None and got == []


async def test_trial_is_confirmed_by_two_acknowledged_readings_of_this_boot_and_reported():
    st = slots.fresh()
    slots.set_trial(st, "b", version.VERSION, 2, MH)
    board = Board()
    ota, got, states = await _client(board, trial=True)
    ota.acked(1)
    assert ota.trial and slots.load()["tr"] == "b"
    ota.acked(2)
    st = slots.load()
    assert not ota.trial and st["run"] == "b" and st["tr"] is None and st["sv"] == 2, st
    await _until(lambda: got and states)
    assert [(m["ver"], m["st"]) for m in got] == [(version.VERSION, "confirmed")], got
    assert states == ["online"]  # the node's state (fw, slot) follows the report


async def test_a_battery_nodes_trial_is_confirmed_by_its_one_reading_of_the_boot():
    # it measures once, then deep sleeps (the next wake is a new boot): two never come
    st = slots.fresh()
    slots.set_trial(st, "b", version.VERSION, 2, MH)
    board = Board()
    ota, got, _ = await _client(board, trial=True, cfg=dict(CFG, battery=True))
    ota.acked(1)
    st = slots.load()
    assert not ota.trial and st["run"] == "b" and st["tr"] is None, st
    await _until(lambda: got)
    assert [(m["ver"], m["st"]) for m in got] == [(version.VERSION, "confirmed")], got
