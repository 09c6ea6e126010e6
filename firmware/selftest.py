# Node self-test, run from the REPL by the technician's CLI (`territoire node selftest`, and at
# the end of `node flash`): `import selftest; selftest.run()`. One line per check, for a parser:
#   ST <check> <ok|warn|fail> <detail>        then    ST end <pass|fail> <failures>
# Sensor details are JSON of the values read; the host judges their plausibility against the
# metric registry (protocol/metrics.py), so the ranges exist once. The gateway check connects
# to the broker with the node's own credentials and waits for the gateway's authentic time
# acknowledgement, which also sets the clock (kept in RTC memory for the next boot).
# Side effects: none in flash; the counter and the boot count are not touched.
# RAM (measured on the emulated air-quality board, .mpy, after gc.collect()): importing this
# module takes 16.7 KB (asyncio, proto, clock come with it); after run() 82 KB are allocated,
# of which the emulation's own board modules and simulated devices are 45 KB
# (docs/firmware.md): mqtt, the drivers and network stay imported, nothing else is kept. It
# runs after a soft reset (the CLI does one), never beside the running firmware.
import gc
import json
import sys
import time

import asyncio
import binascii
import clock
import proto
import version

_PREFIX = "territoire/v1/node/"
_fails = 0


def _line(check, status, detail=""):
    global _fails
    if status == "fail":
        _fails += 1
    print("ST", check, status, detail)


def _config():
    # the node's own check (the contract, docs/firmware.md), then out of the heap again
    try:
        import nodecfg

        cfg = nodecfg.load()
    except (OSError, ValueError) as e:
        _line("config", "fail", "node.json: %s" % e)
        return None
    finally:
        sys.modules.pop("nodecfg", None)
    _line("config", "ok", "%s zone %s hw %s fw %s" % (cfg["id"], cfg["zone"] or "-", cfg["hw"],
                                                     version.VERSION))
    return cfg


async def _sensors(cfg, machine):
    from sensors.build import build

    try:
        drivers = build(cfg["sensors"], machine)
    except (OSError, ValueError, KeyError, TypeError) as e:
        _line("sensors", "fail", "cannot set up: %s" % e)
        return
    for spec, drv in zip(cfg["sensors"], drivers):
        values = {}
        try:
            await drv.read(values)
        except (OSError, ValueError) as e:
            _line("sensor:" + spec["kind"], "fail", "no answer: %s" % e)
            continue
        _line("sensor:" + spec["kind"], "ok" if values else "fail", json.dumps(values))
        gc.collect()


def _wifi(cfg):
    try:
        import network
    except ImportError:
        return True  # a board without Wi-Fi module (unix VM without the emulated board)
    w = network.WLAN(network.STA_IF)
    w.active(True)
    wifi = cfg["wifi"]  # null, or ssid and key (nodecfg.py filled in the key's default)
    if not w.isconnected() and wifi:
        w.connect(wifi["ssid"], wifi["key"])
    t = time.ticks_ms()
    while not w.isconnected() and time.ticks_diff(time.ticks_ms(), t) < 15000:
        time.sleep_ms(100)
    if not w.isconnected():
        ssid = wifi["ssid"] if wifi else None
        _line("wifi", "fail", "not connected to %r (status %s)" % (ssid, w.status()))
        return False
    _line("wifi", "ok", "rssi %s" % w.status("rssi"))
    return True


async def _gateway(cfg, clk, timeout_ms):
    import mqtt

    node_id, m = cfg["id"], cfg["mqtt"]
    signer = proto.Signer(binascii.unhexlify(cfg["secret"]))
    got = []

    def on_msg(topic, msg):
        res = proto.decode_ack(msg, node_id, signer)
        if res is not None and res[0]:
            got.append(res[0])

    c = mqtt.MQTTClient(node_id + "-selftest", m["host"], m["port"], user=m["user"],
                        password=m["password"], keepalive=30)
    c.set_callback(on_msg)
    where = "%s:%s" % (m["host"], m["port"])
    try:
        await c.connect()
        await c.subscribe(_PREFIX + node_id + "/ack", 1)
        enc = proto.Encoder(node_id, cfg["kid"], signer)
        state = enc.state(clk.now(), "online", 0, (("fw", version.VERSION), ("selftest", 1)))
        await c.publish(_PREFIX + node_id + "/state", bytes(state), 1, False)
        t = time.ticks_ms()
        while not got and time.ticks_diff(time.ticks_ms(), t) < timeout_ms:
            await asyncio.sleep_ms(50)
    except OSError as e:
        if len(e.args) > 1:
            # mqtt.py raises OSError(ECONNREFUSED, CONNACK code): the broker is there but does
            # not know this node, which is what a node provisioned minutes ago meets until the
            # gateway's next fleet sync gives it a broker account
            _line("gateway", "fail", "broker %s refused the node's login (CONNACK %s): the "
                  "gateway has not synced this node from the fleet yet; wait for its next sync "
                  "(fleet.sync_interval_s) and test again" % (where, e.args[1]))
        else:
            _line("gateway", "fail", "broker %s refused or unreachable: %s" % (where, e))
        return
    finally:
        await c.disconnect()
    if not got:
        _line("gateway", "fail", "broker %s reached, no answer from the gateway" % where)
        return
    clk.sync(got[0])
    _line("gateway", "ok", "broker %s, gateway answered" % where)


async def _main(timeout_ms):
    global _fails
    _fails = 0
    import machine

    cfg = _config()
    if cfg is not None:
        await _sensors(cfg, machine)
    rtc = machine.RTC() if hasattr(machine, "RTC") else None
    clk = clock.Clock(rtc)
    if cfg is not None and _wifi(cfg):
        await _gateway(cfg, clk, timeout_ms)
    if clk.synced():
        _line("clock", "ok", "%d" % clk.now())
    else:
        _line("clock", "fail", "not set (the gateway sets it)")
    gc.collect()
    _line("heap", "ok", "%d %d" % (gc.mem_free(), gc.mem_alloc()))
    try:
        import os

        st = os.statvfs(os.getcwd())
        _line("flash", "ok", "%d %d" % (st[0] * st[3], st[0] * st[2]))
    except (OSError, AttributeError) as e:
        _line("flash", "warn", str(e))
    print("ST end", "fail" if _fails else "pass", _fails)


def run(timeout_ms=10000):
    try:
        asyncio.run(_main(timeout_ms))
    except Exception as e:  # a self-test must report, never leave the REPL in a traceback
        sys.print_exception(e)
        print("ST end fail crash")
