"""AlexNet Explorer: `streamlit run app.py`.

The entry script: prepares the process for a training thread that lives across reruns, sets
up the navigation and the sidebar's job status, then runs the chosen page.
"""

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner

from alexnet_core import system
from pages import common


def _keep_keras_state() -> None:
    """Streamlit calls keras.backend.clear_session() after every script run, fragment reruns
    included. That swaps out Keras' global state for every thread, clears TensorFlow's kernel
    cache and forces a full garbage collection: with the live view rerunning each second, a
    training thread in this process ran 60 times slower (measured). The app never relies on
    that clean-up, so it is switched off; the matplotlib part is kept."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


script_runner._clean_problem_modules = _keep_keras_state  # a private hook, checked by a test

st.set_page_config(page_title="AlexNet Explorer", page_icon=":material/neurology:", layout="wide")
PAGES = [
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/architecture.py", "Architecture", ":material/account_tree:"),
    ("pages/train.py", "Train", ":material/monitoring:"),
    ("pages/runs.py", "Runs", ":material/folder_open:"),
    ("pages/inside.py", "Feature maps & filters", ":material/grid_view:"),
    ("pages/classify.py", "Classify", ":material/label:"),
    ("pages/evaluate.py", "Evaluate", ":material/analytics:"),
]
# The navigation goes out first: loading Keras takes seconds on a fresh server, and until the
# browser has this menu it keeps the one it had (on a first visit, every file in pages/).
navigation = st.navigation([st.Page(path, title=title, icon=icon) for path, title, icon in PAGES])
# Keras and pandas are imported here, in the script thread, before a worker thread starts:
# importing them from a worker while a page draws a chart broke pandas' half-done import.
system.preload()
common.sidebar_status()
navigation.run()
