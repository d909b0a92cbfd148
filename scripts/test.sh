#!/usr/bin/env bash
# Set up everything the tests need, then run all of them: the fast hermetic
# suite, the real-component tests (MiniLM, a `chroma run` server, llama.cpp,
# Chromium), and the eval gate. CI runs exactly this (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip

# Cheap checks first, so a lint or format slip fails in seconds, before the
# heavy install (llama.cpp compiles on a cold pip cache).
.venv/bin/python -m pip install --quiet ruff==0.17.6
echo "== ruff check, ruff format --check"
.venv/bin/ruff check src tests bench scripts support app.py
.venv/bin/ruff format --check src tests bench scripts support app.py

# llama-cpp-python compiles llama.cpp. Built with -march=native it uses the CPU's AMX
# instructions where there are some, and crashes (SIGSEGV) where the sandbox does not enable
# them: build for generic x86-64 with AVX2 instead, unless CMAKE_ARGS says otherwise.
if [ "$(uname -m)" = x86_64 ]; then
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
fi
# torch is pinned to 2.13.0 in pyproject.toml; pip takes the CPU build.
# [train] too: a test runs the reader's training script for a few steps (datasets, accelerate).
.venv/bin/python -m pip install --quiet -e '.[llm,test,train]'
# pip reuses a cached llama-cpp-python wheel whatever CMAKE_ARGS says; if a natively built
# one crashes here, drop it from the cache and build it once more.
if ! .venv/bin/python scripts/check_llama.py >/dev/null 2>&1; then
  echo "== llama-cpp-python crashed on a one-token generation: rebuilding it"
  .venv/bin/python -m pip cache remove 'llama_cpp_python*' >/dev/null 2>&1 || true
  .venv/bin/python -m pip install --quiet --force-reinstall --no-deps \
    "llama-cpp-python==0.3.36"
  .venv/bin/python scripts/check_llama.py
fi

# Types next (mypy needs the installed packages to check calls into them): seconds.
echo "== mypy"
.venv/bin/mypy

# Browser tests drive Debian's Chromium (Playwright cannot download its own here).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi

# QA_BOT_REQUIRE_ALL=1 turns any skipped test into a failure: everything is installed here.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False QA_BOT_REQUIRE_ALL=1

# -m "" selects every test, including those marked slow, browser and llm.
.venv/bin/python -m pytest -m "" "$@"
