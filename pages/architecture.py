"""Architecture: pick a preset, turn its knobs, see every layer's shape, parameters and cost."""

import pandas as pd
import streamlit as st

from alexnet_core import architecture_charts, config, fitting, presets, report, units
from pages import common, help_texts, train_form, widgets, wording

# Widget key -> ModelConfig field it sets. The preset's values fill them in.
KNOBS = {
    "arch_image_size": "image_size",
    "arch_input_size": "input_size",
    "arch_classes": "num_classes",
    "arch_width": "width",
    "arch_fc_units": "fc_units",
    "arch_dropout": "dropout",
    "arch_normalization": "normalization",
    "arch_activation": "activation",
    "arch_pooling": "pooling",
    "arch_two_gpus": "two_gpus",
    "arch_flip": "augment_flip",
    "arch_shift": "augment_shift",
}


def count(number: int) -> str:
    """Every digit while they fit beside the other figures (60,965,224), else 68.6 G."""
    return f"{number:,}" if number < 1e9 else wording.count_text(number)


def fc_share(plan: report.Report) -> float:
    """The share of the network's parameters in fc6 and fc7."""
    return sum(r.params for r in plan.rows if r.name in ("fc6", "fc7")) / plan.total_params


def conv_share(plan: report.Report) -> float:
    """The share of the network's MACs in its convolutions."""
    return sum(r.macs for r in plan.rows if r.kind == "conv") / plan.total_macs


def conv1_is_the_cause(name: str, two_gpus: bool, pooling: str, values: dict, convs: dict) -> bool:
    """Whether conv1's kernel or stride is what shrinks the maps to nothing: the network fits
    with a gentle conv1 (3x3, stride 1) and the rest as set, but not with this conv1 and the
    preset's own later convolutions (else a later one is to blame, say a stride set to 9)."""

    def fits(kernels, strides) -> bool:
        changed = {**convs, "conv_kernels": kernels, "conv_strides": strides}
        try:
            report.plan_layers(presets.customised(name, two_gpus, pooling, **values, **changed))
        except ValueError:
            return False
        return True

    kernels, strides = convs["conv_kernels"], convs["conv_strides"]
    own = presets.preset(name)
    return fits((3, *kernels[1:]), (1, *strides[1:])) and not fits(
        (kernels[0], *own.conv_kernels[1:]), (strides[0], *own.conv_strides[1:])
    )


def load_preset() -> None:
    chosen = presets.preset(st.session_state.arch_preset)
    for key, field in KNOBS.items():
        st.session_state[key] = getattr(chosen, field)
    widgets.fill_conv_settings("arch", chosen)


st.title("Architecture")
st.write(
    "Every layer's output shape, parameters, multiply-accumulates (MACs) and memory, computed "
    "from the configuration alone — so you can explore networks too big to build here."
)

if "arch_image_size" not in st.session_state:
    st.session_state.setdefault("arch_preset", "paper")
    load_preset()
about = help_texts.about  # a setting's widget options: kept, with what it means
keep = common.KEEP  # the knobs keep their values while you visit other pages
box = {"width": common.BOX + 12}  # four to a line at 1024 px wide (564 px), a scroll bar too
row = common.row()
name = row.selectbox(
    "Preset", list(presets.PRESETS), key="arch_preset", on_change=load_preset, **box, **keep
)
row.number_input("Image size (pixels)", step=1, key="arch_image_size", **box,
                 **about("image_size"))  # fmt: skip
row.number_input("Input size (pixels)", step=1, key="arch_input_size", **box,
                 **about("input_size"))  # fmt: skip
row.number_input("Classes", step=1, key="arch_classes", **box, **about("num_classes"))
row = common.row()
row.number_input("Width multiplier", step=0.05, key="arch_width", **box,
                 **about("width"))  # fmt: skip
row.number_input("FC units (fc6, fc7)", step=1, key="arch_fc_units", **box,
                 **about("fc_units"))  # fmt: skip
row.number_input("Dropout", step=0.05, key="arch_dropout", **box, **about("dropout"))
row.selectbox("Normalisation", config.NORMALISATIONS, key="arch_normalization", **box,
              **about("normalization"))  # fmt: skip
row = common.row()
row.selectbox("Activation", config.ACTIVATIONS, key="arch_activation", **box,
              **about("activation"))  # fmt: skip
