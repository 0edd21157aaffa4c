#!/usr/bin/env bash
# Fetch a real-PDF benchmark corpus from Debian documentation packages, outside the repo.
#
#   bench/fetch_corpus.sh OUTDIR [small|large]
#
#   small: pari-doc            (12 PDFs, ~1,300 pages of LaTeX manuals)
#   large: pari-doc + gcl-doc  (16 PDFs, ~2,700 pages)
#
# Uses only `apt-get download` and `dpkg-deb -x` (nothing is installed system-wide);
# run `apt-get update` once first. Versions are pinned; if a pinned version has left
# the archive, the current one is taken and a warning is printed.
set -euo pipefail
out=${1:?usage: $0 OUTDIR [small|large]}
size=${2:-small}
pkgs=("pari-doc=2.15.2-1")
[ "$size" = large ] && pkgs+=("gcl-doc=2.6.14-4")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0777 "$work"  # lets apt's sandbox user write the download
cd "$work"
for p in "${pkgs[@]}"; do
  apt-get download -qq "$p" 2>/dev/null || {
    echo "WARNING: $p is no longer in the archive; fetching the current ${p%%=*}" >&2
    apt-get download -qq "${p%%=*}"
  }
done
for deb in *.deb; do dpkg-deb -x "$deb" tree; done
find tree -name '*.pdf.gz' -exec gunzip -f {} +
mkdir -p "$out"
find tree -name '*.pdf' -exec cp {} "$out" \;
echo "$(find "$out" -name '*.pdf' | wc -l) PDFs in $out" >&2
