#!/usr/bin/env bash
# The benchmarks on the lent GPU machine (an H200 with JAX and no TensorFlow): Keras travels
# as wheels and runs on its JAX backend; CIFAR-10 travels as the 18.5 MB packed copy.
#
#   bash bench/gpu.sh prepare      # here, once: wheels into .whl/, data into .device-data/
#   bash bench/gpu.sh check        # here: the same steps on this CPU under JAX, tiny and quick
#
# then one device `run` per part, each with carry [".whl", ".device-data"]:
#
#   bash bench/gpu.sh speed        # throughput of every preset but tiny, about 2 min
#   bash bench/gpu.sh cifar_gpu    # the GPU preset, as many epochs as fit in $MINUTES (3)
#   bash bench/gpu.sh tutorial     # the tutorial's network with our training, $MINUTES (3)
#
# Each part prints its table and copies its JSON result to $OUT (commit it to bench/results/),
# with its own runs' config, status and histories under $OUT/runs/; a part is stopped after
# $LIMIT s (300; it then exits 3), so even an overrun brings back the epochs it finished.
# A session has 15 minutes of device time in all, the machine's start included: run cifar_gpu
# with timeout_s 360 (its $MINUTES of training, compiling and the test views, and a minute
# for the stop and the copies), then tutorial at once if `status` leaves 6 minutes, and speed
# only if time is left. A shorter budget: lower MINUTES and LIMIT together.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKED=.device-data/cifar10-jpeg-packed.npz
MINUTES=${MINUTES:-3}
LIMIT=${LIMIT:-300}  # seconds a part may run: a minute under the device call's 360, so its files come back
OUT=${OUT:-$(mktemp -d)}  # the device tool's folder; a fresh one here

jax_env() {
    export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
    export ALEXNET_RUNS_DIR=${ALEXNET_RUNS_DIR:-/tmp/alexnet-runs}
    export ALEXNET_CACHE_DIR=${ALEXNET_CACHE_DIR:-/tmp/alexnet-cache}
}

device_env() {  # on the device machine: its python3 has JAX; Keras comes from the wheels
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
    # A folder of this part's runs only: a warm machine keeps the last part's, and a call
    # brings back at most 8 files.
    ALEXNET_RUNS_DIR=$(mktemp -d /tmp/alexnet-runs-XXXXXX)
    export ALEXNET_RUNS_DIR
    jax_env
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    PYTHON=python3
}

part() {  # one benchmark, stopped after $LIMIT s; what it wrote goes to $OUT either way
    local stamp status=0 run
    stamp=$(mktemp)
    timeout "$LIMIT" "$PYTHON" -m "$@" || status=$?
    mkdir -p "$OUT"
    find bench/results -name '*.json' -newer "$stamp" -exec cp {} "$OUT/" \;
    for run in "$ALEXNET_RUNS_DIR"/*/; do  # each run's histories: an overrun keeps its epochs
        [ -d "$run" ] || continue
        mkdir -p "$OUT/runs/$(basename "$run")"
        cp "$run"*.json "$run"*.csv "$OUT/runs/$(basename "$run")/" 2>/dev/null || true
    done
    find "$OUT" -type f | sort
    if [ "$status" = 124 ]; then  # timeout's own code reads as the device call's: not ours
        echo "stopped after LIMIT=$LIMIT s; the epochs it finished are under $OUT/runs/" >&2
        return 3
    fi
    return "$status"
}

case "${1:-}" in
prepare)
    version=$(.venv/bin/python -c "import keras; print(keras.__version__)")
    rm -rf .whl && mkdir -p .whl .device-data
    for package in "keras==$version" namex optree; do
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --platform manylinux_2_28_x86_64 \
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
            --platform any -d .whl "$package"
    done
    cp ../shared/datasets/cifar10-jpeg-packed.npz "$PACKED"
    ls -l .whl .device-data
    ;;
check)  # this CPU, the JAX backend from requirements-dev.txt, a tiny run on the sample.
    # No random shift: JAX on a CPU compiles Keras' RandomTranslation for about 20 s and runs
    # it at about 0.3 s a batch of 32 (a GPU's gathers are another matter).
    # XLA's CPU compiler at optimisation level 0 builds the tiny model in 1.8 s instead of 13.7
    # (each weight initialiser is compiled): compiling, not running, is what a tiny run waits for.
    jax_env; PYTHON=${PYTHON:-.venv/bin/python}
    export XLA_FLAGS="${XLA_FLAGS:-} --xla_backend_optimization_level=0"
    export ALEXNET_RUNS_DIR=$(mktemp -d)
    part bench.throughput --presets tiny --batch-sizes 32 --steps 2 \
        --no-tutorial-code --overhead-images 0 --no-save
    part bench.accuracy --preset tiny --dataset sample --epochs 1 --train-subset 512 \
        --augment-flip --no-save
    ;;
speed)
    device_env
    part bench.throughput --batch-sizes 128 256 --steps 20 --overhead-images 0
    ;;
cifar_gpu)
    device_env
    part bench.accuracy --preset cifar_gpu --dataset "$PACKED" --minutes "$MINUTES" \
        --mixed-precision
    ;;
tutorial)  # the tutorial's network (227x227 inputs) with flips, shifts and one-cycle SGD
    device_env
    part bench.accuracy --preset tutorial --dataset "$PACKED" --minutes "$MINUTES" \
        --mixed-precision --augment-flip --augment-shift 4 --batch-size 128 \
        --schedule one_cycle --learning-rate 0.02 --label-smoothing 0.1 --nesterov \
        --weight-decay 0.0005
    ;;
*)
    sed -n '2,20p' "$0"; exit 2
    ;;
esac
