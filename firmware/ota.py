# Over-the-air update, node side (docs/ota.md): on an offer, fetch and verify the signed
# manifest, write the release into the inactive slot file by file (only files whose SHA-256
# differs from the running slot's travel; the others are copied locally), check every hash,
# then set the trial and reset into it. Each file is written to "<path>.part" and renamed once
# its hash is right, so a partial file never counts; a download resumes from the .part's size
# after a link drop or a reboot. Nothing here changes what the loader runs until set_trial().
# I/O is passed in: fetch(h, o, n) -> bytes or None, report(ver, st, why), reset().
# RAM: about 4 KB once imported; one 512-byte buffer while hashing or copying.
import gc
import os

import manifest
import slots
import store
from micropython import const

CHUNK = const(512)
_SYNC_EVERY = const(4)  # chunks between flushes: a power cut loses at most this much


def _exists(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return None


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass  # already gone: what we wanted


def _walk(top, prefix=""):
    """Relative paths of every file under top (one level of directories, like a slot)."""
    out = []
    try:
        entries = list(os.ilistdir(top))
    except OSError:
        return out
    for e in entries:
        rel = prefix + e[0]
        if e[1] == 0x4000:
            out.extend(_walk(top + "/" + e[0], rel + "/"))
        else:
            out.append(rel)
    return out


class Updater:
    def __init__(self, cfg, fetch, report, reset, now, running_version, mem=None, refused=None):
        self.keys = manifest.load_keys(cfg["release_keys"])
        self.hw = cfg["hw"]
        self.fetch = fetch
        self.report = report
        self.reset = reset
        self.now = now
        self.running = running_version
        self.mem = mem or (lambda: 0)
        self.buf = bytearray(CHUNK)
        # manifest digest -> (version, reason): answered again, not fetched again; the caller
        # keeps it when it drops this object (and its modules) between offers to save RAM
        self.refused = {} if refused is None else refused
        self.stats = {"fetched": 0, "copied": 0, "bad_chunks": 0}

    async def offer(self, ver, mh, ml):
        """Handle one offer; returns the state reported (or None when it stopped early, e.g. the
        link dropped: the next offer resumes where this one stopped)."""
        st = slots.load()
        if st["tr"]:
            return None  # on trial: the loader and the app decide this one first
        if st["ev"] == "rolled_back" and st["ev_mh"] == mh:
            await self.report(st["ev_v"] or ver, "rolled_back", "trial_failed")
            return "rolled_back"
        if mh in self.refused:
            v, why = self.refused[mh]
            await self.report(v, "refused", why)
            return "refused"
        if ver == self.running and st["ev_mh"] == mh:
            await self.report(ver, "confirmed", "")
            return "confirmed"
        if not 0 < ml <= manifest.MAX_BYTES:
            return await self._refuse(mh, ver, "too_large")
        if not self.now():
            print("ota: time unknown, offer left for later")
            return None
        slot = slots.other(slots.current(st))
        store.makedirs(slot)
        mpath = slot + "/manifest"
        if manifest.digest_file(mpath, self.buf) != mh:
            got = await self._download(mh, ml, mpath)
            if got != "ok":
                return None if got is None else await self._refuse(mh, ver, got)
        # one block of the exact size: f.read() would grow its buffer step by step
        data = bytearray(_exists(mpath) or 0)
        with open(mpath, "rb") as f:
            f.readinto(data)
        m, why = manifest.verify(data, self.keys, self.hw, self.running, st["sv"], self.now())
        del data
        self.mem()
        if why:
            _remove(mpath)
            return await self._refuse(mh, m["ver"] if m else ver, why)
        ver, sv, files = m["ver"], m["sv"], m["files"]
        del m
        gc.collect()
        await self.report(ver, "downloading", "")
        self._clean(slot, files)
        cur = slots.current(st)
        for path, size, h in files:
            dst = slot + "/" + path
            if _exists(dst) == size and manifest.digest_file(dst, self.buf) == h:
                continue  # done before a reboot or a link drop
            self._dirs(slot, path)
            if _exists(cur + "/" + path) == size and manifest.digest_file(cur + "/" + path,
                                                                          self.buf) == h:
                self._copy(cur + "/" + path, dst + ".part")
                self.stats["copied"] += size
            got = await self._download(h, size, dst)
            if got != "ok":
                return None if got is None else await self._refuse(mh, ver, got)
            self.mem()
        # every file once more, as the loader will find them
        for path, size, h in files:
            if manifest.digest_file(slot + "/" + path, self.buf) != h:
                _remove(slot + "/" + path)
                return await self._refuse(mh, ver, "bad_hash")
        slots.set_trial(st, slot, ver, sv, mh)
        await self.report(ver, "switching", "")
        print("ota: switching to slot", slot, "version", ver)
        self.reset()
        return "switching"

    async def _refuse(self, mh, ver, why):
        self.refused[mh] = (ver, why)
        print("ota: refused", ver, why)
        await self.report(ver, "refused", why)
        return "refused"

    def _clean(self, slot, files):
        """The inactive slot keeps only the release's files (and their .part)."""
        keep = {"manifest"}
        for f in files:
            keep.add(f[0])
            keep.add(f[0] + ".part")
        for rel in _walk(slot):
            if rel not in keep:
                _remove(slot + "/" + rel)

    def _dirs(self, slot, path):
        if "/" in path:
            store.makedirs(slot + "/" + path.rpartition("/")[0])

    def _copy(self, src, dst):
        mv = memoryview(self.buf)
        with open(src, "rb") as fi, open(dst, "wb") as fo:
            while True:
                n = fi.readinto(mv)
                if not n:
                    break
                fo.write(mv[:n])

    async def _download(self, h, size, dst):
        """Fetch object h into dst via dst.part, resuming; "ok", a refusal reason, or None
        when the link failed (the .part is kept for the next attempt)."""
        part = dst + ".part"
        have = _exists(part) or 0
        if have > size:
            _remove(part)
            have = 0
        n = 0
        with open(part, "ab") as f:
            while have < size:
                data = await self.fetch(h, have, min(CHUNK, size - have))
                if data is None:
                    return None
                f.write(data)
                have += len(data)
                self.stats["fetched"] += len(data)
                n += 1
                if n % _SYNC_EVERY == 0:
                    f.flush()
        if manifest.digest_file(part, self.buf) != h:
            _remove(part)
            return "bad_hash"
        os.rename(part, dst)
        return "ok"
