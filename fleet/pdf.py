"""The one PDF writer: pages of rectangles, QR codes and text in two of the standard fonts every
reader has (Courier Bold, Helvetica, Helvetica Bold), without a PDF library.

Used by the claim-code label sheets (tools/node/labels.py) and the street sign
(fleet/street_sign.py). Pure functions of values; deterministic (zlib is), so the same
content gives the same bytes. Coordinates are in millimetres from the page's top-left corner.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import segno

__all__ = ["FONTS", "PT_PER_MM", "Canvas", "document", "pdf_text", "qr_runs", "text_width_mm"]

PT_PER_MM = 72 / 25.4
# resource name -> base font; all WinAnsiEncoding
FONTS = {"F1": "Courier-Bold", "F2": "Helvetica", "F3": "Helvetica-Bold"}

# Helvetica's advance widths (per 1000 em) for printable ASCII, from its AFM; accented letters
# take their base letter's width (the text is folded by NFD below), anything else 556
_HELV = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 "
    "556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 "
    "833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 556 500 "
    "556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 500 500 500 "
    "334 260 334 584"
)
_HELV_W = [int(w) for w in _HELV.split()]


def _char_width(ch: str) -> int:
    base = unicodedata.normalize("NFD", ch)[:1] or ch
    code = ord(base)
    return _HELV_W[code - 32] if 32 <= code <= 126 else 556


def text_width_mm(text: str, size_pt: float, bold: bool = False) -> float:
    """The width of ``text`` in Helvetica (bold: about 6 % wider, rounded up to 10 %)."""
    em = sum(_char_width(c) for c in text) / 1000
    return em * size_pt * (1.1 if bold else 1.0) / PT_PER_MM


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


def pdf_text(text: str) -> str:
    """A PDF string literal's content in WinAnsiEncoding (unknown characters become ?)."""
    raw = text.encode("cp1252", "replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


@dataclass
class Canvas:
    """One page's drawing operations; ``height_mm`` turns top-left millimetres into PDF's
    bottom-left points."""

    width_mm: float
    height_mm: float
    ops: list[str] = field(default_factory=list)

    def _y(self, y_mm: float) -> float:
        return (self.height_mm - y_mm) * PT_PER_MM

    def rect(self, x: float, y: float, w: float, h: float, *, dashed: bool = False,
             grey: float = 0.75) -> None:
        """An outline (0.5 pt), ``(x, y)`` its top-left corner."""
        k = PT_PER_MM
        dash = "[2 2] 0 d " if dashed else ""
        self.ops.append(f"{grey:g} G 0.5 w {dash}{x * k:.2f} {self._y(y + h):.2f} "
                        f"{w * k:.2f} {h * k:.2f} re S [] 0 d 0 g")

    def qr(self, text: str, x: float, y: float, size_mm: float) -> None:
        """The QR code of ``text``, ``size_mm`` square (its quiet zone is the caller's margin)."""
        modules, runs = qr_runs(text)
        m = size_mm * PT_PER_MM / modules
        qx, qy = x * PT_PER_MM, self._y(y)
        self.ops.extend(f"{qx + c * m:.3f} {qy - (r + 1) * m:.3f} {n * m:.3f} {m:.3f} re"
                        for r, c, n in runs)
        self.ops.append("f")

    def text(self, text: str, x: float, baseline: float, size_pt: float,
             font: str = "F2") -> None:
        """One line of text, its baseline at ``baseline`` mm from the top."""
        self.ops.append(f"BT /{font} {size_pt:.2f} Tf {x * PT_PER_MM:.2f} "
                        f"{self._y(baseline):.2f} Td ({pdf_text(text)}) Tj ET")

    def content(self) -> bytes:
        return "\n".join(self.ops).encode("latin-1")


def document(pages: Sequence[Canvas], title: str = "") -> bytes:
    """A PDF 1.4 file of ``pages`` (each its own MediaBox), the fonts of :data:`FONTS`."""
    fonts = list(FONTS.items())
    first_page = 3 + len(fonts)
    page_ids = [first_page + 2 * n for n in range(len(pages))]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids)
        + b"] /Count %d >>" % len(pages),
    ]
    objects += [(f"<< /Type /Font /Subtype /Type1 /BaseFont /{base} "
                 "/Encoding /WinAnsiEncoding >>").encode() for _, base in fonts]
    font_refs = " ".join(f"/{name} {3 + i} 0 R" for i, (name, _) in enumerate(fonts)).encode()
    for canvas, page_id in zip(pages, page_ids, strict=True):
        w, h = canvas.width_mm * PT_PER_MM, canvas.height_mm * PT_PER_MM
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] " % (w, h)
            + b"/Resources << /Font << " + font_refs + b" >> >> /Contents %d 0 R >>"
            % (page_id + 1)
        )
        stream = zlib.compress(canvas.content())
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
                       + stream + b"\nendstream")
    info = None
    if title:
        objects.append(f"<< /Title ({pdf_text(title)}) /Producer (Territoire) >>".encode(
            "latin-1"))
        info = len(objects)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    info_ref = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, info_ref, xref)
    return bytes(out)
