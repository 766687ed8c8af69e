"""The architecture report: every layer's shape, parameters and cost, computed without Keras.

`plan_layers` walks a ModelConfig with the same arithmetic the layers use, so an impossible
configuration is refused here, before anything is built or trained, and the numbers can be
shown for networks too large to build on a small machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from alexnet_core.config import ModelConfig


@dataclass(frozen=True)
class LayerRow:
    name: str  # the Keras layer name (a contract: pages and checkpoints use it)
    kind: str  # 'input', 'resize', 'conv', 'lrn', 'batchnorm', 'maxpool', 'dense', ...
    geometry: str  # kernel/stride/padding, e.g. '11x11/4 valid'; '' where it does not apply
    output_shape: tuple[int, ...]  # per image, without the batch axis
    params: int  # weights of the layer, trainable or not
    trainable_params: int
    macs: int  # multiply-accumulates per image
    memory_bytes: int  # size of the layer's output per image: uint8 for the image, else float32
    # Side of the square of network-input pixels one unit sees (padding included); None for
    # layers without a spatial map (flatten, dense), whose units see the whole image.
    receptive_field: int | None


@dataclass(frozen=True)
class Report:
    rows: tuple[LayerRow, ...]
    # What is legal but wasteful, in words: kernels whose outer weights only meet padding.
    notes: tuple[str, ...] = ()

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_memory_bytes(self) -> int:
        return sum(r.memory_bytes for r in self.rows)

    def row(self, name: str) -> LayerRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def markdown(self) -> str:
        """The report as a Markdown table (layer, kind, kernel/stride, output, parameters,
        MACs) with a total row, as the README shows the paper's network."""
        lines = ["| layer | kind | kernel/stride | output | parameters | MACs |",
                 "|---|---|---|---|---:|---:|"]  # fmt: skip
        for r in self.rows:
            shape = "x".join(str(d) for d in r.output_shape)
            lines.append(f"| {r.name} | {r.kind} | {r.geometry} | {shape} | {r.params:,} | "
                         f"{r.macs:,} |")  # fmt: skip
        lines.append(f"| **total** | | | | **{self.total_params:,}** | **{self.total_macs:,}** |")
        return "\n".join(lines)

    def as_records(self) -> list[dict]:
        """One plain dict per layer, for tables."""
        return [
            {
                "layer": r.name,
                "kind": r.kind,
                "kernel/stride": r.geometry,
                "output shape": "x".join(str(d) for d in r.output_shape),
                "receptive field": f"{r.receptive_field}x{r.receptive_field}"
                if r.receptive_field
                else "",
                "parameters": r.params,
                "MACs": r.macs,
                "memory (KiB)": round(r.memory_bytes / 1024, 1),
            }
            for r in self.rows
        ]


