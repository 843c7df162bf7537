"""Draw LocalLens's original icon (a six-blade lens aperture) into assets/icons/ as PNG, ICO and ICNS.

Run `python installer/make_icon.py` to regenerate; the outputs are committed so a build never needs it.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "icons"
SIZE = 1024  # master size; smaller sizes are downscaled from it
BLADES = 6
RING = (28, 44, 74, 255)        # dark navy lens barrel
GLASS = (46, 140, 220, 255)     # blue glass
BLADE_COLORS = [(236, 242, 250, 255), (206, 220, 238, 255)]
HOLE = (18, 28, 48, 255)


def draw_master(size: int = SIZE) -> Image.Image:
    """The icon at `size` px: a barrel ring, shaded aperture blades and a small bright opening."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = size / 2
    r_outer, r_inner = size * 0.47, size * 0.40
    d.ellipse([c - r_outer, c - r_outer, c + r_outer, c + r_outer], fill=RING)
    d.ellipse([c - r_inner, c - r_inner, c + r_inner, c + r_inner], fill=GLASS)
    # Each blade is a quadrilateral from the rim towards a hexagonal opening, rotated around the centre.
    r_hole = size * 0.13
    for i in range(BLADES):
        a0 = 2 * math.pi * i / BLADES
        a1 = a0 + 2 * math.pi / BLADES
        hole_a = (r_hole * math.cos(a0), r_hole * math.sin(a0))
        hole_b = (r_hole * math.cos(a1), r_hole * math.sin(a1))
        rim_a = (r_inner * math.cos(a0 + 0.55), r_inner * math.sin(a0 + 0.55))
        rim_b = (r_inner * math.cos(a1 + 0.55), r_inner * math.sin(a1 + 0.55))
        pts = [(c + x, c + y) for x, y in (hole_a, rim_a, rim_b, hole_b)]
        d.polygon(pts, fill=BLADE_COLORS[i % 2], outline=RING, width=max(1, size // 128))
    hexagon = [(c + r_hole * math.cos(2 * math.pi * i / BLADES), c + r_hole * math.sin(2 * math.pi * i / BLADES))
               for i in range(BLADES)]
    d.polygon(hexagon, fill=HOLE)
    # Mask off blade corners that poke past the glass, then redraw the barrel ring over them.
    circle = Image.new("L", (size, size), 0)
    ImageDraw.Draw(circle).ellipse([c - r_outer, c - r_outer, c + r_outer, c + r_outer], fill=255)
    img.putalpha(circle)
    ring = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    rd = ImageDraw.Draw(ring)
    rd.ellipse([c - r_outer, c - r_outer, c + r_outer, c + r_outer], outline=RING, width=int(r_outer - r_inner))
    img.alpha_composite(ring)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    master = draw_master()
    master.resize((256, 256), Image.Resampling.LANCZOS).save(OUT / "locallens.png", optimize=True)
    master.resize((512, 512), Image.Resampling.LANCZOS).save(OUT / "locallens-512.png", optimize=True)
    master.save(OUT / "locallens.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128),
                                             (256, 256)])
    master.save(OUT / "locallens.icns")
    for p in sorted(OUT.glob("locallens*")):
        print(f"{p.relative_to(ROOT)}  {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
