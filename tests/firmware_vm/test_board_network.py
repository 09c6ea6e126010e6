# The emulated board's network.WLAN, in the VM: the link is the control file "link"
# written by the host; the access point may be named by the board description.
import json


def _network(board=None):
    with open("board.json", "w") as f:
        json.dump(board or {"node_id": "ang-0002", "rssi": -67}, f)
    import network

    return network


def _link(state):
    with open("link", "w") as f:
        f.write(state)


def test_station_connects_when_the_link_is_up():
    n = _network()
    w = n.WLAN(n.STA_IF)
    assert not w.isconnected() and w.status() == n.STAT_IDLE
    try:
        w.connect("territoire", "secret")
    except OSError:
        pass
    else:
        raise AssertionError("connect() before active(True) must fail")
    w.active(True)
    assert w.active()
    w.connect("territoire", "secret")
    assert w.isconnected() and w.status() == n.STAT_GOT_IP
    assert w.status("rssi") == -67
    assert w.config("essid") == "territoire"
    ip, mask, gw, dns = w.ifconfig()
    assert ip.startswith("10.") and mask == "255.0.0.0"
    assert len(w.config("mac")) == 6
    assert n.WLAN(n.STA_IF).isconnected(), "WLAN objects share the radio"


def test_link_down_disconnects_and_up_reconnects():
    n = _network()
    w = n.WLAN(n.STA_IF)
    w.active(True)
    w.connect("territoire", "secret")
    _link("down")
    assert not w.isconnected()
    assert w.status() == n.STAT_NO_AP_FOUND
    assert w.ifconfig()[0] == "0.0.0.0"
    try:
        w.status("rssi")
    except OSError:
        pass
    else:
        raise AssertionError("rssi needs a connection")
    _link("up")
    assert w.isconnected(), "the station rejoins by itself when the AP is back"
    w.disconnect()
    assert not w.isconnected() and w.status() == n.STAT_IDLE


def test_named_access_point_checks_ssid_and_key():
    n = _network({"node_id": "x", "wifi": {"ssid": "angers-iot", "key": "k3y"}})
    w = n.WLAN(n.STA_IF)
    w.active(True)
    w.connect("other", "k3y")
    assert w.status() == n.STAT_NO_AP_FOUND
    w.connect("angers-iot", "wrong")
    assert w.status() == n.STAT_WRONG_PASSWORD and not w.isconnected()
    w.connect("angers-iot", "k3y")
    assert w.isconnected()
    nets = w.scan()
    assert nets[0][0] == b"angers-iot"


def test_access_point_interface_and_config():
    n = _network()
    ap = n.WLAN(n.AP_IF)
    ap.active(True)
    assert not ap.isconnected()
    ap.config(essid="territoire-setup")
    assert ap.config("essid") == "territoire-setup"
    assert ap.config("mac") != n.WLAN(n.STA_IF).config("mac")
    n.hostname("node-7")
    assert n.hostname() == "node-7"
    w = n.WLAN(n.STA_IF)
    w.config(pm=w.PM_NONE) if hasattr(w, "PM_NONE") else w.config(pm=0)
    assert w.config("channel") == 6
