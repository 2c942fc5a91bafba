#!/usr/bin/env bash
# Validate, lint, scan and build template.yaml with AWS's own tools, as `make test` does.
#
#   scripts/lint-template.sh [TEMPLATE]        (default: template.yaml)
#
# The tools (aws-sam-cli, cfn-lint, checkov; pinned in scripts/tools-requirements.txt) live in their
# own venv, .venv/tools: their exact pins (boto3, urllib3, packaging, pydantic) would downgrade the
# project venv. The venv is (re)built only when the pins change, so a second run installs nothing.
#
# `sam build` needs a Python matching the functions' Runtime on PATH. The template says python3.12;
# this script finds python3.12 on PATH, else in pyenv (installed but not active on our machines),
# else in $STEPSAGA_BUILD_PYTHON, and puts its folder first on PATH for the build only.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPLATE=${1:-template.yaml}
TOOLS=.venv/tools
REQUIREMENTS=scripts/tools-requirements.txt
STAMP=$TOOLS/.requirements.txt

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { printf '\n== %s\n' "$*"; }

# --- tools ---------------------------------------------------------------------------------------
if [[ ! -x $TOOLS/bin/sam || ! -x $TOOLS/bin/checkov ]] || ! cmp -s "$REQUIREMENTS" "$STAMP"; then
    step "installing the template tools into $TOOLS"
    t=$(now)
    rm -rf "$TOOLS"
    "${PYTHON:-python3}" -m venv "$TOOLS"
    # (The filter drops pip's notes about index folders some machines list in their pip.conf.)
    { "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
      "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"; } 2>&1 |
        { grep -v "is ignored: it is neither a file nor a directory" || true; }
    cp "$REQUIREMENTS" "$STAMP"
    echo "installed in $(took "$t")"
fi

# --- a credential-free, offline-friendly environment ---------------------------------------------
# Validation must not depend on anyone's AWS account, nor call AWS: no credentials, no profile,
# no instance metadata, no telemetry, and no checkov platform look-ups (there is no network here).
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0 BC_SKIP_MAPPING=TRUE

# --- checks --------------------------------------------------------------------------------------
step "sam validate (the SAM translator: catches policy-template mistakes)"
t=$(now); "$TOOLS/bin/sam" validate -t "$TEMPLATE"; echo "($(took "$t"))"

step "sam validate --lint"
t=$(now); "$TOOLS/bin/sam" validate --lint -t "$TEMPLATE"; echo "($(took "$t"))"

step "cfn-lint (fails on errors and warnings)"
t=$(now); "$TOOLS/bin/cfn-lint" --non-zero-exit-code warning -- "$TEMPLATE"; echo "no errors or warnings ($(took "$t"))"

step "checkov (every skip is declared in the resource's Metadata with a reason)"
t=$(now)
"$TOOLS/bin/checkov" -f "$TEMPLATE" --framework cloudformation --compact --quiet --skip-download
echo "($(took "$t"))"

# --- sam build -----------------------------------------------------------------------------------
runtime=$(grep -m1 -oE 'Runtime: python3\.[0-9]+' "$TEMPLATE" | cut -d' ' -f2 || true)
if [[ -n $runtime ]]; then
    version=${runtime#python}
    matches() { [[ -x $1 ]] && "$1" -c "import sys; sys.exit(sys.version_info[:2] != (${version/./, }))" 2>/dev/null; }
    build_python=""
    pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    # A pyenv shim on PATH exits 127 when its version is not active, so each candidate is run.
    for candidate in "$(command -v "python$version" || true)" $(ls -d "$pyenv_root"/versions/"$version"*/bin/"python$version" 2>/dev/null | sort -rV) "${STEPSAGA_BUILD_PYTHON:-}"; do
        if [[ -n $candidate ]] && matches "$candidate"; then build_python=$candidate; break; fi
    done
    if [[ -z $build_python ]]; then
        echo "sam build needs Python $version for Runtime $runtime, and found none on PATH or in pyenv ($pyenv_root/versions)." >&2
        echo "Install it (pyenv install $version) or set STEPSAGA_BUILD_PYTHON=/path/to/python$version." >&2
        exit 1
    fi
    step "sam build ($runtime with $build_python)"
    t=$(now)
    # Its own build and cache folders: a developer's .aws-sam/build is left alone.
    mkdir -p .aws-sam/lint
    if ! PATH="$(dirname "$build_python"):$PATH" "$TOOLS/bin/sam" build -t "$TEMPLATE" \
        --build-dir .aws-sam/lint/build --cache-dir .aws-sam/lint/cache --cached >.aws-sam/lint/build.log 2>&1; then
        cat .aws-sam/lint/build.log >&2
        exit 1
    fi
    echo "Build Succeeded ($(took "$t"))"
fi
