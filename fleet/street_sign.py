"""The sign for the street: an A5 page, in French, for a node's installation site (what is
measured, why, by whom, what is never collected, how long it is kept, and a QR code to the
register), in the spirit of the DTPR signs. Pure: a function of the profile's texts, the
zone, the register link and the date; the same inputs give the same bytes.

The QR leads to the register filtered to the sign's group (its zone and type), never to the
node's own entry: see docs/privacy.md, "The street sign".
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlmodel import Session

from fleet.models import Node, Profile, Zone
from fleet.pdf import Canvas, document, text_width_mm
from protocol.metrics import METRICS

__all__ = ["A5_MM", "SignFacts", "never_collected", "node_sign", "register_link", "sign_headers",
           "sign_pdf", "wrap"]

A5_MM = (148.0, 210.0)
_MARGIN = 12.0
_QR_MM = 38.0
_ELLIPSIS = "…"
_PEOPLE = "people_n"


@dataclass(frozen=True)
class SignFacts:
    """What the sign says, from the node's profile and zone."""

    name: str  # the profile's name: the kind of sensor
    zone_name: str
    measures: tuple[str, ...]  # metric keys
    purpose: str
    legal_basis: str
    operator: str
    contact: str
    personal_data: bool
    personal_data_processing: str
    retention: str

    @classmethod
    def of(cls, profile: Profile, zone: Zone) -> SignFacts:
        return cls(profile.name, zone.name, tuple(profile.measures), profile.purpose,
                   profile.legal_basis, profile.operator_name, profile.contact,
                   profile.personal_data, profile.personal_data_processing, profile.retention)


def register_link(base_url: str, zone_id: str, profile_id: str) -> str:
    """The register filtered to the sign's group: every sensor of this type in this zone."""
    query = urlencode([("zone", zone_id), ("profile", profile_id)])
    return f"{base_url.rstrip('/')}/register?{query}"


def never_collected(facts: SignFacts) -> list[str]:
    """What the sensor never collects, in French, from the profile's personal-data fields."""
    said: list[str] = []
    if _PEOPLE in facts.measures:
        said.append("Aucun identifiant n'est conservé : les identifiants des appareils sont "
                    "hachés avec un sel oublié à chaque fenêtre de comptage ; seul un nombre de "
                    "passages, bruité, est publié.")
    if facts.personal_data:
        own = facts.personal_data_processing.strip()
        if own:
            said.append(own if own.endswith((".", "!", "?", "…")) else own + ".")
    else:
        said.append("Aucune donnée personnelle : ni image, ni enregistrement sonore, ni "
                    "identifiant d'appareil.")
    said.append("Jamais la position exacte du capteur dans les données publiées : seulement "
                "son quartier.")
    return said


def wrap(text: str, width_mm: float, size_pt: float, max_lines: int,
         bold: bool = False) -> list[str]:
    """``text`` in lines at most ``width_mm`` wide, at most ``max_lines`` of them; what does
    not fit is cut and the last line ends with an ellipsis. A word wider than a line is cut."""
    lines: list[str] = []
    current = ""
    words = text.split()
    for i, word in enumerate(words):
        candidate = f"{current} {word}" if current else word
        if text_width_mm(candidate, size_pt, bold) <= width_mm:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width_mm(current, size_pt, bold) > width_mm:  # a word wider than a line
            cut = len(current) - 1
            while cut > 1 and text_width_mm(current[:cut], size_pt, bold) > width_mm:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
        if len(lines) >= max_lines:
            return _ellipsis(lines[:max_lines], width_mm, size_pt, bold)
        if i == len(words) - 1:
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        return _ellipsis(lines[:max_lines], width_mm, size_pt, bold)
    return lines


def _ellipsis(lines: list[str], width_mm: float, size_pt: float, bold: bool) -> list[str]:
    last = lines[-1]
    while last and text_width_mm(last + _ELLIPSIS, size_pt, bold) > width_mm:
        last = last[:-1]
    lines[-1] = last.rstrip(" ,;:.") + _ELLIPSIS
    return lines


