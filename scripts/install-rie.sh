#!/usr/bin/env bash
# AWS's Runtime Interface Emulator, pinned, installed once with go install into
# the target directory (one directory per version), for every suite that runs
# under it. Prints the binary's path on stdout; progress on stderr.
#
#   rie=$(bash scripts/install-rie.sh)
#   AWS_LAMBDA_RIE=/path/to/aws-lambda-rie bash scripts/install-rie.sh   # prints that path
#
# The pin (MODULE= and VERSION=) stays in scripts/rie-compare.sh, where the
# tests of every language read it.
#
# Exit status: 0 installed (or already there); 3 it could not be installed,
# with the reason on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

MODULE=$(sed -n 's/^MODULE=//p' scripts/rie-compare.sh)
VERSION=$(sed -n 's/^VERSION=//p' scripts/rie-compare.sh)
INSTALL_LIMIT_S=900

cannot() { echo "install-rie: cannot install: $*" >&2; exit 3; }

rie="${AWS_LAMBDA_RIE:-}"
if [ -z "$rie" ]; then
  command -v go >/dev/null 2>&1 || cannot "Go is not installed: install Go (1.26.6 or later), or set AWS_LAMBDA_RIE to an aws-lambda-rie binary"
  target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
  dir="$target/rie/$VERSION"
  rie="$dir/aws-lambda-rie"
  if [ ! -x "$rie" ]; then
    echo "install-rie: installing ${MODULE}@${VERSION} (go install, up to ${INSTALL_LIMIT_S} s)" >&2
    # Installed beside the final path, then renamed: an interrupted install
    # never leaves a half-written binary where the next run would take it.
    # The directory is per process, so two suites installing at once do not
    # write into each other's.
    tmp="$dir/.install-$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    started=$SECONDS
    # -mod=mod: a -mod=vendor in the caller's GOFLAGS would refuse to query the module.
    GOBIN="$tmp" GOFLAGS=-mod=mod timeout --kill-after=10 "$INSTALL_LIMIT_S" \
      go install "${MODULE}@${VERSION}" >&2 \
      || { rm -rf "$tmp"; cannot "go install ${MODULE}@${VERSION} failed or took over ${INSTALL_LIMIT_S} s (see above); or build the RIE from its source and set AWS_LAMBDA_RIE"; }
    mv -n "$tmp/aws-lambda-rie" "$rie"
    rm -rf "$tmp"
    echo "install-rie: installed in $((SECONDS - started)) s" >&2
  fi
fi
[ -x "$rie" ] || cannot "AWS_LAMBDA_RIE=$rie is not an executable"
printf '%s\n' "$rie"
