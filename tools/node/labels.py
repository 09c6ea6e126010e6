"""A printable sheet of claim-code labels: each label the code as a QR code and as text.

SVG (one sheet, as many rows as needed) or PDF (A4 pages, through fleet/pdf.py, the one PDF
writer, shared with the street sign).
Pure functions of the labels; the caller writes the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from fleet.pdf import PT_PER_MM, Canvas, document, qr_runs

__all__ = ["COLUMNS", "LABEL_H_MM", "LABEL_W_MM", "ROWS", "Label", "pdf", "qr_runs", "svg"]

# a common A4 label sheet: 3 x 7 labels of 70 x 42.3 mm
COLUMNS, ROWS = 3, 7
LABEL_W_MM, LABEL_H_MM = 70.0, 42.3
PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
_TOP_MM = (PAGE_H_MM - ROWS * LABEL_H_MM) / 2
_PAD_MM = 4.0
_QR_MM = 25.0  # the QR (version 2: 25 modules of 1 mm); its quiet zone is the padding


@dataclass(frozen=True)
class Label:
    code: str  # what the QR holds and what is printed under it
    caption: tuple[str, ...] = ()  # short lines beside the QR: zone, profile, ...


def _origin(i: int) -> tuple[float, float]:
    """Top-left corner (mm, from the sheet's top-left) of the i-th label on its page."""
    i %= COLUMNS * ROWS
    return (i % COLUMNS) * LABEL_W_MM, _TOP_MM + (i // COLUMNS) * LABEL_H_MM


def _code_font_mm(code: str) -> float:
    # Courier's glyphs are 0.6 em wide: the code fits the label's width between the paddings
    return min(3.5, (LABEL_W_MM - 2 * _PAD_MM) / (0.6 * max(len(code), 1)))


# -- SVG ------------------------------------------------------------------------------------


def svg(labels: Sequence[Label]) -> str:
    """One sheet 210 mm wide with every label (rows added as needed), sizes in millimetres."""
    rows = max(1, -(-len(labels) // COLUMNS))
    height = max(PAGE_H_MM, 2 * _TOP_MM + rows * LABEL_H_MM)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W_MM}mm" height="{height:.1f}mm" '
        f'viewBox="0 0 {PAGE_W_MM} {height:.1f}">\n'
        "<title>Territoire claim-code labels</title>\n"
        f'<rect width="{PAGE_W_MM}" height="{height:.1f}" fill="#fff"/>\n'
    ]
    for i, label in enumerate(labels):
        x, y = (i % COLUMNS) * LABEL_W_MM, _TOP_MM + (i // COLUMNS) * LABEL_H_MM
        size, runs = qr_runs(label.code)
        m = _QR_MM / size
        path = "".join(f"M{c} {r}h{n}v1h-{n}z" for r, c, n in runs)
        parts.append(
            f'<g class="label" transform="translate({x:.2f} {y:.2f})">\n'
            f'<rect width="{LABEL_W_MM}" height="{LABEL_H_MM}" fill="none" stroke="#bbb" '
            'stroke-width="0.2" stroke-dasharray="1 1"/>\n'
            f'<path class="qr" transform="translate({_PAD_MM} {_PAD_MM}) scale({m:.5f})" '
            f'd="{path}" fill="#000" shape-rendering="crispEdges"/>\n'
        )
        for j, line in enumerate(label.caption[:4]):
            parts.append(
                f'<text x="{_PAD_MM + _QR_MM + 3}" y="{_PAD_MM + 4 + j * 5}" '
                f'font-family="Helvetica, Arial, sans-serif" font-size="3.2">'
                f"{escape(line[:24])}</text>\n"
            )
        parts.append(
            f'<text class="code" x="{LABEL_W_MM / 2}" y="{LABEL_H_MM - _PAD_MM - 1}" '
            f'text-anchor="middle" font-family="Courier, monospace" font-weight="bold" '
            f'font-size="{_code_font_mm(label.code):.2f}">{escape(label.code)}</text>\n</g>\n'
        )
    parts.append("</svg>\n")
    return "".join(parts)


# -- PDF ------------------------------------------------------------------------------------


def _page(labels: Sequence[Label], first: int) -> Canvas:
    page = Canvas(PAGE_W_MM, PAGE_H_MM)
    for i, label in enumerate(labels):
        x0, y0 = _origin(first + i)
        page.rect(x0, y0, LABEL_W_MM, LABEL_H_MM, dashed=True)
        qx, qy = x0 + _PAD_MM, y0 + _PAD_MM
        page.qr(label.code, qx, qy, _QR_MM)
        for j, line in enumerate(label.caption[:4]):
            page.text(line[:24], qx + _QR_MM + 3, qy + 4 + j * 5, 9)
        size_mm = _code_font_mm(label.code)
        width = 0.6 * size_mm * len(label.code)  # Courier: 0.6 em a glyph
        page.text(label.code, x0 + (LABEL_W_MM - width) / 2, y0 + LABEL_H_MM - _PAD_MM - 1,
                  size_mm * PT_PER_MM, font="F1")
    return page


def pdf(labels: Sequence[Label]) -> bytes:
    """A4 pages of 21 labels (Courier Bold for the code, Helvetica for captions)."""
    per_page = COLUMNS * ROWS
    return document([_page(labels[first : first + per_page], first)
                     for first in range(0, max(len(labels), 1), per_page)])
