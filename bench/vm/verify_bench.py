# Run in the MicroPython VM by bench/ota.py: one manifest verification, RSA-3072 (the
# firmware's manifest.py) or Ed25519 (ed25519_verify.py), timed. With "load" it loads the code
# and the data but does not verify: bench/ota.py finds the smallest heap each run needs, and
# the difference is the verification's heap peak.
import binascii
import gc
import json
import sys
import time


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    scheme, verify = sys.argv[2], sys.argv[3] == "verify"
    with open(sys.argv[1][:-5] + ".bin", "rb") as f:
        data = f.read()
    if scheme == "rsa":
        import manifest

        keys = manifest.load_keys([case["rsa_key"]])
        now = case["now"]
        run = lambda: manifest.verify(data, keys, "emu-x64", "0.1.0", 0, now)[1] is None
    else:
        import ed25519_verify

        pub, sig = binascii.unhexlify(case["ed_pub"]), binascii.unhexlify(case["ed_sig"])
        body = data[: data.find(b"\n")]
        run = lambda: ed25519_verify.verify(pub, body, sig)
    del case
    gc.collect()
    if not verify:
        print("LOADED")
        return
    t = time.ticks_us()
    ok = run()
    print("VERIFIED", ok, time.ticks_diff(time.ticks_us(), t))


main()