def _conv_output(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1 if size >= kernel else 0


def _refuse(layer: str, size: int, window: int, what: str, config: ModelConfig) -> None:
    stages = config.conv_stages()
    paper_like = stages[0].kernel >= 11 and config.input_size < 227
    paper = "; the paper's 11x11 stride-4 conv1 needs about 227" * paper_like
    smaller = "a smaller kernel" if layer == "conv1" else "smaller kernels or strides earlier"
    number, pooling = int(layer[4:]), layer.startswith("pool")  # conv3 -> 3, pool5 -> 5
    before = [s for s in stages if s.index < number or (pooling and s.index == number)]
    strides = [f"conv{s.index} {s.stride}" for s in before if s.stride > 1]
    if layer != "conv1" and strides:  # the likely culprits, named
        smaller += f" (strides now: {', '.join(strides)})"
    raise ValueError(
        f"{layer}: the feature map would shrink to nothing — it receives {size}x{size} but its "
        f"{what} is {window}x{window}. Way out: raise the input size the images are resized to "
        f"(input_size, now {config.input_size}{paper}), or use {smaller}."
    )


def plan_layers(config: ModelConfig) -> Report:
    """The report for `config`; raises ValueError if a feature map would vanish."""
    rows: list[LayerRow] = []
    notes: list[str] = []
    # The receptive field so far and the distance between neighbouring units, in input pixels.
    field, jump = 1, 1

    def add(name, kind, geometry, shape, params=0, trainable=None, macs=0, value_bytes=4):
        trainable = params if trainable is None else trainable
        memory = math.prod(shape) * value_bytes
        seen = field if len(shape) == 3 else None
        row = LayerRow(name, kind, geometry, tuple(shape), params, trainable, macs, memory, seen)
        rows.append(row)

    size, channels = config.image_size, 3
    add("image", "input (uint8 RGB)", "", (size, size, channels), value_bytes=1)
    if config.input_size != config.image_size:
        size = config.input_size
        add("resize", "resize (bilinear)", "", (size, size, channels))

    def add_norm(index: int) -> None:
        if config.normalization == "lrn":
            add(f"norm{index}", "lrn", "n=5", (size, size, channels))
        elif config.normalization == "batch":
            add(f"norm{index}", "batchnorm", "", (size, size, channels), 4 * channels, 2 * channels)

    for stage in config.conv_stages():
        i, kernel, pool = stage.index, stage.kernel, stage.pool
        if stage.padding == "valid" and size < kernel:
            _refuse(f"conv{i}", size, kernel, "kernel", config)
        # 'same' padding: the kernel's rows that ever meet the map are the n rows an output
        # sees, shifted by the stride for each further output: n + (outputs - 1) * stride.
        reach = size + (math.ceil(size / stage.stride) - 1) * stage.stride
        if stage.padding == "same" and kernel > reach:
            notes.append(f"conv{i}: its {kernel}x{kernel} kernel sees a {size}x{size} map, so "
                         f"only {reach}x{reach} of its weights ever meet the map; the others "
                         "multiply padding zeros, costing time and learning nothing. Make it "
                         f"{reach}x{reach} or smaller.")  # fmt: skip
        if stage.stride > kernel:
            notes.append(f"conv{i}: its stride {stage.stride} is larger than its {kernel}x{kernel} "
                         f"kernel, so of each {stage.stride}x{stage.stride} block of its input it "
                         f"sees {kernel}x{kernel}: {1 - (kernel / stage.stride) ** 2:.0%} of the "
                         "input never reaches a filter. Make the stride "
                         f"{kernel} or less.")  # fmt: skip
        out = _conv_output(size, kernel, stage.stride, stage.padding)
        seen = channels // stage.groups  # input channels each filter sees
        params = kernel * kernel * seen * stage.filters + stage.filters
        macs = out * out * stage.filters * kernel * kernel * seen
        size, channels = out, stage.filters
        field, jump = field + (kernel - 1) * jump, jump * stage.stride
        geometry = f"{kernel}x{kernel}/{stage.stride} {stage.padding}"
        if stage.groups > 1:
            geometry += f", {stage.groups} groups"
        add(f"conv{i}", "conv", geometry, (size, size, channels), params, macs=macs)
        if stage.norm and config.norm_before_pool:
            add_norm(i)
        if pool:
            if size < pool:
                _refuse(f"pool{i}", size, pool, "pooling window", config)
            size = (size - pool) // config.pool_stride + 1
            field, jump = field + (pool - 1) * jump, jump * config.pool_stride
            geometry = f"{pool}x{pool}/{config.pool_stride}"
            add(f"pool{i}", "maxpool", geometry, (size, size, channels))
        if stage.norm and not config.norm_before_pool:
            add_norm(i)

    features = size * size * channels
    add("flatten", "flatten", "", (features,))
    for name in ("fc6", "fc7"):
        params = features * config.fc_units + config.fc_units
        add(name, "dense", "", (config.fc_units,), params, macs=features * config.fc_units)
        features = config.fc_units
        add(name.replace("fc", "drop"), "dropout", f"rate {config.dropout}", (features,))
    params = features * config.num_classes + config.num_classes
    add(
        "predictions",
        "dense (softmax)",
        "",
        (config.num_classes,),
        params,
        macs=features * config.num_classes,
    )
    return Report(tuple(rows), tuple(notes))
