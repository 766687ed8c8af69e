"""What the Runs page says about runs beyond their own fields: the rows of its table, a run's
settings as one flat dict and their names in words, the legend names of compared runs, its
epochs and checkpoints in words, its scores as percentages, its log files read with a warning
in place of an error, which runs train now.
"""

import dataclasses

import pandas as pd
import streamlit as st

from alexnet_core import checkpoints, config, run_logs, run_text, runs

# Fields of both ModelConfig and TrainConfig (image_size: the network's input, the data's size).
BOTH_CONFIGS = {f.name for f in dataclasses.fields(config.ModelConfig)} & {
    f.name for f in dataclasses.fields(config.TrainConfig)
}


def settings(run: runs.RunInfo) -> dict[str, str]:
    """The run's model and training settings as one flat dict ('model.width': '0.5', ...), each
    value as the pages show it (run_text.setting_text)."""
    flat = {}
    for part, values in (("model", run.model_config), ("training", run.train_config)):
        if values is not None:
            for name, value in config.config_to_dict(values).items():
                flat[f"{part}.{name}"] = run_text.setting_text(value)
    return flat


def words(key: str) -> str:
    """A setting's key as words: 'training.learning_rate' -> 'learning rate'; a field of both
    configs says whose: 'image size (model)', 'image size (training)'."""
    part, name = key.split(".", 1)
    shown = name.replace("_", " ")
    return f"{shown} ({part})" if name in BOTH_CONFIGS else shown


def legend_names(differ: pd.DataFrame, most: int = 2) -> dict[str, str]:
    """Each compared run's legend entry: its id and `most` settings in which the runs differ
    ('… · activation tanh'), the rest in the table below the chart. Its rarest values come
    first, in the table's order: those that tell it from the most other runs (two runs of one
    preset differ from each other in their epochs, not in their preset)."""
    names = {}
    for run_id, values in differ.items():
        kept = [(key, value) for key, value in values.items()
                if value != run_text.setting_text(None)]  # an older run may lack one  # fmt: skip
        kept.sort(key=lambda item: int((differ.loc[item[0]] == item[1]).sum()))  # stable
        parts = [f"{words(key)} {value}" for key, value in kept]
        shown = ", ".join(parts[:most]) + (", …" if len(parts) > most else "")
        names[run_id] = f"{run_id} · {shown}" if parts else run_id
    return names


def epochs_text(run: runs.RunInfo) -> str:
    """'3/10': epochs done of those asked for; '?' where a damaged file hides the number."""
    done = "?" if run.status == "damaged" else run.epochs_done
    return f"{done}/{run.train_config.epochs if run.train_config else '?'}"


def table_rows(found: list[runs.RunInfo]) -> list[dict]:
    """Runs' table, a row per run: what each run reached first; a window too narrow for the
    table scrolls to how it was set up."""
    rows = []
    for run in found:
        train = run.train_config
        rows.append(
            {
                "run": run.run_id,
                "status": run.status,
                "epochs": epochs_text(run),
                "test acc %": percent(run.test_accuracy),
                "best val acc %": percent(run.best_val_accuracy),
                "preset": run.preset,
                "changed from the preset": run_text.preset_changes(run) or "—",
                "duration (s)": run.duration_s,
                "optimizer": train.optimizer if train else "—",
                "learning rate": train.learning_rate if train else None,
                "batch size": train.batch_size if train else None,
                "device": run.device or "—",
                "created": run.created.replace("T", " ")[:16] or "—",  # to the minute
            }
        )
    return rows


def checkpoint_notes(run: runs.RunInfo) -> list[str]:
    """What is missing or damaged among a trained run's best.keras and last.keras, and what it
    means, a sentence each."""
    if not run.epochs_done or run.status in ("damaged", *runs.ACTIVE_STATUSES):
        return []
    if not {"best", "last"} & set(run.checkpoints):
        return [f"{run.run_id} has no checkpoint: best.keras and last.keras are gone, so it "
                "cannot go on, and Feature maps, Classify and Evaluate leave it out."]  # fmt: skip
    state = {name: "missing" if name not in run.checkpoints else
             "damaged (not a whole .keras file)" if not checkpoints.is_whole(run.path, name)
             else "" for name in ("best", "last")}  # fmt: skip
    means = {"best": "the other pages open last.keras", "last": "the run cannot go on from it"}
    return [f"{run.run_id}: {name}.keras is {problem}, so {means[name]}."
            for name, problem in state.items() if problem]  # fmt: skip


def percent(share: float | None) -> float | None:
    return None if share is None else 100 * share


def readable(load, run: runs.RunInfo, what: str):
    """What `load` (run_logs.load_history, ...) reads from the run's folder; None after a
    warning when its file is damaged, so one bad file leaves the rest of the page working."""
    try:
        return load(run.path)
    except ValueError as exc:
        st.warning(f"{run.run_id}: {what}. {exc}", icon=":material/warning:")
        return None


def fell_to(run: runs.RunInfo, error: float) -> tuple | None:
    """When the run's training error fell to `error` (run_logs.reached_error), its epochs so
    far, and whether it still trains; None for a run without a finished epoch, and after a
    warning for a damaged history."""

    def load(path):
        rows = run_logs.load_history(path)
        return run_logs.reached_error(rows, error), len(rows), run.status in runs.ACTIVE_STATUSES

    answer = readable(load, run, f"damaged, so when it fell to {error:.0%} is not said")
    return answer if answer and answer[1] else None


def training_now(listed: list[runs.RunInfo]) -> tuple[str, ...]:
    return tuple(r.run_id for r in listed if r.status in runs.ACTIVE_STATUSES)


def show_figure_one(pair: dict[str, str]) -> None:
    """Compare the figure-1 runs as the figure did: their training error, batch by batch."""
    st.session_state.runs_compare = list(pair.values())
    st.session_state.runs_metric = "batch_error"
