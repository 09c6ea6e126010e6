"""A printable sheet of claim-code labels: each label the code as a QR code and as text.

SVG (one sheet, as many rows as needed) or PDF (A4 pages), both written here without a PDF
library: the PDF needs only rectangles and two of the standard fonts every reader has.
Pure functions of the labels; the caller writes the bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno

__all__ = ["COLUMNS", "LABEL_H_MM", "LABEL_W_MM", "ROWS", "Label", "pdf", "qr_runs", "svg"]

# a common A4 label sheet: 3 x 7 labels of 70 x 42.3 mm
COLUMNS, ROWS = 3, 7
LABEL_W_MM, LABEL_H_MM = 70.0, 42.3
PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
_TOP_MM = (PAGE_H_MM - ROWS * LABEL_H_MM) / 2
_PAD_MM = 4.0
_QR_MM = 25.0  # the QR (version 2: 25 modules of 1 mm); its quiet zone is the padding
_PT_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class Label:
    code: str  # what the QR holds and what is printed under it
    caption: tuple[str, ...] = ()  # short lines beside the QR: zone, profile, ...


def qr_runs(text: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR code of ``text`` (error correction M, as the fleet's own QR) as its size in
    modules and the dark runs ``(row, first column, length)``."""
    qr = segno.make(text, error="m")
    runs: list[tuple[int, int, int]] = []
    size = len(qr.matrix)
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < size:
            if row[x] & 1:
                start = x
                while x < size and row[x] & 1:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return size, runs


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


def _pdf_text(text: str) -> str:
    raw = text.encode("cp1252", "replace").decode("latin-1")  # WinAnsiEncoding
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_content(labels: Sequence[Label], first: int) -> bytes:
    ops: list[str] = []
    k = _PT_PER_MM
    page_h = PAGE_H_MM * k
    for i, label in enumerate(labels):
        x0, y0 = _origin(first + i)
        left, top = x0 * k, page_h - y0 * k  # PDF's origin is the page's bottom-left
        ops.append(f"0.75 G 0.5 w [2 2] 0 d {left:.2f} {top - LABEL_H_MM * k:.2f} "
                   f"{LABEL_W_MM * k:.2f} {LABEL_H_MM * k:.2f} re S [] 0 d 0 g")
        size, runs = qr_runs(label.code)
        m = _QR_MM * k / size
        qx, qy = left + _PAD_MM * k, top - _PAD_MM * k
        ops.extend(f"{qx + c * m:.3f} {qy - (r + 1) * m:.3f} {n * m:.3f} {m:.3f} re"
                   for r, c, n in runs)
        ops.append("f")
        for j, line in enumerate(label.caption[:4]):
            ops.append(f"BT /F2 9 Tf {qx + (_QR_MM + 3) * k:.2f} "
                       f"{top - (_PAD_MM + 4 + j * 5) * k:.2f} Td ({_pdf_text(line[:24])}) Tj ET")
        size_pt = _code_font_mm(label.code) * k
        width = 0.6 * size_pt * len(label.code)
        ops.append(f"BT /F1 {size_pt:.2f} Tf {left + (LABEL_W_MM * k - width) / 2:.2f} "
                   f"{top - (LABEL_H_MM - _PAD_MM - 1) * k:.2f} Td "
                   f"({_pdf_text(label.code)}) Tj ET")
    return "\n".join(ops).encode("latin-1")


def _chunks(labels: Sequence[Label]) -> Iterator[tuple[int, Sequence[Label]]]:
    per_page = COLUMNS * ROWS
    for first in range(0, max(len(labels), 1), per_page):
        yield first, labels[first : first + per_page]


def pdf(labels: Sequence[Label]) -> bytes:
    """A4 pages of 21 labels (PDF 1.4: Courier Bold for the code, Helvetica for captions)."""
    pages = list(_chunks(labels))
    # objects: 1 catalog, 2 page tree, 3-4 fonts, then a page and its content per page
    page_ids = [5 + 2 * n for n in range(len(pages))]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids)
        + b"] /Count %d >>" % len(pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    w, h = PAGE_W_MM * _PT_PER_MM, PAGE_H_MM * _PT_PER_MM
    for (first, chunk), page_id in zip(pages, page_ids, strict=True):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] " % (w, h)
            + b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (page_id + 1)
        )
        stream = zlib.compress(_page_content(chunk, first))
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
                       + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
