"""Home: what AlexNet is, what each page does, and what this machine offers."""

import streamlit as st

from alexnet_core import data, runs, system

PAGE_GUIDE = [
    ("architecture", "Architecture", "every layer's shape, parameters and cost", "account_tree"),
    ("train", "Train", "train live; pause, stop, change the learning rate, continue", "monitoring"),
    ("runs", "Runs", "compare, download, continue or delete runs", "folder_open"),
    ("inside", "Feature maps & filters", "what each layer sees and has learned", "grid_view"),
    ("classify", "Classify", "your images or test images: where the network looked", "label"),
    ("evaluate", "Evaluate", "test accuracy, confusion matrix, worst mistakes", "analytics"),
]

st.title("AlexNet Explorer")
st.write(
    "Understand AlexNet by building it, training it and looking inside it — on your own "
    "machine, with TensorFlow and Keras."
)

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Why AlexNet mattered")
    st.markdown(
        """
In 2012 Krizhevsky, Sutskever and Hinton won the ImageNet challenge (1.2 million photos,
1000 classes) with a top-5 error of 15.3%, against 26.2% for the runner-up. That figure
averaged the predictions of seven networks, two of them first trained on a larger release
of ImageNet; one network alone had 18.2% on the validation images. Their network started
the deep-learning era in computer vision. Its ingredients:

- **Five convolutional layers and three fully connected ones** — 60 million parameters,
  most of them in the two 4096-unit layers fc6 and fc7.
- **ReLU instead of tanh.** max(0, x) does not saturate for positive inputs, so gradients
  stay large there: in the paper a small network reached 25% training error on CIFAR-10
  six times faster than with tanh. Train's *Set up figure 1* tries it here.
- **Overlapping max pooling** (3x3 windows, stride 2), which cut the ImageNet top-1 and
  top-5 errors by 0.4 and 0.3 points and made overfitting a little harder.
- **Local response normalisation**, a competition between neighbouring channels that cut
  them by 1.4 and 1.2 points; later networks dropped it, and most use batch
  normalisation instead, which rescales each channel over a batch.
- **Dropout (0.5) and data augmentation** (random crops, flips, colour changes) against
  overfitting: the Train page previews what flips and shifts make of training images.
- **Training on two GPUs** (GTX 580, 3 GB each) for five to six days. Each GPU held half of
  every layer's filters, and conv2, conv4 and conv5 saw only their own GPU's feature maps:
  the Architecture page shows what that split saves.
"""
    )

with right:
    st.subheader("This machine")
    info = system.machine_info()
    st.markdown(
        f"TensorFlow **{info.get('tensorflow', '?')}** · Keras **{info.get('keras', '?')}** · "
        f"Python {info.get('python', '?')}  \n{info.get('cpu', 'CPU')}, "
        f"{info.get('cores', '?')} cores"
    )
    if info.get("gpus"):
        st.success(
            "GPU found: " + ", ".join(info["gpus"]) + ". The cifar_gpu preset is the "
            "default on the Train page.",
            icon=":material/bolt:",
        )
    else:
        st.info(
            "No GPU — the small CPU preset (cifar_small) is the default: on a 2-core server "
            "an epoch of CIFAR-10's 45,000 training images (the other 5,000 validate) took "
            "about 2 minutes, so one of the bundled sample's 3,600 takes seconds. The tiny "
            "preset takes seconds either way.",
            icon=":material/computer:",
        )

    st.subheader("Datasets")
    for source in data.available_sources():
        mark = ":material/check_circle:" if source["available"] else ":material/block:"
        st.markdown(f"{mark} **{source['name']}** — {source['description']}")
        st.caption(source["detail"])
    st.caption(f"The Train page uses **{data.default_source()}** unless you pick another, or "
               "a folder or zip of your own images (one sub-folder per class).")  # fmt: skip

    st.subheader("Runs")
    found = runs.list_runs()
    st.metric("Training runs saved", len(found))
    st.caption(f"in {runs.runs_root()}")

# The page's width: a link's label stays on one line, and a column's width cut it below 1280 px.
st.subheader("What each page does")
for page, title, what, icon in PAGE_GUIDE:
    st.page_link(f"pages/{page}.py", label=f"**{title}** — {what}", icon=f":material/{icon}:")
