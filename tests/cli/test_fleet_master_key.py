"""`territoire fleet master-key`: a key the fleet accepts, in a new 0400 file, never replacing
an existing one."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from fleet.core.config import Settings

REPO = Path(__file__).resolve().parents[2]


def _master_key(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", "fleet", "master-key", "--out",
                           str(out)], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)


def test_a_master_key_is_32_random_bytes_the_fleet_accepts_in_a_0400_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.key", tmp_path / "b.key"
    assert _master_key(first).returncode == 0
    assert _master_key(second).returncode == 0
    assert stat.S_IMODE(first.stat().st_mode) == 0o400
    key = Settings(master_key_file=first).master_key_bytes()
    assert len(key) == 32
    assert key != Settings(master_key_file=second).master_key_bytes()


def test_an_existing_key_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "master.key"
    assert _master_key(out).returncode == 0
    before = out.read_bytes()
    again = _master_key(out)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"error: {out} exists: a master key is never overwritten"]
    assert out.read_bytes() == before


def test_an_unwritable_place_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _master_key(blocker / "master.key")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot create" in result.stderr
    assert "Traceback" not in result.stderr
