#!/usr/bin/env bash
# Makes docs/timeline.png, the README's picture of the timeline: the small embedded demo run with
# --timeline, opened in headless Chromium at one event (the page's #event=N&span=MS), so that the
# picture shows lanes, arrows and a clicked event's trace line. Needs chromium (apt-get install
# chromium). Usage: docs/timeline-screenshot.sh [EVENT [SPAN_MS [OUT.png]]]
set -euo pipefail
cd "$(dirname "$0")/.."
event=${1:-120}
span=${2:-1.2}
out=${3:-docs/timeline.png}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --release -q -p demo
target/release/demo --demo-scale small --timeline "$tmp/timeline.html" -o "$tmp/files" >/dev/null
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$tmp/profile" \
  --hide-scrollbars --window-size=1400,900 --screenshot="$tmp/shot.png" \
  "file://$tmp/timeline.html#event=$event&span=$span" 2>/dev/null
mv "$tmp/shot.png" "$out"
echo "wrote $out ($(du -h "$out" | cut -f1)); the page was $(du -h "$tmp/timeline.html" | cut -f1)"
