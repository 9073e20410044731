"""Previewing a digest as a person would see it: HTML files with the thumbnails beside them, and
screenshots at desktop and phone widths in headless Chromium (when it is installed)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from schoolaudit.digest import Digest

WIDTHS = {"desktop": 1280, "phone": 390}
FIRST_HEIGHT, MAX_HEIGHT = 4000, 64000  # CSS pixels: a window this tall first, doubled while the page fills it
MARGIN = 24  # pixels of background kept below the page's last content
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def write_preview(digest: Digest, out_dir: Path) -> tuple[Path, Path]:
    """`digest-KIND.html` (cid: images replaced by files in images/) and `digest-KIND.txt`; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html = digest.html
    for cid, jpeg in digest.images.items():
        name = f"images/{cid.split('@')[0]}.jpg"
        (out_dir / "images").mkdir(exist_ok=True)
        (out_dir / name).write_bytes(jpeg)
        html = html.replace(f"cid:{cid}", name)
    page = out_dir / f"digest-{digest.kind}.html"
    page.write_text(html, encoding="utf-8")
    text = out_dir / f"digest-{digest.kind}.txt"
    text.write_text(digest.text, encoding="utf-8")
    return page, text


def screenshot(chromium: str, page: Path, png: Path, width: int, timeout: float = 60) -> Path:
    """A PNG of the whole of `page` at `width` CSS pixels, however tall: Chromium's --screenshot captures
    only its window, so the window is made taller until the page ends above its bottom, then the empty
    rest is cut off."""
    height = FIRST_HEIGHT
    while True:
        _capture(chromium, page, png, width, height, timeout)
        if _crop_to_content(png) or height >= MAX_HEIGHT:
            return png
        height *= 2


def _capture(chromium: str, page: Path, png: Path, width: int, height: int, timeout: float) -> None:
    """A PNG of `page` in a `width` x `height` window, in a throw-away profile, with no network use."""
    with tempfile.TemporaryDirectory(prefix="schoolaudit-chromium-") as profile:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                   f"--screenshot={png}", page.resolve().as_uri()]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)


def _crop_to_content(png: Path) -> bool:
    """Cut the rows of page background below the last content; False when the content reaches the bottom."""
    from PIL import Image, ImageChops

    with Image.open(png) as image:
        image = image.convert("RGB")
    background = image.getpixel((image.width - 1, image.height - 1))
    box = ImageChops.difference(image, Image.new("RGB", image.size, background)).getbbox()
    bottom = box[3] if box else 0
    if bottom >= image.height - MARGIN:
        return False
    image.crop((0, 0, image.width, bottom + MARGIN)).save(png)
    return True
