#!/usr/bin/env python3
"""Turns the test photos into one-frame .y4m files for Chromium's fake camera
(--use-file-for-fake-video-capture): 4:2:0, BT.601 limited range, sides padded to even."""
import sys
from pathlib import Path

import numpy as np
from PIL import Image

CACHE = Path(__file__).resolve().parents[2] / "models" / "cache"


def y4m(src: Path, dst: Path) -> None:
    img = np.asarray(Image.open(src).convert("RGB"), dtype=np.float32)
    h, w = img.shape[:2]
    img = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    h, w = img.shape[:2]
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    sub = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    planes = [np.clip(p, 0, 255).round().astype(np.uint8).tobytes() for p in (y, sub(u), sub(v))]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode() + b"FRAME\n" + b"".join(planes))


if __name__ == "__main__":
    for name in sys.argv[1:] or ["coffee.png", "astronaut.png", "page.png", "chelsea.png"]:
        y4m(CACHE / "images" / name, CACHE / "video" / (Path(name).stem + ".y4m"))
