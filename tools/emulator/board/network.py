# Emulated ESP32 `network` module: Wi-Fi station (and a silent access point).
# The radio link is the control file "link" in the node directory, written by
# the host ("up"/"down", EmulatedNode.set_link); TCP traffic itself goes
# through the host's LinkProxy, which cuts connections when the link drops.
# The board description may name the access point: "wifi": {"ssid":..., "key":...};
# without it any ssid/key connects. status("rssi") is the board's "rssi".
# RAM: about 4.8 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import _board as _b

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_ASSOC_FAIL = 203
STAT_CONNECT_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204
# radio state shared by every WLAN object: STA on, AP on, (ssid, key) joined
_st = [False, False, None]
_conf = {"hostname": "esp32", "channel": 6, "txpower": 20}


def hostname(name=None):
    if name is None:
        return _conf["hostname"]
    _conf["hostname"] = name


class WLAN:
    IF_STA = 0
    IF_AP = 1

    def __init__(self, interface_id=0):
        self._i = interface_id

    def active(self, v=None):
        if v is None:
            return _st[self._i]
        _st[self._i] = bool(v)
        if not v and not self._i:
            _st[2] = None

    def connect(self, ssid=None, key=None, *, bssid=None):
        if not _st[0]:
            raise OSError("Wifi Not Started")
        _st[2] = (ssid, key)

    def disconnect(self):
        _st[2] = None

    def status(self, param=None):
        j = _st[2]
        if self._i or not _st[0] or j is None:
            s = STAT_IDLE
        else:
            ap = _b.cfg().get("wifi") or {}
            if _b.read("link", b"up")[:2] != b"up" or j[0] != ap.get("ssid", j[0]):
                s = STAT_NO_AP_FOUND
            elif j[1] != ap.get("key", j[1]):
                s = STAT_WRONG_PASSWORD
            else:
                s = STAT_GOT_IP
        if param is None:
            return s
        if param != "rssi" or s != STAT_GOT_IP:
            raise OSError("STA must be connected")
        return _b.cfg().get("rssi", -60)

    def isconnected(self):
        return self.status() == STAT_GOT_IP  # no station ever joins the AP

    def scan(self):
        ap = _b.cfg().get("wifi")
        if not ap or self.status() == STAT_NO_AP_FOUND or not _st[0]:
            return []
        return [(ap["ssid"].encode(), _b.mac(7), 6, _b.cfg().get("rssi", -60), 3, False)]

    def ifconfig(self, c=None):
        if c is not None:
            _conf["ip"] = tuple(c)
        elif "ip" in _conf:
            return _conf["ip"]
        elif self._i:
            return ("192.168.4.1", "255.255.255.0", "192.168.4.1", "0.0.0.0")
        elif self.isconnected():
            m = _b.mac()
            return ("10.%d.%d.%d" % (m[3], m[4], m[5] | 1), "255.0.0.0", "10.0.0.1", "10.0.0.1")
        else:
            return ("0.0.0.0",) * 4

    def config(self, *args, **kw):
        if kw:
            _conf.update(kw)
            return None
        k = args[0]
        if k == "mac":
            return _b.mac(self._i)
        if k in ("essid", "ssid"):
            if self._i:
                return _conf.get(k, "ESP_%02X%02X%02X" % tuple(_b.mac(1)[3:]))
            return _st[2][0] if self.isconnected() else ""
        if k in _conf:
            return _conf[k]
        raise ValueError("unknown config param")
