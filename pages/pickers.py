"""The run and checkpoint pickers the pages share: a selectbox of runs that opens on the run a
link names, one of a run's checkpoints, and both at once with the checkpoint's model loaded
(pages/common.py holds the rest of the shared glue).
"""

from __future__ import annotations

import os

import streamlit as st

from alexnet_core import checkpoints, runs
from pages.common import KEEP, hold_choice, load_model_cached, show_error

RUN_PARAMETER = "run"  # a link's query parameter naming the run its page should open on

# how a run's best score is named, by what chose best.keras (runs.RunInfo.best_metric)
BEST_NAMES = {"val_accuracy": "val acc", "accuracy": "train acc"}  # others: "best"


def run_selectbox(key: str, by_id: dict, describe=str) -> str:
    """A selectbox of the runs `by_id` (id -> run) under `key`. It opens on the run a link
    names (?run=<id>, from the Train page's next steps), once, and says so when the run a link
    names, or the one chosen here before, is not among them (deleted since, say)."""
    hold_choice(key)  # a run's label changes as it trains
    linked = st.query_params.get(RUN_PARAMETER)
    if linked is not None:
        del st.query_params[RUN_PARAMETER]
        if linked in by_id:
            st.session_state[key] = linked
    wanted = linked if linked is not None else st.session_state.get(key)
    run_id = st.selectbox("Run", list(by_id), format_func=describe, key=key, **KEEP)
    if wanted is not None and wanted not in by_id:
        where = "The link's run" if linked is not None else "Run"
        st.warning(f"{where} {wanted} is not here any more (deleted, or it has nothing to show "
                   f"on this page); showing {run_id}.", icon=":material/info:")  # fmt: skip
    return run_id


def run_picker(key: str, *, with_checkpoint: bool = True) -> runs.RunInfo | None:
    """A selectbox of runs, newest first; None (after an info box) when there are none.
    Damaged folders (listed on the Runs page) are left out unless config.json still says what
    network they hold."""
    found = [r for r in runs.list_runs() if r.model_config is not None]
    if with_checkpoint:
        found = [r for r in found if r.checkpoints]
    if not found:
        st.info("No trained runs yet. Train one on the Train page (the tiny preset takes seconds).")
        return None
    by_id = {r.run_id: r for r in found}

    def describe(run_id: str) -> str:
        run = by_id[run_id]
        accuracy, name = run.best_accuracy, BEST_NAMES.get(run.best_metric, "best")
        score = f" · {name} {accuracy:.1%}" if accuracy is not None else ""
        return f"{run_id} · {run.preset} · {run.status}{score}"

    return by_id[run_selectbox(key, by_id, describe)]


def checkpoint_picker(run: runs.RunInfo, key: str) -> str:
    """A selectbox of the run's checkpoints ('best', 'last', 'epoch_NNN'), 'best' first; it
    starts at the first whole one, and remembers the choice per run."""
    if not run.checkpoints:
        st.info(f"Run {run.run_id} has no saved checkpoint yet.")
        st.stop()
    options = sorted(run.checkpoints, key=lambda c: {"best": 0, "last": 1}.get(c, 2))
    whole = {c: checkpoints.is_whole(run.path, c) for c in options}
    first = next((i for i, c in enumerate(options) if whole[c]), 0)
    epochs, name = runs.checkpoint_epochs(run), BEST_NAMES.get(run.best_metric, "score")

    def describe(which: str) -> str:  # "best · epoch 3, val acc 61.2%"
        epoch, score = epochs.get(which, (None, None))
        facts = [f"epoch {epoch}"] if epoch and not which.startswith("epoch_") else []
        facts += [f"{name} {score:.1%}"] if score is not None else []
        text = f"{which} · {', '.join(facts)}" if facts else which
        return text if whole[which] else f"{text} (damaged)"

    key = f"{key}_{run.run_id}"  # per run, so each run starts at its own readable one
    hold_choice(key)  # "last · epoch 3" reads "last · epoch 4" once the next epoch is saved
    return st.selectbox(
        "Checkpoint",
        options,
        index=first,
        key=key,
        format_func=describe,
        help="best: the epoch with the highest validation accuracy (training accuracy for a "
        "run without a validation split); last: the final weights, whose test accuracy Train, "
        "Runs and the sidebar give.",
        **KEEP,
    )


def pick_checkpoint(prefix: str):
    """The run and checkpoint pickers, then the model: (run, which, version, model), where
    version is the checkpoint file's mtime, for caches. Stops the page with a message when
    there is no run or the checkpoint cannot be loaded."""
    run = run_picker(f"{prefix}_run")
    if run is None:
        st.stop()
    which = checkpoint_picker(run, f"{prefix}_checkpoint")
    try:
        version = os.path.getmtime(checkpoints.checkpoint_path(run.path, which))
        model = load_model_cached(str(run.path), which)
        checkpoints.check_matches(model, run.path, which, run.class_names)
    except Exception as exc:  # a missing, damaged or foreign checkpoint file
        whole = [c for c in run.checkpoints if c != which and checkpoints.is_whole(run.path, c)]
        show_error(exc, "Pick another checkpoint above." if whole else "Pick another run above.")
        st.stop()
    return run, which, version, model