class _Column:
    """Text flowing down the page from ``y`` (mm from the top)."""

    def __init__(self, page: Canvas, y: float, width: float) -> None:
        self.page, self.y, self.width = page, y, width

    def lines(self, text: str, size_pt: float, max_lines: int, *, bold: bool = False,
              gap: float = 1.0) -> None:
        step = size_pt * 0.3528 * 1.25  # points to mm, 125 % leading
        for line in wrap(text, self.width, size_pt, max_lines, bold):
            self.y += step
            self.page.text(line, _MARGIN, self.y, size_pt, font="F3" if bold else "F2")
        self.y += gap

    def section(self, title: str, body: str, max_lines: int) -> None:
        self.lines(title, 10.5, 1, bold=True, gap=0.3)
        self.lines(body, 9.5, max_lines, gap=2.6)


def _measures_fr(keys: tuple[str, ...]) -> str:
    return ", ".join(METRICS[k].label_fr if k in METRICS else k for k in keys) + "."


def sign_pdf(facts: SignFacts, link: str, printed_on: str) -> bytes:
    """The A5 sign; ``printed_on`` (an ISO date) is the only thing that changes from one
    printing to the next."""
    w, h = A5_MM
    page = Canvas(w, h)
    width = w - 2 * _MARGIN
    page.rect(6, 6, w - 12, h - 12, grey=0.2)
    col = _Column(page, _MARGIN, width)
    col.lines("Un capteur de la Ville mesure ici", 11, 1, gap=0.5)
    col.lines(facts.name, 18, 2, bold=True, gap=0.5)
    col.lines(f"Quartier : {facts.zone_name}", 11, 1, gap=4)
    col.section("Ce qui est mesuré", _measures_fr(facts.measures), 3)
    col.section("Pourquoi", facts.purpose, 4)
    col.section("Par qui", f"{facts.operator}. Base légale : {facts.legal_basis}", 2)
    col.section("Ce qui n'est jamais collecté", " ".join(never_collected(facts)), 4)
    col.section("Combien de temps", facts.retention, 2)
    # the QR and its words at the foot of the page, whatever the texts above took
    qr_top = h - _MARGIN - _QR_MM - 8
    page.qr(link, _MARGIN, qr_top, _QR_MM)
    beside = _MARGIN + _QR_MM + 5
    right = _Column(page, qr_top, w - _MARGIN - beside)
    for text, size, lines, bold in (
        ("Une question, un problème ?", 11, 1, True),
        ("Scannez le code : le registre public des capteurs de ce quartier, et un "
         "formulaire pour écrire à l'exploitant, sans compte.", 9, 4, False),
        (f"Contact : {facts.contact}", 9, 2, False),
    ):
        for line in wrap(text, right.width, size, lines, bold):
            right.y += size * 0.3528 * 1.25
            page.text(line, beside, right.y, size, font="F3" if bold else "F2")
        right.y += 1.5
    for line in wrap(link, right.width, 7, 2):
        right.y += 7 * 0.3528 * 1.25
        page.text(line, beside, right.y, 7)
    page.text(f"Territoire, capteurs ouverts d'Angers Loire Métropole. Imprimé le {printed_on}.",
              _MARGIN, h - _MARGIN + 1, 7)
    return document([page], title=f"Capteur : {facts.name}")


def sign_headers(node_id: str) -> dict[str, str]:
    """The download's headers (the node id is a slug: safe in a file name)."""
    return {"Content-Disposition": f'attachment; filename="panneau-{node_id}.pdf"',
            "Cache-Control": "no-store"}


def node_sign(session: Session, node: Node, base_url: str, printed_on: str) -> bytes:
    """The sign of ``node``, its QR leading to ``base_url``'s register of its group."""
    profile = session.get(Profile, node.profile_id)
    zone = session.get(Zone, node.zone_id)
    if profile is None or zone is None:  # foreign keys: only a database edited by hand
        raise LookupError(f"node {node.id} has no profile or zone")
    return sign_pdf(SignFacts.of(profile, zone), register_link(base_url, zone.id, profile.id),
                    printed_on)
