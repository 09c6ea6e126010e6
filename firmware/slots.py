# A/B slot state of the node (docs/ota.md, "Slots and loader"), app side. The loader (main.py)
# reads and writes the same record; it keeps its own copy of these few lines because it is
# never replaced by an update, while this module is.
# Record: compact JSON + " " + CRC-32 hex, two alternating copies (slot.a, slot.b) each
# replaced atomically; the valid copy with the highest sequence number "q" wins, so a power
# cut at any instant leaves the previous or the new state, never a mix.
# Keys: run (running slot), tr (slot on trial or None), n (trial boots so far), sv (highest
# secure version installed), tv/tsv/tmh (version, secure version, manifest digest on trial),
# ev/ev_v/ev_mh (last outcome to report: "confirmed" or "rolled_back", its version, digest).
# RAM: about 1 KB once imported.
import binascii
import json

import store

_PATHS = ("slot.a", "slot.b")


def fresh():
    return {"q": 0, "run": "a", "tr": None, "n": 0, "sv": 0, "tv": None, "tsv": 0,
            "tmh": None, "ev": None, "ev_v": None, "ev_mh": None}


def _decode(raw):
    if not raw:
        return None
    try:
        text, crc = raw.rsplit(b" ", 1)
        if int(crc, 16) != binascii.crc32(text):
            return None
        st = json.loads(text)
        if not isinstance(st, dict) or not isinstance(st.get("q"), int):
            return None
        return st
    except (ValueError, TypeError):
        return None


def load():
    """The newest valid record, or a fresh one (slot a, nothing on trial)."""
    best = None
    for p in _PATHS:
        st = _decode(store.read_file(p))
        if st is not None and (best is None or st["q"] > best["q"]):
            best = st
    if best is None:
        return fresh()
    for k, v in fresh().items():
        best.setdefault(k, v)
    return best


def save(st):
    # overwrite the older copy: the newer one survives a power cut during this write
    q = [_decode(store.read_file(p)) for p in _PATHS]
    older = 0 if (q[0] is None or (q[1] is not None and q[0]["q"] <= q[1]["q"])) else 1
    st["q"] = max(s["q"] for s in q if s is not None) + 1 if any(q) else 1
    text = json.dumps(st, separators=(",", ":")).encode()
    store.write_atomic(_PATHS[older], text + b" %08x" % binascii.crc32(text))


def current(st):
    """The slot this boot runs: the trial slot while on trial (the loader rolled back otherwise)."""
    return st["tr"] or st["run"]


def other(slot):
    return "b" if slot == "a" else "a"


def set_trial(st, slot, version, secver, digest):
    st.update({"tr": slot, "n": 0, "tv": version, "tsv": secver, "tmh": digest})
    save(st)


def confirm(st):
    """The trial slot becomes the running slot; its secure version becomes the floor."""
    if not st["tr"]:
        return False
    st.update({"run": st["tr"], "tr": None, "n": 0, "sv": max(st["sv"], st["tsv"]),
               "ev": "confirmed", "ev_v": st["tv"], "ev_mh": st["tmh"]})
    save(st)
    return True
