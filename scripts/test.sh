#!/usr/bin/env bash
# Set up everything the tests need, then run all of them: the fast hermetic
# suite, the real-component tests (MiniLM, a `chroma run` server, llama.cpp,
# Chromium), and the eval gate. CI runs exactly this (see .ci/run).
# Each phase says what it does and how long it took: nothing runs silently for minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { # step "what it does" command...: announce, run, say how long it took
  local label=$1 begun=$SECONDS
  shift
  echo "== $label"
  "$@"
  echo "   ($((SECONDS - begun)) s; $((SECONDS - started)) s so far)"
}
# pip's own lines (what it collects, builds and installs) without the hundreds of
# "Requirement already satisfied" lines of a warm install. pip prints "still running..."
# every minute while it compiles, so a long build is never silent.
pip_install() {
  local status=0
  .venv/bin/python -m pip install --progress-bar off "$@" 2>&1 |
    { grep --line-buffered -v "^Requirement already satisfied" || true; } || status=$?
  return "$status"
}

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || step "creating .venv" "$PYTHON" -m venv .venv
step "upgrading pip" .venv/bin/python -m pip install --quiet --upgrade pip

# Cheap checks first, so a lint or format slip fails in seconds, before the
# heavy install (llama.cpp compiles on a cold pip cache).
step "installing ruff" pip_install ruff==0.17.6
step "ruff check" .venv/bin/ruff check src tests bench scripts support app.py
step "ruff format --check" .venv/bin/ruff format --check src tests bench scripts support app.py

# llama-cpp-python compiles llama.cpp. Built with -march=native it uses the CPU's AMX
# instructions where there are some, and crashes (SIGSEGV) where the sandbox does not enable
# them: build for generic x86-64 with AVX2 instead, unless CMAKE_ARGS says otherwise.
if [ "$(uname -m)" = x86_64 ]; then
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
fi
# torch is pinned to 2.13.0 in pyproject.toml; pip takes the CPU build.
# [train] too: a test runs the reader's training script for a few steps (datasets, accelerate).
step "installing qa-bot with [llm,test,train]: about 2 minutes with pip's cache warm; on a cold one, downloads and a llama.cpp build (about 6 minutes on 2 cores)" \
  pip_install -e '.[llm,test,train]'
# pip reuses a cached llama-cpp-python wheel whatever CMAKE_ARGS says; if a natively built
# one crashes here, drop it from the cache and build it once more.
if ! .venv/bin/python scripts/check_llama.py >/dev/null 2>&1; then
  echo "== llama-cpp-python crashed on a one-token generation: rebuilding it (about 6 minutes)"
  .venv/bin/python -m pip cache remove 'llama_cpp_python*' >/dev/null 2>&1 || true
  pip_install --force-reinstall --no-deps "llama-cpp-python==0.3.36"
  .venv/bin/python scripts/check_llama.py
fi

# Types next (mypy needs the installed packages to check calls into them): seconds.
step "mypy" .venv/bin/mypy

# Browser tests drive Debian's Chromium (Playwright cannot download its own here).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  step "installing Debian's chromium for the browser tests" \
    bash -c "$SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null"
fi

# QA_BOT_REQUIRE_ALL=1 turns any skipped test into a failure: everything is installed here.
# The tests that need the public data sets (tests/public_data.py) may skip, naming what they
# need, unless QA_BOT_REQUIRE_DATA=1 (.ci/run: CI has the data).
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False QA_BOT_REQUIRE_ALL=1

# -m "" selects every test, including those marked slow, browser and llm.
step "pytest: every test, one line per test file (about 30 minutes on 2 cores)" \
  .venv/bin/python -m pytest -m "" "$@"
