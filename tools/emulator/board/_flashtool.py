# Host-side file transfer into and out of a node's flash image (run by
# tools/emulator/node.py while the node is off, like mpremote on a board):
#   micropython _flashtool.py put IMG STAGING   copy a host tree into the flash
#   micropython _flashtool.py get IMG PATH OUT  copy one flash file to the host
#   micropython _flashtool.py ls IMG            print "size path" for every file
# Errors: "ERR errno message" on stdout, exit code 2.
import os
import sys

import _flash

_MNT = "/flash"


def _mkdirs(path):
    p = ""
    for part in path.split("/")[:-1]:
        p += "/" + part if p else part
        try:
            os.mkdir(_MNT + "/" + p)
        except OSError as e:
            if e.errno != 17:  # EEXIST
                raise


def _copy(src, dst, buf):
    with open(src, "rb") as i, open(dst, "wb") as o:
        while True:
            n = i.readinto(buf)
            if not n:
                break
            o.write(memoryview(buf)[:n])


def _walk(root, rel, out):
    for name, kind, *_ in os.ilistdir(root + "/" + rel if rel else root):
        r = rel + "/" + name if rel else name
        if kind == 0x4000:
            _walk(root, r, out)
        else:
            out.append(r)


def main(argv):
    cmd, img = argv[1], argv[2]
    _flash.mount(img, _MNT, fmt=False)
    buf = bytearray(4096)
    if cmd == "put":
        files = []
        _walk(argv[3], "", files)
        for r in files:
            _mkdirs(r)
            _copy(argv[3] + "/" + r, _MNT + "/" + r, buf)
        print("OK", len(files))
    elif cmd == "get":
        _copy(_MNT + "/" + argv[3].lstrip("/"), argv[4], buf)
        print("OK")
    elif cmd == "ls":
        files = []
        _walk(_MNT, "", files)
        for r in files:
            print(os.stat(_MNT + "/" + r)[6], r)
        print("OK", len(files))
    os.umount(_MNT)


try:
    main(sys.argv)
except OSError as e:
    print("ERR", e.errno, e)
    sys.exit(2)
