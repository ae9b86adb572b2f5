#!/usr/bin/env bash
# libFuzzer targets for every parser of untrusted bytes (Fuzz/Targets/*.swift), with AddressSanitizer.
#   scripts/fuzz.sh [RUNS] [TARGET ...]      (make fuzz; RUNS per target, default 1000000)
# SwiftPM cannot link a libFuzzer executable target, so the library targets are built with the sanitizers
# into .build-fuzz and each driver is linked against their objects with swiftc. Corpora grow in
# .build-fuzz/corpus/TARGET from the committed seeds in Fuzz/Corpus/TARGET; crashes are written to
# .build-fuzz/crashes/. Prints the executions of each target.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(checkpoint pickle safetensors idx gzip npy csv cifar animalmnist image notebook)
fi
scratch=.build-fuzz
swift build -c debug --scratch-path "$scratch" --target VPNotebook \
  -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address >&2
build="$scratch/debug"
objects=()
for dir in "$build"/VP*.build "$build"/CKernels.build "$build"/CImageShim.build "$build"/Yams.build "$build"/CYaml.build; do
  [[ $dir == *Tests.build || $dir == *TestSupport.build ]] && continue
  while IFS= read -r object; do objects+=("$object"); done < <(find "$dir" -name '*.o')
done
maps=()
for m in CZlib CCmark CBLAS CPNG CJPEG; do maps+=(-Xcc "-fmodule-map-file=Sources/$m/module.modulemap"); done
for m in "$build"/*.build/module.modulemap "$scratch"/checkouts/Yams/Sources/CYaml/include/module.modulemap; do
  maps+=(-Xcc "-fmodule-map-file=$m")
done
mkdir -p "$scratch/bin" "$scratch/crashes"
total=0
for target in "${targets[@]}"; do
  extra=()
  if grep -q fuzzFile "Fuzz/Targets/$target.swift"; then extra=(Fuzz/Targets/FileInput.swift); fi
  swiftc -sanitize=fuzzer,address -parse-as-library -g -I "$build/Modules" "${maps[@]}" \
    -Xcc -ISources/CKernels/include -Xcc -ISources/CImageShim/include \
    "Fuzz/Targets/$target.swift" "${extra[@]}" "${objects[@]}" \
    -lopenblas -lcmark -lpng -ljpeg -lz -o "$scratch/bin/$target" 2> >(grep -v "Cannot export local symbol" >&2)
  corpus="$scratch/corpus/$target"
  mkdir -p "$corpus"
  cp -n Fuzz/Corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  log="$scratch/$target.log"
  "$scratch/bin/$target" -runs="$runs" -rss_limit_mb=4096 -timeout=20 -artifact_prefix="$scratch/crashes/$target-" \
    "$corpus" > "$log" 2>&1 || { echo "$target: FAILED (see $log)"; tail -30 "$log"; exit 1; }
  done_runs=$(grep -o "Done [0-9]* runs" "$log" | grep -o "[0-9]*" || echo 0)
  total=$((total + done_runs))
  echo "$target: $done_runs executions, $(ls "$corpus" | wc -l) inputs in the corpus, $(grep -o 'cov: [0-9]*' "$log" | tail -1)"
done
echo "all targets: $total executions"
