"""Draw the brand images Home Assistant (2026.3+) serves from the integration's own
``brand/`` folder: icon, logo, their @2x and dark_ variants.

Run: .venv/bin/python scripts/dev/make_brand.py

Rules (home-assistant/brands): PNG, transparent, trimmed; icon 256x256 (@2x 512x512);
logo landscape with its shortest side 128 px (@2x 256 px). The drawing is plain
geometry plus one font, so the same Pillow and font give the same bytes every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "custom_components" / "community_gate" / "brand"

# Debian's fonts-dejavu-core; Pillow's built-in font when it is missing.
FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
)

# Drawn this many times larger than the largest output, then scaled down: anti-aliasing.
SUPERSAMPLE = 4

# The mark in design units (0..600 x 0..520): two pillars and a double estate gate whose
# spear-topped bars rise to an arch in the middle.
MARK_W, MARK_H = 600, 520

Rgba = tuple[int, int, int, int]


@dataclass(frozen=True)
class Palette:
    stone: Rgba  # pillars, gate frame, lettering
    iron: Rgba  # bars and arch


LIGHT = Palette(stone=(28, 61, 90, 255), iron=(3, 145, 214, 255))
# Legible on Home Assistant's dark theme (#111 to #1c1c1c backgrounds).
DARK = Palette(stone=(232, 238, 244, 255), iron=(79, 195, 247, 255))


def _arch_top(x: float) -> float:
    """Top of the bars: 230 at the hinges, 120 where the two leaves meet."""
    t = (x - 300) / 220
    return 120 + 110 * t * t


def _draw_mark(draw: ImageDraw.ImageDraw, ox: float, oy: float, k: float, pal: Palette) -> None:
    """Draw the mark with its top-left at (ox, oy), k pixels per design unit."""

    def box(x0: float, y0: float, x1: float, y1: float, fill: Rgba) -> None:
        draw.rectangle((ox + x0 * k, oy + y0 * k, ox + x1 * k, oy + y1 * k), fill=fill)

    def poly(points: list[tuple[float, float]], fill: Rgba) -> None:
        draw.polygon([(ox + x * k, oy + y * k) for x, y in points], fill=fill)

    # Pillars with caps and finials.
    for x0 in (0, 530):
        box(x0 + 6, 110, x0 + 64, 520, pal.stone)
        box(x0, 86, x0 + 70, 112, pal.stone)
        poly([(x0 + 12, 86), (x0 + 35, 40), (x0 + 58, 86)], pal.stone)
    # Rails: bottom, middle, and the arch (a polyline of short segments per leaf).
    box(86, 478, 514, 500, pal.stone)
    box(86, 330, 514, 348, pal.iron)
    for x_from, x_to in ((86, 294), (306, 514)):
        steps = 24
        pts = [x_from + (x_to - x_from) * i / steps for i in range(steps + 1)]
        upper = [(x, _arch_top(x) + 14) for x in pts]
        lower = [(x, _arch_top(x) + 34) for x in reversed(pts)]
        poly(upper + lower, pal.iron)
    # Bars with spear tips; the two centre stiles are the leaves' meeting edges.
    for x in (102, 148, 194, 240, 284, 316, 360, 406, 452, 498):
        top = _arch_top(x)
        box(x - 8, top, x + 8, 490, pal.iron)
        poly([(x - 15, top + 6), (x, top - 26), (x + 15, top + 6)], pal.iron)


def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_FILES:
        if path.is_file():
            return ImageFont.truetype(str(path), px)
    return ImageFont.load_default(px)


def _trim(img: Image.Image) -> Image.Image:
    bbox = img.getchannel("A").getbbox()
    assert bbox is not None
    return img.crop(bbox)


def _mark(height: int, pal: Palette) -> Image.Image:
    k = height / MARK_H
    img = Image.new("RGBA", (round(MARK_W * k) + 2, height + 2), (0, 0, 0, 0))
    _draw_mark(ImageDraw.Draw(img), 1, 1, k, pal)
    return _trim(img)


def _logo_master(pal: Palette) -> Image.Image:
    """The logo at SUPERSAMPLE x its @2x height: mark, then "Community / Gate"."""
    height = 256 * SUPERSAMPLE
    mark = _mark(height, pal)
    font = _font(round(height * 0.36))
    lines = ("Community", "Gate")
    gap, leading = round(height * 0.12), round(height * 0.08)
    boxes = [font.getbbox(line) for line in lines]
    text_w = max(int(b[2]) for b in boxes)
    img = Image.new("RGBA", (mark.width + gap + text_w + 8, height), (0, 0, 0, 0))
    img.alpha_composite(mark, (0, (height - mark.height) // 2))
    draw = ImageDraw.Draw(img)
    line_h = [int(b[3] - b[1]) for b in boxes]
    y = (height - (sum(line_h) + leading)) // 2
    for line, b, h in zip(lines, boxes, line_h, strict=True):
        draw.text((mark.width + gap - b[0], y - b[1]), line, font=font, fill=pal.stone)
        y += h + leading
    return _trim(img)


def _icon(size: int, pal: Palette) -> Image.Image:
    """The mark fitted to a square: its longer side fills the square exactly."""
    master = _mark(size * SUPERSAMPLE, pal)
    scale = size / max(master.size)
    w, h = round(master.width * scale), round(master.height * scale)
    icon = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    icon.alpha_composite(
        master.resize((w, h), Image.Resampling.LANCZOS), ((size - w) // 2, (size - h) // 2)
    )
    return icon


def _logo(short_side: int, master: Image.Image) -> Image.Image:
    scale = short_side / master.height
    return master.resize((round(master.width * scale), short_side), Image.Resampling.LANCZOS)


def build() -> dict[str, Image.Image]:
    images: dict[str, Image.Image] = {}
    for prefix, pal in (("", LIGHT), ("dark_", DARK)):
        master = _logo_master(pal)
        images[f"{prefix}icon.png"] = _icon(256, pal)
        images[f"{prefix}icon@2x.png"] = _icon(512, pal)
        images[f"{prefix}logo.png"] = _logo(128, master)
        images[f"{prefix}logo@2x.png"] = _logo(256, master)
    return images


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, img in build().items():
        img.save(OUT / name, format="PNG", optimize=True)
        print(f"{name}: {img.width}x{img.height}, {(OUT / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
