#!/usr/bin/env bash
# Audio fingerprint benchmark: takedown against fpcalc (Chromaprint 1.5, Debian's
# libchromaprint-tools) on the same generated files, in the same run.
#
#   bench/audio/run.sh   # ORIGINALS=2000 RECALL=20 DISTRACTORS=252 DISTRACTOR_SECONDS=62 SEED=1 JOBS=2
#
# ORIGINALS 60 s bulletins are banked; the first RECALL of them get every transform (RECALL
# queries per transform). DISTRACTORS bulletins of DISTRACTOR_SECONDS are never banked; each
# gives floor(DISTRACTOR_SECONDS / 10) non-overlapping 10 s windows, and every window is scored
# against every banked original: ORIGINALS x windows negative pairs per method (the defaults give
# 2,000 x 1,512 = 3,024,000). JOBS parallel workers for corpus, transforms and fpcalc.
# Reruns reuse corpus files, transforms and fpcalc output that already exist.
#
# Needs: ffmpeg, sox, espeak-ng, libchromaprint-tools (fpcalc), python3 (standard library).
# Corpus: espeak-ng speech (English, French, Arabic; neutral placeholder text only) with
# optional jingles and music beds, made under target/bench-corpus/audio (never committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
ORIGINALS=${ORIGINALS:-2000}
RECALL=${RECALL:-20}
DISTRACTORS=${DISTRACTORS:-252}
DISTRACTOR_SECONDS=${DISTRACTOR_SECONDS:-62}
SEED=${SEED:-1}
JOBS=${JOBS:-2}
out=$root/target/bench-corpus/audio
results=$root/target/bench-results/audio
mkdir -p "$out" "$results"
for tool in ffmpeg sox soxi espeak-ng fpcalc python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y ffmpeg sox espeak-ng libchromaprint-tools)"; exit 1; }
done
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
start=$(date +%s)
stamp() { echo "    ($(( $(date +%s) - start )) s)"; }

echo "==> corpus ($ORIGINALS originals, $RECALL with transforms, $DISTRACTORS distractors of $DISTRACTOR_SECONDS s, seed $SEED, $JOBS jobs)"
python3 "$root/bench/audio/corpus.py" "$out" "$ORIGINALS" "$RECALL" "$DISTRACTORS" "$DISTRACTOR_SECONDS" "$SEED" "$JOBS"
stamp

echo "==> transforms (originals 1..$RECALL)"
rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}'; }
# transforms ID FILE: writes every transformed copy of one original (keeping copies that are
# newer than the original) and its manifest lines to $out/q_ID.tsv.
transforms() {
  local id=$1 file=$2 b=$out/q_$1 k=0 dur sr r amp snr end off
  local lines=$b.tsv.part
  : > "$lines"
  dur=$(soxi -D "$file")
  sr=$(soxi -r "$file")
  q() { # transform-name output-file
    k=$((k + 1))
    printf 'query\t%s\t%s\t%s\t%s\t%s\n' "$((10000000 + id * 100 + k))" "$id" "$1" "$2" "$2.fpcalc" >> "$lines"
  }
  fresh() { [ -s "$1" ] && [ "$1" -nt "$file" ]; }
  fresh "${b}_mp3_128.mp3" || ff -i "$file" -c:a libmp3lame -b:a 128k "${b}_mp3_128.mp3"; q mp3_128k "${b}_mp3_128.mp3"
  fresh "${b}_mp3_64.mp3" || ff -i "$file" -c:a libmp3lame -b:a 64k "${b}_mp3_64.mp3"; q mp3_64k "${b}_mp3_64.mp3"
  fresh "${b}_mp3_32.mp3" || ff -i "$file" -c:a libmp3lame -b:a 32k "${b}_mp3_32.mp3"; q mp3_32k "${b}_mp3_32.mp3"
  fresh "${b}_aac.m4a" || ff -i "$file" -c:a aac -b:a 96k "${b}_aac.m4a"; q aac_96k_m4a "${b}_aac.m4a"
  fresh "${b}_opus16.ogg" || ff -i "$file" -c:a libopus -b:a 16k "${b}_opus16.ogg"; q opus_16k_ogg "${b}_opus16.ogg"
  fresh "${b}_opus24.ogg" || ff -i "$file" -c:a libopus -b:a 24k "${b}_opus24.ogg"; q opus_24k_ogg "${b}_opus24.ogg"
  fresh "${b}_vol.flac" || ff -i "$file" -af volume=-12dB "${b}_vol.flac"; q volume_-12dB_flac "${b}_vol.flac"
  fresh "${b}_loud.flac" || ff -i "$file" -af loudnorm=I=-16:TP=-1.5 -ar "$sr" "${b}_loud.flac"; q loudnorm "${b}_loud.flac"
  r=$(rms "$file")
  for snr in 20 10 5; do
    if ! fresh "${b}_noise${snr}.wav"; then
      amp=$(python3 -c "print($r * 10 ** (-$snr / 20) * 3 ** 0.5)")
      sox -n -r "$sr" -c 1 "${b}_n.wav" synth "$dur" whitenoise vol "$amp"
      sox -m -v 1 "$file" -v 1 "${b}_n.wav" "${b}_noise${snr}.wav" 2>/dev/null
      rm -f "${b}_n.wav"
    fi
    q "noise_${snr}dB" "${b}_noise${snr}.wav"
  done
  fresh "${b}_phone.wav" || ff -i "$file" -af "highpass=f=300,lowpass=f=3400" -ar 8000 "${b}_phone.wav"; q telephone_8k "${b}_phone.wav"
  end=$(python3 -c "print(max(1.0, $dur - 6.3))")
  fresh "${b}_trim.wav" || ff -ss 1.7 -i "$file" -t "$(python3 -c "print($end - 1.7)")" "${b}_trim.wav"; q trim_1.7s_start_4.6s_end "${b}_trim.wav"
  off=$(python3 -c "import random; random.seed($id * 7 + $SEED); print(round(random.uniform(3, $dur - 23), 2))")
  fresh "${b}_ex20.mp3" || ff -ss "$off" -i "$file" -t 20 -c:a libmp3lame -b:a 64k "${b}_ex20.mp3"; q excerpt_20s_mp3_64k "${b}_ex20.mp3"
  off=$(python3 -c "import random; random.seed($id * 11 + $SEED); print(round(random.uniform(3, $dur - 13), 2))")
  fresh "${b}_ex10.mp3" || ff -ss "$off" -i "$file" -t 10 -c:a libmp3lame -b:a 64k "${b}_ex10.mp3"; q excerpt_10s_mp3_64k "${b}_ex10.mp3"
  fresh "${b}_tempo_up.wav" || ff -i "$file" -af atempo=1.05 "${b}_tempo_up.wav"; q tempo_+5% "${b}_tempo_up.wav"
  fresh "${b}_tempo_down.wav" || ff -i "$file" -af atempo=0.95 "${b}_tempo_down.wav"; q tempo_-5% "${b}_tempo_down.wav"
  fresh "${b}_speed_up.wav" || ff -i "$file" -af "asetrate=$sr*1.03,aresample=$sr" "${b}_speed_up.wav"; q speed_+3% "${b}_speed_up.wav"
  fresh "${b}_speed_down.wav" || ff -i "$file" -af "asetrate=$sr*0.97,aresample=$sr" "${b}_speed_down.wav"; q speed_-3% "${b}_speed_down.wav"
  fresh "${b}_bed.mp3" || ff -i "$file" -i "$out/bed_${id}.wav" -filter_complex "[1]volume=-6dB[bed];[0][bed]amix=inputs=2:duration=first:normalize=0" -c:a libmp3lame -b:a 128k "${b}_bed.mp3"; q music_bed_mp3_128k "${b}_bed.mp3"
  mv "$lines" "$b.tsv"
}
export -f transforms ff rms
export out SEED
awk -F'\t' -v n="$RECALL" '$1 == "original" && $2 <= n {print $2 "\t" $3}' "$out/list.tsv" |
  xargs -P "$JOBS" -L 1 bash -c 'set -eo pipefail; transforms "$0" "$1"'
