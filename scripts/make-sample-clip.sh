#!/usr/bin/env bash
# Renders the README's sample clip: a 3 s, 640x360, 30 fps camera pan with a slow zoom over a
# real photograph from Debian's mate-backgrounds package (Wood.jpg, © 2008 Jean-François Fortin
# Tam, GPL-2+ — see /usr/share/doc/mate-backgrounds/copyright), with a quiet 440 Hz AAC track so
# that audio copying shows in the summary. The clip is generated on first use, not shipped: the
# photo's licence (GPL-2+) differs from kiln's (Apache-2.0).
#
# Usage: scripts/make-sample-clip.sh [OUTPUT]   (default .cache/samples/pan-640x360-30fps.mp4)
# Prints the path of the clip; does nothing when it already exists.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-.cache/samples/pan-640x360-30fps.mp4}"
PHOTO=/usr/share/backgrounds/mate/nature/Wood.jpg
if [ -s "$OUT" ]; then echo "$OUT"; exit 0; fi
command -v ffmpeg >/dev/null || { echo "make-sample-clip: ffmpeg not found; install it with: apt-get install ffmpeg" >&2; exit 1; }
[ -f "$PHOTO" ] || { echo "make-sample-clip: $PHOTO not found; install it with: apt-get install mate-backgrounds" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
TMP="$(dirname "$OUT")/.$(basename "$OUT" .mp4).partial.mp4"
trap 'rm -f "$TMP"' EXIT
# Twice the output size, then a per-frame zoom and pan, then an area downscale: smooth sub-pixel
# motion, as a real camera gives. 90 frames = 3 s.
ffmpeg -nostdin -v error -y -i "$PHOTO" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=3" \
  -filter_complex "[0:v]scale=1680:-2,loop=loop=89:size=1:start=0,settb=expr=1/30,setpts=N,\
scale=w='trunc(iw*(1+0.0015*n)/2)*2':h=-2:eval=frame,crop=w=1280:h=720:x='60+3*n':y='40+1.5*n',\
scale=640:360:flags=area,setsar=1,format=yuv420p[v];[1:a]volume=0.2[a]" \
  -map '[v]' -map '[a]' -r 30 -c:v libx264 -preset slow -crf 24 -profile:v high -c:a aac -b:a 48k \
  -movflags +faststart "$TMP"
mv "$TMP" "$OUT"
trap - EXIT
echo "$OUT"
