#!/usr/bin/env python3
"""Where a wasm module's code goes, by crate, from its name section.

  scripts/wasm-sizes.py A.wasm            code bytes per crate (first path segment of each name)
  scripts/wasm-sizes.py A.wasm B.wasm     the same for both, B's growth first, and the functions
                                          that grew most or exist only in B

Needs demangled names: run `wasm-bindgen --target web --out-dir DIR` on the file under
target/*/wasm32-unknown-unknown/wasm-release/ without `--remove-name-section` (it demangles the
names that rustc left in the name section). Crate hashes are dropped so two builds compare by name.
"""
import collections
import re
import sys


def leb(b, i):
    result = shift = 0
    while True:
        x = b[i]
        i += 1
        result |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return result, i


def limits(b, j):
    flags = b[j]
    _, j = leb(b, j + 1)
    return leb(b, j)[1] if flags & 1 else j


def function_sizes(path):
    """{function name: code bytes}; imported functions come first in the index space."""
    b = open(path, "rb").read()
    i, imported, sizes, names = 8, 0, [], {}
    while i < len(b):
        section = b[i]
        n, i = leb(b, i + 1)
        end = i + n
        if section == 2:  # imports: count the functions among them
            count, j = leb(b, i)
            for _ in range(count):
                for _ in range(2):  # module, field
                    length, j = leb(b, j)
                    j += length
                kind = b[j]
                j += 1
                if kind == 0:
                    _, j = leb(b, j)
                    imported += 1
                elif kind == 1:  # table: reftype, limits
                    j = limits(b, j + 1)
                elif kind == 2:
                    j = limits(b, j)
                elif kind == 3:  # global: type, mutability
                    j += 2
                elif kind == 4:  # tag
                    _, j = leb(b, j + 1)
        elif section == 10:
            count, j = leb(b, i)
            for _ in range(count):
                length, j = leb(b, j)
                sizes.append(length)
                j += length
        elif section == 0:
            length, j = leb(b, i)
            if b[j : j + length] == b"name":
                j += length
                while j < end:
                    sub = b[j]
                    sub_len, j = leb(b, j + 1)
                    if sub == 1:
                        count, k = leb(b, j)
                        for _ in range(count):
                            index, k = leb(b, k)
                            length, k = leb(b, k)
                            names[index] = b[k : k + length].decode("utf8", "replace")
                            k += length
                    j += sub_len
        i = end
    out = collections.Counter()
    for n, size in enumerate(sizes):
        out[re.sub(r"\[[0-9a-f]+\]", "", names.get(n + imported, f"f{n}"))] += size
    return out


def by_crate(functions):
    crates = collections.Counter()
    for name, size in functions.items():
        m = re.match(r"<?([A-Za-z0-9_]+)", name)
        crates[m.group(1) if m else name[:20]] += size
    return crates


def kib(n):
    return f"{n / 1024:,.0f}"


def main(paths):
    if len(paths) == 1:
        functions = function_sizes(paths[0])
        total = sum(functions.values())
        print(f"code: {kib(total)} KiB in {len(functions)} functions")
        for crate, size in by_crate(functions).most_common(25):
            print(f"  {crate:28s} {kib(size):>8s} KiB  {100 * size / total:5.1f} %")
        return
    a, b = function_sizes(paths[0]), function_sizes(paths[1])
    ta, tb = sum(a.values()), sum(b.values())
    print(f"code: {kib(ta)} → {kib(tb)} KiB ({100 * (tb - ta) / ta:+.1f} %); functions {len(a)} → {len(b)}")
    ca, cb = by_crate(a), by_crate(b)
    print("by crate, largest growth first:")
    for crate in sorted(set(ca) | set(cb), key=lambda c: ca[c] - cb[c])[:15]:
        print(f"  {crate:28s} {kib(ca[crate]):>8s} → {kib(cb[crate]):>8s} KiB  ({(cb[crate] - ca[crate]) / 1024:+,.0f})")
    only_b = [(s, n) for n, s in b.items() if n not in a]
    grown = [(b[n] - a[n], n) for n in b if n in a]
    print(f"in both: {kib(sum(d for d, _ in grown))} KiB net growth; only in the second: {len(only_b)} functions, {kib(sum(s for s, _ in only_b))} KiB")
    print("grew most:")
    for d, n in sorted(grown, reverse=True)[:10]:
        print(f"  {d:+8,d} B  {n[:110]}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1:])