row.selectbox("Pooling", config.POOLINGS, key="arch_pooling", **box, **about("pooling"))
row.number_input(
    "Random shift (pixels)", step=1, key="arch_shift", **box,
    help="Training moves each image by any distance up to this many pixels of the images as "
    "loaded, which the Train page loads at CIFAR-10's 32x32; fractions of a pixel included, "
    "by resampling. The paper's random 224x224 crops of 256x256 images moved them up to 16 "
    "of 256 pixels: the paper preset's 2 is that share of 32. The shift is in pixels, not a "
    "share: for larger images raise it with them (the same share of 227 is 14).",
    **keep,
)  # fmt: skip
toggles = row.container(width="content", gap=None)  # one above the other
toggles.toggle("Random flips", key="arch_flip", **about("augment_flip"))
toggles.toggle(
    "Split over two GPUs",
    key="arch_two_gpus",
    help="As in the paper, whose network did not fit on one 3 GB GPU: each GPU holds half of "
    "every layer's filters, and conv2, conv4 and conv5 see only the feature maps on their own "
    "GPU (grouped convolutions), which halves their weights and MACs.",
    **keep,
)
with st.expander("Each convolution", expanded=True):
    convs = widgets.conv_settings("arch", **keep)
    st.caption(
        "The paper's conv1 has 96 filters of 11x11 pixels with stride 4; conv2, 256 of 5x5; "
        "conv3 to conv5, 3x3. A larger stride shrinks the maps faster, and so does a larger "
        "kernel without padding ('valid', as conv1; 'same' pads to keep the size); more "
        "filters cost parameters and MACs in this layer and the next."
    )
st.caption(
    "**paper**: the 2012 ImageNet network, split over two GPUs as it was. **tutorial**: the "
    "Keras tutorial's CIFAR-10 model, images upsampled to 227. **cifar_gpu**, **cifar_small**: "
    "AlexNet reshaped for 32x32 images. **tiny**: a first look, trained in seconds (and the "
    "tests' network). The paper says 224x224 inputs, "
    "but without padding its 11x11 stride-4 conv1 makes the 55x55 maps it describes only "
    "from 227 to 230 pixels; 227 is the smallest, and Caffe uses it. torchvision keeps "
    "224 and pads conv1 by 2 pixels instead. *Image size* is what the dataset "
    "provides, *input size* what conv1 sees after resizing inside the model. *Width* multiplies "
    "every convolution's filters. Pooling *overlapping*: 3x3 windows, stride 2 (paper); "
    "*non_overlapping*: 2x2; *custom*: the preset's own mix."
)

values = {field: st.session_state[key] for key, field in KNOBS.items()}
pooling, two_gpus = values.pop("pooling"), values.pop("two_gpus")
try:
    model_config = presets.customised(name, two_gpus, pooling, **values, **convs)  # refuses bad
    plan = report.plan_layers(model_config)  # refuses shapes that shrink to nothing
except ValueError as exc:
    blamed = "shrink to nothing" in str(exc) and conv1_is_the_cause(name, two_gpus, pooling,
                                                                    values, convs)  # fmt: skip
    common.show_error(ValueError(str(exc).split(" Way out:")[0]) if blamed else exc)  # hint below
    if blamed:
        kernel, stride = convs["conv_kernels"][0], convs["conv_strides"][0]
        ways = ["Make its kernel or stride smaller"]
        if values["input_size"] < 227:  # the paper's conv1 needs about 227-pixel inputs
            if name not in ("cifar_small", "cifar_gpu"):  # not one made for 32x32 already
                ways.append("pick cifar_small or cifar_gpu (made for 32x32 images)")
            ways.append("raise the input size so the images are upsampled inside the model "
                        "(the paper's 11x11 stride-4 conv1 needs about 227)")  # fmt: skip
        st.info(
            f"Hint: conv1's {kernel}x{kernel} kernel with stride {stride} shrinks the maps too "
            f"fast for this input size. {', '.join(ways[:-1])}{', or ' * (len(ways) > 1)}"
            f"{ways[-1]}."
        )
    st.stop()

cols = st.columns(3)  # three a row: a parameter count's every digit fits at 1280 pixels
cols[0].metric("Total parameters", count(plan.total_params))
cols[1].metric("Trainable parameters", count(plan.trainable_params),
               help="Less than the total where batch norm keeps running means and variances, "
               "which are learned by averaging, not by gradients.")  # fmt: skip
cols[2].metric("MACs per image", wording.count_text(plan.total_macs),
               help="Multiply-accumulates (one multiplication and one addition) for one image "
               "through the network, as the table's MACs column adds up: the convolutions' and "
               "dense layers' weights. Biases, pooling, normalisation and softmax cost little "
               "beside them and are not counted (their rows show 0). A FLOP count is about "
               "twice this: the paper's 724 M MACs are about 1.45 GFLOPs, and sources that "
               "quote 0.72 GFLOPs mean MACs.")  # fmt: skip
