"""Which CPU a board's Numba cache was compiled for, and which instructions past Armv8.0 it contains.

Runs on the host (no emulation): ``python arm/isa_report.py ~/.cache/litelens-arm/numba/pi4 [--forbid]``.
Numba's cache files hold each compiled kernel's ELF object (``*.nbc``) and an index naming the target
CPU (``*.nbi``). The objects are disassembled with ``aarch64-linux-gnu-objdump`` and every instruction
a Cortex-A72 (Raspberry Pi 4: Armv8.0-A + CRC, no crypto on the BCM2711) cannot execute is counted by
extension. ``--forbid`` exits 1 when there is any, so "the Pi 4 build really targets the Pi 4" is a
check, not a hope (qemu's cortex-a72 would also stop such code with SIGILL, but only on paths a test
reaches).
"""
from __future__ import annotations

import argparse
import collections
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

# Mnemonics (regex on the disassembly's mnemonic and operands) of extensions the Cortex-A72 lacks.
EXTENSIONS = {
    "dotprod (v8.2: sdot/udot)": re.compile(r"^(sdot|udot)\b"),
    "i8mm (v8.6)": re.compile(r"^(smmla|ummla|usmmla|usdot|sudot)\b"),
    "bf16 (v8.6)": re.compile(r"^(bfdot|bfmmla|bfmlal[bt]|bfcvt\w*)\b"),
    "rdm (v8.1: sqrdmlah/sqrdmlsh)": re.compile(r"^(sqrdmlah|sqrdmlsh)\b"),
    "lse atomics (v8.1)": re.compile(r"^(cas|casp|swp|ld(add|clr|eor|set|smax|smin|umax|umin)|st(add|clr|eor|set|smax|smin|umax|umin))[albh]*\b"),
    "rcpc (v8.3: ldapr)": re.compile(r"^ldapr\w*\b"),
    "fp16 arithmetic (v8.2)": re.compile(r"^f(add|sub|mul|mla|mls|div|max|min|abs|neg|sqrt|cm\w+|cvtz\w+|rint\w|ma?x?nm\w*)\w*\s+(h\d+|v\d+\.[48]h)\b"),
    "crypto (absent on BCM2711)": re.compile(r"^(aes[edm]\w*|sha1\w+|sha256\w+|sha512\w+|pmull2?\s+v\d+\.1q)"),
    "sve": re.compile(r"\bz\d+\.[bhsdq]\b|\bp\d+/[zm]\b"),
}
ELF_MAGIC = b"\x7fELF\x02\x01\x01"  # 64-bit, little-endian, version 1
CPU_NAMES = re.compile(rb"(cortex-a\d+|neoverse-\w+|apple-\w+|generic|x86-64\w*|skylake\w*|haswell|znver\d)")


def elf_objects(blob: bytes):
    """ELF images embedded in a pickled Numba cache file; size from the section header table."""
    start = blob.find(ELF_MAGIC)
    while start >= 0:
        e_shoff, = struct.unpack_from("<Q", blob, start + 0x28)
        e_shentsize, e_shnum = struct.unpack_from("<HH", blob, start + 0x3A)
        end = start + e_shoff + e_shentsize * e_shnum
        yield blob[start:end]
        start = blob.find(ELF_MAGIC, end)


def disassemble(objdump: str, image: bytes) -> list[tuple[str, str]]:
    """(function, instruction text) for every instruction of the object's code sections."""
    with tempfile.NamedTemporaryFile(suffix=".o") as f:
        f.write(image)
        f.flush()
        text = subprocess.run([objdump, "-d", "--no-show-raw-insn", f.name], capture_output=True, text=True,
                              check=True).stdout
    out, function = [], "?"
    for line in text.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if head:
            function = head.group(1)
            continue
        insn = re.match(r"^\s+[0-9a-f]+:\s+(.+)$", line)
        if insn:
            out.append((function, insn.group(1).split("//")[0].strip()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path, help="a board's Numba cache (arm/run.sh: ~/.cache/litelens-arm/numba/<board>)")
    parser.add_argument("--forbid", action="store_true", help="exit 1 if any instruction past the Cortex-A72 is found")
    parser.add_argument("--expect-cpu", help="exit 1 unless every index entry names this CPU (e.g. cortex-a72)")
    args = parser.parse_args(argv)
    objdump = shutil.which("aarch64-linux-gnu-objdump")
    if objdump is None:
        raise SystemExit("needs aarch64-linux-gnu-objdump (apt-get install binutils-aarch64-linux-gnu)")
    indexes, caches = sorted(args.cache.rglob("*.nbi")), sorted(args.cache.rglob("*.nbc"))
    if not caches:
        raise SystemExit(f"no Numba cache files under {args.cache}")
    cpus = collections.Counter(m.decode() for path in indexes for m in set(CPU_NAMES.findall(path.read_bytes())))
    found, per_kernel, instructions, objects = collections.Counter(), collections.defaultdict(collections.Counter), 0, 0
    for path in caches:
        for image in elf_objects(path.read_bytes()):
            objects += 1
            for function, insn in disassemble(objdump, image):
                instructions += 1
                for name, pattern in EXTENSIONS.items():
                    if pattern.search(insn):
                        found[name] += 1
                        per_kernel[path.name.split("-")[0]][insn.split()[0]] += 1
    print(f"{args.cache}: {len(caches)} cache files, {objects} objects, {instructions} instructions; "
          f"target CPU in the index: {dict(cpus) or 'none found'}")
    for name, count in found.most_common():
        print(f"  {name}: {count}")
    for kernel, counts in sorted(per_kernel.items()):
        print(f"    {kernel}: " + ", ".join(f"{m} x{n}" for m, n in counts.most_common()))
    if not found:
        print("  no instruction past Armv8.0 + CRC: runs on a Cortex-A72 (Raspberry Pi 4)")
    failed = False
    if args.expect_cpu and set(cpus) != {args.expect_cpu}:
        print(f"FAIL: expected every kernel compiled for {args.expect_cpu}, index names {dict(cpus)}")
        failed = True
    if args.forbid and found:
        print("FAIL: instructions a Cortex-A72 cannot execute")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
