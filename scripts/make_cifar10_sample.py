"""Make alexnet_core/assets/cifar10-sample.zip, the small CIFAR-10 the app ships with.

Takes 400 training and 100 test images per class from cifar10-jpeg.zip, chosen by a fixed
seed, and copies their JPEG bytes unchanged (no re-encoding) into the same
train/<class>/NNNN.jpg and test/<class>/NNNN.jpg layout.

    python scripts/make_cifar10_sample.py [path/to/cifar10-jpeg.zip]
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "datasets" / "cifar10-jpeg.zip"
OUTPUT = REPO / "alexnet_core" / "assets" / "cifar10-sample.zip"
PER_CLASS = {"train": 400, "test": 100}  # 4,000 + 1,000 images, about 4.3 MB.
SEED = 2012  # The year of the AlexNet paper; any fixed number makes the choice repeatable.
# A fixed timestamp on every entry, so running the script twice gives the same bytes.
TIMESTAMP = (2024, 1, 1, 0, 0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    with zipfile.ZipFile(args.source) as source:
        by_folder: dict[tuple[str, str], list[str]] = {}
        for name in source.namelist():
            parts = name.split("/")
            if len(parts) == 3 and parts[0] in PER_CLASS and parts[2].endswith(".jpg"):
                by_folder.setdefault((parts[0], parts[1]), []).append(name)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.output.with_suffix(".tmp")
        # Deflate saves about 15% even on JPEGs: their header tables compress well.
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as sample:
            for (split, _), names in sorted(by_folder.items()):
                chosen = rng.choice(sorted(names), PER_CLASS[split], replace=False)
                for name in sorted(chosen):
                    entry = zipfile.ZipInfo(name, TIMESTAMP)
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    sample.writestr(entry, source.read(name))
        temporary.replace(args.output)
    count = sum(PER_CLASS.values()) * len({c for _, c in by_folder})
    print(f"wrote {args.output}: {count} images, {args.output.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
