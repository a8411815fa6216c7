# Regenerates pil_bicubic.json (Pillow 9.4.0, Debian python3-pil): reference outputs of PIL's default
# Image.resize filter (bicubic) on 8-bit pictures. The inputs are integer formulas that the Go test rebuilds
# (pilInput in resize_test.go). Run: python3 gen_pil_bicubic.py
import json
import numpy as np
import PIL
from PIL import Image


def pattern(h, w):
    a = np.zeros((h, w), np.uint8)
    for y in range(h):
        for x in range(w):
            a[y, x] = (y * 37 + x * 91 + ((x * y) % 17) * 11) % 256
    return a


def binary(h, w):
    a = np.zeros((h, w), np.uint8)
    for y in range(h):
        for x in range(w):
            if ((y - 30.5) / 12) ** 2 + ((x - 20.5) / 9) ** 2 <= 1 or (5 <= y < 9 and 40 <= x < 41):
                a[y, x] = 255
    return a


cases = []
for name, src, sizes in [("pattern", pattern(20, 24), [(10, 8), (7, 13), (37, 50), (20, 11)]),
                         ("binary", binary(64, 64), [(32, 32), (27, 40)])]:
    for oh, ow in sizes:
        out = np.array(Image.fromarray(src, "L").resize((ow, oh)))
        rgb = np.array(Image.fromarray(np.stack([src] * 3, -1), "RGB").resize((ow, oh)))
        assert (rgb[..., 0] == out).all()  # RGB resizes each channel the same way
        cases.append({"name": name, "in_h": src.shape[0], "in_w": src.shape[1], "out_h": oh, "out_w": ow,
                      "out": out.flatten().tolist()})
json.dump({"source": "Pillow %s Image.resize((w,h)) default filter (bicubic), mode L" % PIL.__version__,
           "cases": cases}, open("pil_bicubic.json", "w"))
