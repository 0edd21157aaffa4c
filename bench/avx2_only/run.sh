#!/usr/bin/env bash
# Run a command as on an AVX2-only x86 CPU (AMD EPYC Rome/Milan: no AVX-512, VNNI, BF16
# or AMX), on a CPU that has them: CPUID is trapped and answered without them (see
# cpuid_avx2.c for how, and for what this does not emulate). Children inherit it.
#
#   bench/avx2_only/run.sh .venv/bin/python bench/ingest.py FOLDER --compare
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=${CPUID_AVX2_LIB:-${TMPDIR:-/tmp}/cpuid_avx2-$(id -u).so}
grep -qw cpuid_fault /proc/cpuinfo || { echo "no CPUID faulting on this CPU/kernel" >&2; exit 3; }
[ "$lib" -nt "$here/cpuid_avx2.c" ] || "${CC:-cc}" -O2 -Wall -shared -fPIC -o "$lib" "$here/cpuid_avx2.c"
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" CPUID_AVX2_REQUIRED=1
# glibc chose its string functions before the library loaded: take AVX-512 from it too.
export GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512DQ,-AVX512VL,-AVX512BW,-AVX512CD
exec "$@"