cols = st.columns(3)
cols[0].metric("Activations per image", units.bytes_text(plan.total_memory_bytes),
               help="The table's memory column added up: every listed layer's output for one "
               "image, in float32 (the uint8 image at a byte a value). A floor: the model's "
               "own scaling, normalising and augmentation layers each add a copy of the "
               "input.")  # fmt: skip
train = presets.train_preset(name)  # the preset's batch size and optimizer
weights, outputs = fitting.training_memory(model_config, train.batch_size, train.optimizer)
cols[1].metric(
    "Memory to train", units.bytes_text(weights + outputs),
    help=f"At least, with the preset's batch of {train.batch_size} and {train.optimizer}: the "
    f"float32 weights, their gradients and the optimizer's copies "
    f"({units.bytes_text(weights)}), and a batch's layer outputs with their gradients "
    f"({units.bytes_text(outputs)}). Frameworks need more: workspaces, the next batch, "
    "copies. TensorFlow took 1.7 to 2.1 times this floor on this app's 2-core CPU "
    "(bench/memory.py), and Train refuses a network whose 1.6 times it is more than the memory "
    "free. The paper's GTX 580s had 3 GB each, and it found its network too big for one: "
    "its code needed more than this floor.",
)  # fmt: skip
st.caption("Activation and augmentation change how the network learns, not these numbers.")
for note in plan.notes:
    st.warning(note, icon=":material/warning:")
if st.button("Train this network", icon=":material/monitoring:", key="arch_train",
             help="Opens Train set to this network, with the preset's training settings; "
             "the data there gives the image size and the classes."):  # fmt: skip
    train_form.fill(name, model_config, presets.train_preset(name))
    st.switch_page("pages/train.py")

left, right = st.columns(2)
left.plotly_chart(architecture_charts.feature_map_shapes(plan), key="arch_shapes_chart")
right.plotly_chart(architecture_charts.parameter_share(plan), key="arch_params_chart")
shares = [fc_share(plan), fc_share(report.plan_layers(presets.preset("paper")))]
same = f"{shares[0]:.0%}" == f"{shares[1]:.0%}"
paper = "" if same else f" (in the paper's network, {shares[1]:.0%})"
st.write(f"fc6 and fc7 hold **{shares[0]:.0%}** of the parameters{paper}; the convolutions do "
         f"**{conv_share(plan):.0%}** of the multiply-accumulates.")  # fmt: skip
deepest = [r for r in plan.rows if r.receptive_field][-1]  # the last layer with a map
field, side = deepest.receptive_field, model_config.input_size
beyond = ", more than the whole image: the rest is padding" if field > side else ""
st.write(
    f"Each convolution and pooling widens what one unit sees (the *receptive field* in the "
    f"table): a unit of {deepest.name} sees **{field}x{field}** pixels of conv1's "
    f"{side}x{side} input{beyond}."
)

table = pd.DataFrame(plan.as_records())
for column in ("parameters", "MACs"):  # past int64 (filters by the trillion): Arrow takes floats
    if table[column].dtype == object:
        table[column] = table[column].astype(float)
st.dataframe(
    table,
    hide_index=True,
    height=35 * (len(plan.rows) + 1) + 3,  # every layer in view: a row is 35 px, the header too
    column_config={
        # Pixels: wide enough for a large network's figures, which the first rows do not
        # show, and together narrow enough (803) to fit the 810 pixels beside the sidebar at
        # 1280 (a screenshot at 815 cut off the last column).
        # Pinned: at 1024 px the table scrolls sideways, and each row still says its layer.
        "layer": st.column_config.TextColumn(width=80, pinned=True),  # "predictions"
        "kind": st.column_config.TextColumn(width=115),  # "input (uint8 RGB)"
        "kernel/stride": st.column_config.TextColumn(width=135),  # "5x5/1 same, 2 groups"
        "output shape": st.column_config.TextColumn(width=96),  # "127x127x1536"
        "receptive field": st.column_config.TextColumn(width=97),
        "parameters": st.column_config.NumberColumn(format="localized", width=90),
        "MACs": st.column_config.NumberColumn(format="localized", width=100),  # 223,948,800
        "memory (KiB)": st.column_config.NumberColumn(format="%.1f", width=90),
    },
    key="arch_table",
)
