"""A small emulated territory: nodes of the standard kinds (``tools/node/kinds.py``) laid out
over zones, and the fleet's sensor profile of each kind.

Used by ``territoire demo`` and by the hardware-in-the-loop tests to lay out emulated ESP32
nodes over a territory's zones (by default Angers' quartiers, ``data/zones/``) with a realistic
mix of sensor kinds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.zones import Zone, load_zones_file
from tools.node.kinds import KINDS, NodeKind

__all__ = ["DEMO_ZONES_FILE", "KINDS", "NodeKind", "NodePlan", "plan_nodes", "zones",
           "zones_file"]

# the demo's zones, in the repository (approximate boundaries: the file says how they were made)
REPO = Path(__file__).resolve().parents[2]
DEMO_ZONES_FILE = REPO / "data" / "zones" / "angers-quartiers.geojson"


# the demo's mix, zone by zone: enough air-quality and weather nodes per quartier for their
# cells to pass small-count suppression (3 distinct nodes), plus one of each other kind
MIX = ("air", "air", "air", "weather", "noise", "people", "bin", "soil")


_PURPOSE = {
    "weather": ("Îlots de chaleur et météo des quartiers", False, ""),
    "air": ("Qualité de l'air (particules fines) pour la santé publique", False, ""),
    "noise": ("Niveaux sonores (LAeq) pour le plan de prévention du bruit", False,
              "Le son est réduit sur le capteur en un niveau en décibels ; aucun son n'est "
              "enregistré ni transmis."),
    "people": ("Fréquentation des espaces publics", True,
               "Identifiants Bluetooth hachés avec un sel aléatoire gardé en mémoire vive et "
               "détruit à chaque fenêtre de comptage ; seul le nombre d'appareils distincts "
               "quitte le capteur ; rien n'est écrit en mémoire flash."),
    "bin": ("Remplissage des conteneurs pour optimiser la collecte", False, ""),
    "soil": ("Humidité du sol pour l'arrosage des parcs", False, ""),
}


def profile_for(kind: str) -> dict[str, Any]:
    """The fleet's sensor profile (register entry) of a node kind."""
    purpose, personal, how = _PURPOSE[kind]
    measures = sorted({m for s in KINDS[kind].sensors for m in _SENSOR_METRICS[s["kind"]]})
    return {
        "id": kind, "name": f"Capteur {kind}", "measures": measures, "purpose": purpose,
        "legal_basis": "Mission d'intérêt public (RGPD art. 6.1.e)",
        "operator_name": "Angers Loire Métropole", "contact": "capteurs@angers.example",
        "personal_data": personal, "personal_data_processing": how,
        "retention": "Relevés bruts 72 h sur la passerelle ; agrégats anonymes publiés",
    }


_SENSOR_METRICS = {
    "bme280": ("temp_c", "rh_pct", "p_hpa"), "pms5003": ("pm25_ugm3", "pm10_ugm3"),
    "mic": ("laeq_db", "lamax_db"), "people": ("people_n",), "bin": ("fill_pct",),
    "soil": ("soil_pct",), "battery": (),
}


@dataclass(frozen=True)
class NodePlan:
    node_id: str
    kind: NodeKind
    zone: str
    seed: int

    def board(self, speed: float) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "seed": self.seed,
            "speed": speed,
            "zone": self.zone,
            "rssi": -55 - self.seed % 30,
            **self.kind.board,
        }


def zones_file() -> Path:
    """The territory's zones file: ``TERRITOIRE_ZONES_FILE`` when set (an operator's own
    zones), else the demo's."""
    return Path(os.environ.get("TERRITOIRE_ZONES_FILE") or DEMO_ZONES_FILE)


def zones(path: Path | None = None) -> list[Zone]:
    """The zones of ``path`` (default :func:`zones_file`); a bad file is a ValueError."""
    return load_zones_file(path or zones_file())


def plan_nodes(n: int, *, kinds: tuple[str, ...] = MIX, prefix: str = "ang",
               zones_path: Path | None = None) -> list[NodePlan]:
    """n nodes filling the zones one after the other with ``len(kinds)`` nodes each, the
    kinds in turn (a zone gets the whole mix before the next one starts)."""
    ids = [z.id for z in zones(zones_path)]
    per_zone = len(kinds)
    return [
        NodePlan(
            f"{prefix}-{i + 1:04d}",
            KINDS[kinds[i % per_zone]],
            ids[(i // per_zone) % len(ids)],
            seed=1000 + i,
        )
        for i in range(n)
    ]
