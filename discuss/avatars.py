"""Generated avatars: a symmetric 5×5 identicon as SVG, made here so no reader's visit is
told to a third party."""

from __future__ import annotations

import hashlib


def identicon_svg(seed: str, size: int = 80) -> str:
    """A deterministic identicon for ``seed`` (already a keyed hash, never an email)."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    fg = f"hsl({hue} 55% 45%)"
    bg = f"hsl({hue} 40% 92%)"
    cell = size // 5
    rects = []
    for row in range(5):
        for col in range(3):
            if digest[2 + row * 3 + col] % 2:
                for x in {col, 4 - col}:
                    rects.append(
                        f'<rect x="{x * cell}" y="{row * cell}" width="{cell}" height="{cell}"/>'
                    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" role="img" aria-hidden="true">'
        f'<rect width="{size}" height="{size}" fill="{bg}"/>'
        f'<g fill="{fg}">{"".join(rects)}</g></svg>'
    )
