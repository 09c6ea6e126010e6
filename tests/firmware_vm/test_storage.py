# Counter, durable values and the flash outbox, in the VM (cwd is a scratch directory).
import os

import counter
import outbox
import store


def test_counter_never_reuses_a_value_across_restarts():
    c = counter.Counter(block=4)
    used = [c.next() for _ in range(6)]
    # a power cut now: a new Counter object is what the next boot sees
    c2 = counter.Counter(block=4)
    nxt = c2.next()
    assert nxt > max(used), (used, nxt)
    assert used == [1, 2, 3, 4, 5, 6]


def test_counter_writes_flash_once_per_block():
    c = counter.Counter(block=256)
    writes = 0
    before = store.read_file("ctr.a"), store.read_file("ctr.b")
    for _ in range(300):
        c.next()
        now = store.read_file("ctr.a"), store.read_file("ctr.b")
        if now != before:
            writes += 1
            before = now
    assert writes == 2, writes


def test_corrupt_copy_is_ignored_and_the_valid_one_used():
    store.save_int("v", 10)
    store.save_int("v", 20)
    with open("v.b", "wb") as f:
        f.write(b"999 deadbeef\n")
    assert store.load_int("v") in (10, 20)
    with open("v.a", "wb") as f:
        f.write(b"garbage")
    with open("v.b", "wb") as f:
        f.write(b"")
    assert store.load_int("v") is None


def test_boot_count_increments():
    assert counter.bump_boot() == 1
    assert counter.bump_boot() == 2


def _fill(ob, first, n):
    for c in range(first, first + n):
        ob.append(c, 1, c * 10, 1764259200 + c, 3.7, [("temp_c", 20.5), ("people_n", c)])


def test_outbox_drains_oldest_first_and_survives_reboot():
    ob = outbox.Outbox(per_segment=4, max_segments=10)
    _fill(ob, 1, 10)
    assert len(ob) == 10
    first = ob.pending(3)
    assert [r[1] for r in first] == [1, 2, 3]
    boot, c, t, up, bat, values = first[0]
    assert (boot, t, up) == (1, 1764259201, 10)
    assert abs(bat - 3.7) < 1e-5 and values[1] == ("people_n", 1.0), (bat, values)
    ob2 = outbox.Outbox(per_segment=4, max_segments=10)  # reboot
    assert [r[1] for r in ob2.pending(20)] == list(range(1, 11))


def test_outbox_releases_only_acknowledged_readings():
    ob = outbox.Outbox(per_segment=4, max_segments=10)
    _fill(ob, 1, 10)
    for c in (1, 2, 4, 5, 6, 7, 8):
        ob.ack(c)
    assert [r[1] for r in ob.pending(20)] == [3, 9, 10]
    assert len(ob) == 3
    # segment 1 (1-4) holds unacked 3: kept; nothing was deleted before it
    ob.ack(3)
    segs = sorted(os.listdir("ob"))
    assert "00000001" not in segs and "00000002" not in segs, segs
    ob2 = outbox.Outbox(per_segment=4, max_segments=10)
    assert [r[1] for r in ob2.pending(20)] == [9, 10]


def test_outbox_lets_a_fully_acknowledged_tail_go_before_a_deep_sleep():
    # a battery node measures once per boot: without this, each wake (a new boot, with the
    # acknowledgements forgotten) would send every earlier reading of the tail segment again
    ob = outbox.Outbox(per_segment=64, max_segments=10)
    _fill(ob, 1, 3)
    for c in (1, 2):
        ob.ack(c)
    ob.drop_acknowledged()
    assert [r[1] for r in outbox.Outbox(per_segment=64, max_segments=10).pending(20)] == [1, 2, 3]
    ob.ack(3)
    ob.drop_acknowledged()
    assert os.listdir("ob") == [] or os.listdir("ob") == ["evicted.a"]
    assert len(ob) == 0
    woken = outbox.Outbox(per_segment=64, max_segments=10)
    assert woken.pending(20) == []
    _fill(woken, 4, 1)  # the next wake's reading starts a new segment
    assert [r[1] for r in woken.pending(20)] == [4]


def test_outbox_evicts_oldest_when_full_and_counts_it():
    ob = outbox.Outbox(per_segment=4, max_segments=3)
    _fill(ob, 1, 14)
    left = [r[1] for r in ob.pending(50)]
    assert left[0] > 1 and left[-1] == 14, left
    assert ob.evicted == 14 - len(left), (ob.evicted, left)
    assert outbox.Outbox(per_segment=4, max_segments=3).evicted == ob.evicted


def test_outbox_skips_a_corrupted_record():
    ob = outbox.Outbox(per_segment=8, max_segments=3)
    _fill(ob, 1, 3)
    with open("ob/00000001", "r+b") as f:
        f.seek(64 + 30)
        f.write(b"\x00\x01\x02")
    assert [r[1] for r in outbox.Outbox(per_segment=8, max_segments=3).pending(10)] == [1, 3]


def test_outbox_does_not_resend_acknowledged_readings_after_a_reboot():
    # a reset (MemoryError, watchdog, power cut) used to forget every acknowledgement: the
    # whole tail segment went out again at each boot
    ob = outbox.Outbox(per_segment=64, max_segments=10)
    _fill(ob, 1, 6)
    for c in (1, 2, 3, 5):
        ob.ack(c)
    ob.flush_acks()  # what the node does after each ack message
    rebooted = outbox.Outbox(per_segment=64, max_segments=10)
    # 5 was acknowledged out of order (after the gap at 4): resent, which the gateway allows
    assert [r[1] for r in rebooted.pending(20)] == [4, 5, 6]
    assert len(rebooted) == 3
    for c in (4, 5, 6):
        rebooted.ack(c)
    rebooted.flush_acks()
    again = outbox.Outbox(per_segment=64, max_segments=10)
    assert again.pending(20) == [] and len(again) == 0
    _fill(again, 7, 2)
    assert [r[1] for r in again.pending(20)] == [7, 8] and len(again) == 2


def test_outbox_ack_floor_spans_segments_and_never_hides_a_new_reading():
    ob = outbox.Outbox(per_segment=4, max_segments=10)
    _fill(ob, 1, 10)
    for c in range(1, 7):
        ob.ack(c)
    ob.flush_acks()
    rebooted = outbox.Outbox(per_segment=4, max_segments=10)
    assert [r[1] for r in rebooted.pending(20)] == [7, 8, 9, 10] and len(rebooted) == 4
    # a counter below the saved floor (the counter's files lost, the outbox's kept): the
    # reading is kept and sent, never taken for acknowledged
    _fill(rebooted, 3, 1)
    assert 3 in [r[1] for r in outbox.Outbox(per_segment=4, max_segments=10).pending(20)]


def test_outbox_without_flush_resends_after_a_reboot_and_loses_nothing():
    ob = outbox.Outbox(per_segment=64, max_segments=10)
    _fill(ob, 1, 3)
    ob.ack(1)
    assert [r[1] for r in outbox.Outbox(per_segment=64, max_segments=10).pending(20)] == [1, 2, 3]
