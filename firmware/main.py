# The loader (docs/ota.md, "Slots and loader"): runs after boot.py on every start. It is never
# replaced by an update, so it depends on nothing in a slot. It picks the slot to run (the
# trial slot while it has had fewer than 3 boots, else back to the running slot, recording
# the rollback), puts it first on sys.path, arms the hardware watchdog for a trial (a hung
# trial resets, and the reset counts as a trial boot) and a timer for the trial's deadline (a
# trial still not confirmed after trial_s resets too, whatever the new code does), then runs
# the app.
# The slot record format is the one of slots.py (a copy: that module lives in a slot).
import binascii
import json
import os
import sys

_TRIALS = 3
_TRIAL_WDT_MS = 60000
_TRIAL_S = 300  # the deadline when node.json does not set trial_s
_DEEPSLEEP_RESET = 4


def _read(p):
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError:
        return None


def _decode(raw):
    try:
        text, crc = raw.rsplit(b" ", 1)
        if int(crc, 16) == binascii.crc32(text):
            st = json.loads(text)
            if isinstance(st.get("q"), int):
                return st
    except (AttributeError, ValueError, TypeError):
        pass  # a torn or corrupted copy: the other copy decides
    return None


def load():
    a, b = _decode(_read("slot.a")), _decode(_read("slot.b"))
    if a is None or (b is not None and b["q"] > a["q"]):
        return b, "slot.a"
    return a, "slot.b"


def save(st, path):
    st["q"] = st.get("q", 0) + 1
    text = json.dumps(st, separators=(",", ":")).encode()
    with open(path + ".tmp", "wb") as f:
        f.write(text + b" %08x" % binascii.crc32(text))
    os.rename(path + ".tmp", path)


def bootable(slot):
    for name in ("/node.mpy", "/node.py"):
        try:
            os.stat(slot + name)
            return True
        except OSError:
            pass  # not this form of the module: try the other
    return False


def pick(st, cause):
    """(slot to run, whether the state changed). Pure apart from bootable()."""
    if st is None:
        return ("a" if bootable("a") or not bootable("b") else "b"), False
    tr = st.get("tr")
    if tr:
        if st.get("n", 0) >= _TRIALS or not bootable(tr):
            # the trial never confirmed: back to the running slot, and say so to the app
            st.update({"tr": None, "n": 0, "ev": "rolled_back", "ev_v": st.get("tv"),
                       "ev_mh": st.get("tmh")})
        elif cause != _DEEPSLEEP_RESET:
            st["n"] = st.get("n", 0) + 1
            return tr, True
        else:
            return tr, False
        run = st.get("run") or "a"
        return (run if bootable(run) else ("b" if run == "a" else "a")), True
    run = st.get("run") or "a"
    if not bootable(run):
        return ("b" if run == "a" else "a"), False
    return run, False


def trial_seconds():
    try:
        with open("node.json") as f:
            s = json.load(f).get("trial_s", _TRIAL_S)
        # the bounds of the contract (nodecfg.py, which lives in the slots: not importable here)
        ok = isinstance(s, (int, float)) and not isinstance(s, bool) and 1 <= s <= 86400
        return s if ok else _TRIAL_S
    except (OSError, ValueError, AttributeError):
        return _TRIAL_S  # no or bad configuration: the app will say so; the deadline stands


def _deadline(slot, machine):
    # a soft interrupt, run between the app's bytecodes: it cannot be starved by the app
    def check(_timer):
        st, _ = load()
        if st is not None and st.get("tr") == slot:
            print("loader: trial of slot", slot, "not confirmed in time: reset")
            machine.reset()

    return check


def boot():
    import machine

    st, older = load()
    slot, changed = pick(st, machine.reset_cause())
    if changed:
        save(st, older)
    trial = st is not None and st.get("tr") == slot
    if trial:
        machine.WDT(timeout=_TRIAL_WDT_MS)  # fed by the app; cannot be disarmed
        machine.Timer(0).init(mode=machine.Timer.ONE_SHOT, period=int(trial_seconds() * 1000),
                              callback=_deadline(slot, machine))
    sys.path.insert(0, slot)
    print("loader: slot", slot, "trial" if trial else "")
    try:
        import node

        node.main()
    except Exception as e:
        if not trial:
            raise
        # new code that does not even start: reset now, the next boot counts against the trial
        sys.print_exception(e)
        machine.reset()


if __name__ == "__main__":
    boot()