manifest=$out/manifest.tsv
{
  while IFS=$'\t' read -r role id file _desc; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$role" "$id" "$id" none "$file" "$file.fpcalc"
  done < "$out/list.tsv"
  awk -F'\t' -v n="$RECALL" '$1 == "original" && $2 <= n {print $2}' "$out/list.tsv" |
    while read -r id; do cat "$out/q_$id.tsv"; done
} > "$manifest"
echo "    $(grep -c . "$manifest") files in the manifest"
stamp

echo "==> fpcalc on every file (kept when newer than the file)"
# fpcalc 1.5.1 with FFmpeg 5 prints the fingerprint, then may exit 3 on "Error decoding audio
# frame (End of file)": judge by the output, not the status.
cut -f5 "$manifest" | xargs -P "$JOBS" -I{} sh -c \
  '[ -s "$1.fpcalc" ] && [ "$1.fpcalc" -nt "$1" ] || { fpcalc -raw -length 0 "$1" > "$1.fpcalc" 2>/dev/null || true; }' sh {}
echo "    $(cut -f6 "$manifest" | xargs grep -L FINGERPRINT= 2>/dev/null | wc -l) files without an fpcalc fingerprint"
stamp

echo "==> build the driver (release)"
export CARGO_TARGET_DIR=$root/target/h-audio-bench
cargo build --release --manifest-path "$root/bench/audio/Cargo.toml" 2>&1 | tail -1
driver=$CARGO_TARGET_DIR/release/takedown-audio-bench

echo "==> evaluate"
"$driver" eval "$manifest" | tee "$results/table.md"
stamp

echo "==> speed (60 s MP3 128k stereo 44.1 kHz and Opus 24k stereo 48 kHz)"
first=$(awk -F'\t' '$1=="original"{print $3; exit}' "$out/list.tsv")
ff -i "$first" -t 60 -ac 2 -ar 44100 -c:a libmp3lame -b:a 128k "$out/speed.mp3"
ff -i "$first" -t 60 -ac 2 -ar 48000 -c:a libopus -b:a 24k "$out/speed.opus.ogg"
"$driver" speed "$out/speed.mp3" "$out/speed.opus.ogg" | tee -a "$results/table.md"
python3 - "$out/speed.mp3" "$out/speed.opus.ogg" <<'PY' | tee -a "$results/table.md"
import subprocess, sys, time
print("\n| file | fpcalc (decode+fingerprint, whole process) ms | x real time |\n|---|---:|---:|")
for f in sys.argv[1:]:
    runs = []
    for _ in range(5):
        # fpcalc 1.5.1 with FFmpeg 5 prints the fingerprint, then exits 3 on "Error decoding
        # audio frame (End of file)": judge the run by its output, not its status.
        t = time.perf_counter(); r = subprocess.run(["fpcalc", "-raw", "-length", "0", f], capture_output=True)
        assert b"FINGERPRINT=" in r.stdout, r.stderr
        runs.append((time.perf_counter() - t) * 1e3)
    runs.sort(); print(f"| {f.rsplit('/', 1)[-1]} | {runs[2]:.1f} | {60e3 / runs[2]:.0f}x |")
PY
stamp
echo "tables: $results/table.md"
