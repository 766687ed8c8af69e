"""What a user waits for on the Classify and Inside pages, once the model is loaded.

    python -m bench.latency                          # cifar_small, untrained weights
    python -m bench.latency --run checkpoints/RUN    # a trained run's best checkpoint

Times, the first call (after the model is warmed up as the app does when it loads a
checkpoint) and the median of --repeats calls after it: classifying one uploaded image as the
Classify page does (decode at the model's size, predict) for a 32x32 CIFAR JPEG and for a
1600x1200 photo, and the JPEG over the ten patches; Grad-CAM and occlusion; every feature map
from one forward pass; and for each feature layer, its whole-layer grid as the page draws it
(the layer's maps, the Plotly figure and its JSON for the browser). Speed does not depend on
what the weights learned, so untrained weights give the same times.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from alexnet_core import checkpoints, classify, explain, introspect, vision_charts
from alexnet_core.cifar import CLASS_NAMES
from alexnet_core.data import SAMPLE_PATH
from alexnet_core.images import decode_image
from alexnet_core.model import build_alexnet
from alexnet_core.presets import PRESETS
from bench.common import describe, save, table, whole_number


def timed(what: str, work, repeats: int) -> dict:
    """The first call (which may trace a function: what a user meets first) and the median of
    `repeats` calls after it, in ms."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return {"what": what, "first ms": 1000 * times[0], "ms": 1000 * statistics.median(times[1:])}


def uploads() -> dict[str, bytes]:
    """A real CIFAR-10 test JPEG from the bundled sample, and a phone-sized photo: a CIFAR
    test image enlarged to 1600x1200 with fine grain over it, 0.75 MiB as a JPEG of quality
    90, as much detail as a phone's photo gives its decoder (a smooth picture of that size
    compresses to a twentieth and decodes nine times faster)."""
    with zipfile.ZipFile(SAMPLE_PATH) as archive:
        cifar = archive.read(sorted(n for n in archive.namelist() if n.startswith("test/"))[0])
    scene = np.asarray(Image.open(io.BytesIO(cifar)).resize((1600, 1200)), np.int16)
    grain = np.random.default_rng(0).integers(-24, 25, scene.shape, dtype=np.int16)
    photo = np.clip(scene + grain, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=90)
    return {"CIFAR JPEG 32x32": cifar, "photo JPEG 1600x1200": buffer.getvalue()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", default="cifar_small", choices=sorted(PRESETS))
    parser.add_argument("--run", help="a run folder: time its best checkpoint instead")
    repeats = "timed calls after the first, whose median is reported"
    parser.add_argument("--repeats", type=whole_number(at_least=1), default=20, help=repeats)
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    args = parser.parse_args(argv)
    print(describe(), flush=True)

    if args.run and not Path(args.run).is_dir():
        parser.error(f"argument --run: {args.run}: no such run folder")
    if args.run:
        try:
            model, name = checkpoints.load_checkpoint(args.run, "best"), args.run
        except ValueError as error:  # not a run folder, or one without a good best.keras
            parser.error(f"argument --run: {error}")
    else:
        model, name = build_alexnet(PRESETS[args.preset].for_dataset(32, 10)), args.preset
    classify.warm_up(model)  # as the app does when it loads a checkpoint
    rows = []
    for label, data in uploads().items():
        # The Classify page's own call: decode at the model's size, then predict.
        work = lambda data=data: classify.classify_files(model, [("upload", data)], CLASS_NAMES)  # noqa: E731
        rows.append(timed(f"classify one upload ({label})", work, args.repeats))
    jpeg = uploads()["CIFAR JPEG 32x32"]
    ten = lambda: classify.classify_files(model, [("upload", jpeg)], CLASS_NAMES, views="ten")  # noqa: E731
    rows.append(timed("classify one upload (CIFAR JPEG 32x32), ten patches", ten, args.repeats))
    image = decode_image(jpeg)
    for what, method in (("Grad-CAM", "grad_cam"), ("occlusion", "occlusion")):
        heat_map = lambda method=method: explain.explain(model, image, 0, method)  # noqa: E731
        rows.append(timed(what, heat_map, args.repeats))
    every_map = lambda: introspect.all_feature_maps(model, image)  # noqa: E731
    rows.append(timed("all feature maps, one pass", every_map, args.repeats))
    for layer in introspect.feature_layer_names(model):

        def grid(layer=layer):
            maps = introspect.feature_maps(model, image, layer)
            return vision_charts.feature_grid(maps, title=layer).to_json()

        rows.append(timed(f"whole-layer grid {layer}", grid, args.repeats))
    print(f"\n{name}\n" + table(rows))
    if not args.no_save:
        print(f"\nwritten to {save('latency', {'model': name, 'rows': rows})}")


if __name__ == "__main__":
    main()
