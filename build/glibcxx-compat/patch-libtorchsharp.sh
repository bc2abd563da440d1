#!/usr/bin/env bash
# Makes the copies of TorchSharp's libLibTorchSharp.so in a build or publish folder loadable on
# hosts whose libstdc++ predates GCC 13 (Debian 12). Run by build/GlibcxxCompat.targets.
#
# libLibTorchSharp.so 0.107 needs GLIBCXX_3.4.32 for one symbol, std::ios_base_library_init().
# Where the host's libstdc++ lacks it, each copy gets (1) that version-needs entry marked weak,
# so the loader accepts the older libstdc++, and (2) a DT_NEEDED on libglibcxx-compat.so, a shim
# built here that defines the symbol. Copies are patched through a temporary file and a rename,
# so a file hard-linked into the NuGet cache is never written. Hosts with a newer libstdc++
# (Ubuntu 24.04, Debian 13, the container images) are left untouched.
#
# usage: patch-libtorchsharp.sh FOLDER WORK_FOLDER
set -euo pipefail

folder=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
shim_name=libglibcxx-compat.so
needed_version=GLIBCXX_3.4.32

mapfile -t libraries < <(find "$folder" -name libLibTorchSharp.so -type f 2>/dev/null)
[ ${#libraries[@]} -gt 0 ] || exit 0

die() { echo "patch-libtorchsharp.sh : error GLIBCXXCOMPAT: $*" >&2; exit 1; }

command -v g++ >/dev/null || die "g++ is needed to check the host's libstdc++ and build a shim for TorchSharp; install it with: apt-get install -y g++"
mkdir -p "$work"

tool=$work/elf_version_tool
if [ ! -x "$tool" ] || [ "$here/elf_version_tool.cpp" -nt "$tool" ]; then
    g++ -O2 -std=c++17 -o "$tool.tmp.$$" "$here/elf_version_tool.cpp" && mv -f "$tool.tmp.$$" "$tool"
fi

if "$tool" host-has libstdc++.so.6 "$needed_version" _ZSt21ios_base_library_initv; then
    exit 0 # the host's libstdc++ is new enough: nothing to do
fi

command -v patchelf >/dev/null || die "the host's libstdc++ lacks $needed_version, which TorchSharp needs; patching it needs patchelf: apt-get install -y patchelf"

shim=$work/$shim_name
if [ ! -f "$shim" ] || [ "$here/ios_base_library_init.cpp" -nt "$shim" ]; then
    g++ -O2 -shared -fPIC -o "$shim.tmp.$$" "$here/ios_base_library_init.cpp" && mv -f "$shim.tmp.$$" "$shim"
fi

for library in "${libraries[@]}"; do
    directory=$(dirname "$library")
    cp "$shim" "$directory/$shim_name.tmp.$$" && mv -f "$directory/$shim_name.tmp.$$" "$directory/$shim_name"

    if patchelf --print-needed "$library" | grep -qx "$shim_name"; then
        continue # patched by an earlier build
    fi
    patched=$library.tmp.$$
    cp "$library" "$patched"
    "$tool" weaken "$patched" "$needed_version" >/dev/null || { rm -f "$patched"; die "could not patch $library"; }
    patchelf --add-needed "$shim_name" "$patched" || { rm -f "$patched"; die "patchelf failed on $library"; }
    mv -f "$patched" "$library"
    echo "patched $library for the host's older libstdc++"
done
