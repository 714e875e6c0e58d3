"""The OCI image of the whole workspace, built without any image registry.

`python -m licheng.deploy.image build` (or `./licheng image`):

1. **Base**: a Debian bookworm root filesystem made with `debootstrap --variant=minbase`, with
   Python 3.11, Pango and HarfBuzz's subsetter (WeasyPrint), a CJK font and CA certificates,
   plus the unprivileged user `licheng` (uid/gid 10001); trimmed of apt's caches and docs and
   packed as a tarball cached under `~/.cache/licheng/image/` (keyed by its recipe), so a warm
   build skips it.
2. **Application**: wheels of the workspace's runtime packages (`uv build`), installed with
   their locked dependencies (`uv export` as constraints) into `/opt/licheng/site` for CPython
   3.11 on manylinux; compiled to bytecode (the root filesystem is read-only at run time); one
   small launcher per console script in `/usr/local/bin` (`licheng-identity`, …) and
   `licheng-healthcheck`.
3. **Image**: `buildah bud` of `deploy/image/Containerfile` (`FROM scratch`, the two tarballs,
   user 10001, a health check) with the vfs storage driver and chroot isolation, into the
   containers storage that `podman` then runs from.

No secret is in the image: every setting comes from the environment at run time.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
CONTAINERFILE = REPO_ROOT / "deploy" / "image" / "Containerfile"
CACHE = Path(os.environ.get("LICHENG_CACHE", Path.home() / ".cache" / "licheng")) / "image"
STORAGE = REPO_ROOT / "var" / "containers"
SUITE = "bookworm"
MIRROR = os.environ.get("LICHENG_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = (
    "python3",
    "ca-certificates",
    "libpango-1.0-0",
    "libpangoft2-1.0-0",
    "libharfbuzz-subset0",
    "fonts-wqy-microhei",
)
UID = 10001
# The workspace members that run in production (not the test support, not the local runner).
RUNTIME_PACKAGES = (
    "licheng-contracts",
    "licheng-kit",
    "licheng-identity",
    "licheng-course-outcomes",
    "licheng-performances",
    "licheng-guidance",
    "licheng-exports",
    "licheng-gateway",
    "licheng-web",
)
TRIMMED = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")
HEALTHCHECK = '''#!/usr/bin/python3
"""Exit 0 when this container's Licheng process answers /healthz (its port from the settings)."""
import os
import sys
import urllib.request

ports = [v for k, v in os.environ.items() if k.startswith("LICHENG_") and k.endswith("_PORT")]
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/healthz", timeout=3) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
'''


@dataclass(frozen=True)
class BuiltImage:
    """The image's name in the containers storage, and where that storage lives."""

    name: str
    storage: Path

    def podman(self, *args: str) -> list[str]:
        """A podman command line on this storage (rootful, vfs, runc, cgroupfs, no ulimits)."""
        return ["podman", *storage_flags(self.storage), *args]


def storage_flags(storage: Path) -> list[str]:
    """Flags that put podman and buildah on the project's own containers storage."""
    return [
        "--root",
        str(storage / "storage"),
        "--runroot",
        str(storage / "run"),
        "--storage-driver",
        "vfs",
        "--cgroup-manager",
        "cgroupfs",
        "--runtime",
        "runc",
    ]


def containers_env(storage: Path) -> dict[str, str]:
    """The environment podman and buildah run with: a containers.conf of our own."""
    conf = storage / "containers.conf"
    if not conf.exists():
        conf.parent.mkdir(parents=True, exist_ok=True)
        # No default ulimits (this machine's hard limits are lower than podman's defaults);
        # no cgroups namespace games: a plain chroot-like runtime on the host network.
        conf.write_text(
            '[containers]\ndefault_ulimits = []\nnetns = "host"\ncgroupns = "host"\n'
            '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
            encoding="utf-8",
        )
    return {**os.environ, "CONTAINERS_CONF": str(conf), "BUILDAH_ISOLATION": "chroot"}


def _run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}… failed:\n{done.stderr[-4000:]}")
    return done.stdout


def _base_key() -> str:
    recipe = json.dumps([SUITE, MIRROR, PACKAGES, UID, TRIMMED, 2])
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def base_rootfs() -> Path:
    """The cached base tarball, made with debootstrap when missing."""
    tarball = CACHE / f"rootfs-{SUITE}-{_base_key()}.tar"
    if tarball.exists():
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="licheng-rootfs-", dir=CACHE) as folder:
        root = Path(folder) / "rootfs"
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
              str(root), MIRROR])  # fmt: skip
        for path in TRIMMED:
            shutil.rmtree(root / path, ignore_errors=True)
            (root / path).mkdir(parents=True, exist_ok=True)
        with (root / "etc" / "passwd").open("a", encoding="utf-8") as passwd:
            passwd.write(f"licheng:x:{UID}:{UID}:Licheng:/nonexistent:/usr/sbin/nologin\n")
        with (root / "etc" / "group").open("a", encoding="utf-8") as group:
            group.write(f"licheng:x:{UID}:\n")
        partial = tarball.with_suffix(".partial")
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."])
        partial.rename(tarball)
    return tarball


def _console_scripts() -> dict[str, str]:
    scripts: dict[str, str] = {}
    for pyproject in sorted(REPO_ROOT.glob("*/pyproject.toml")) + sorted(
        REPO_ROOT.glob("services/*/pyproject.toml")
    ):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") in RUNTIME_PACKAGES:
            scripts.update(project.get("scripts", {}))
    return scripts


def application_layer(work: Path) -> Path:
    """The workspace's runtime packages and their locked dependencies, as a tarball."""
    wheels, root = work / "wheels", work / "app"
    site = root / "opt" / "licheng" / "site"
    for package in RUNTIME_PACKAGES:
        _run(["uv", "build", "--package", package, "--wheel", "--out-dir", str(wheels), "--quiet"],
             cwd=REPO_ROOT)  # fmt: skip
    constraints = work / "constraints.txt"
    constraints.write_text(
        _run(["uv", "export", "--frozen", "--all-packages", "--no-dev", "--no-hashes",
              "--no-emit-workspace", "--no-header"], cwd=REPO_ROOT),
        encoding="utf-8",
    )  # fmt: skip
    _run(["uv", "pip", "install", "--quiet", "--target", str(site), "--python-version", "3.11",
          "--python-platform", "x86_64-manylinux_2_36", "--constraints", str(constraints),
          *map(str, sorted(wheels.glob("*.whl")))], cwd=REPO_ROOT)  # fmt: skip
    shutil.rmtree(site / "bin", ignore_errors=True)  # host-specific launchers; ours follow
    _run([sys.executable, "-m", "compileall", "-q", "-j", "0", "-d", "/opt/licheng/site",
          str(site)])  # fmt: skip
    bin_dir = root / "usr" / "local" / "bin"
    bin_dir.mkdir(parents=True)
    for name, target in _console_scripts().items():
        module, function = target.split(":")
        launcher = bin_dir / name
        launcher.write_text(
            f"#!/usr/bin/python3\nimport sys\nfrom {module} import {function}\n"
            f"sys.exit({function}())\n",
            encoding="utf-8",
        )
        launcher.chmod(0o755)
    health = bin_dir / "licheng-healthcheck"
    health.write_text(HEALTHCHECK, encoding="utf-8")
    health.chmod(0o755)
    layer = work / "app.tar"
    with tarfile.open(layer, "w") as archive:
        for child in sorted(root.iterdir()):
            archive.add(child, arcname=child.name, filter=_owned_by_root)
    return layer


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode &= 0o755  # nothing writable by anyone but root; the app runs as 10001
    return info


def build(*, tag: str = "localhost/licheng:dev", storage: Path = STORAGE) -> BuiltImage:
    """Build the image into `storage`; returns its name there."""
    base = base_rootfs()
    with tempfile.TemporaryDirectory(prefix="licheng-image-") as folder:
        work = Path(folder)
        context = work / "context"
        context.mkdir()
        shutil.copyfile(base, context / "rootfs.tar")
        shutil.move(application_layer(work), context / "app.tar")
        shutil.copyfile(CONTAINERFILE, context / "Containerfile")
        _run(["buildah", *storage_flags(storage)[:6], "bud", "--isolation", "chroot",
              "--format", "docker", "--layers=false", "-t", tag, "-f",
              str(context / "Containerfile"), str(context)],
             env=containers_env(storage))  # fmt: skip
    return BuiltImage(tag, storage)


def image_exists(tag: str, storage: Path = STORAGE) -> bool:
    """Whether the containers storage holds an image named `tag`."""
    done = subprocess.run(
        ["podman", *storage_flags(storage), "image", "exists", tag],
        env=containers_env(storage),
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def build_shared(*, run_id: str, storage: Path = STORAGE) -> BuiltImage:
    """One image per test run, however many test processes ask for it: the first builds it
    (under a file lock), the others wait and reuse it; images of earlier runs are removed so
    the vfs storage holds one copy."""
    tag = f"localhost/licheng:run-{run_id}"
    storage.mkdir(parents=True, exist_ok=True)
    with (storage / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_exists(tag, storage):
            return BuiltImage(tag, storage)
        listed = _run(["podman", *storage_flags(storage), "images", "--format",
                       "{{.Repository}}:{{.Tag}}"], env=containers_env(storage))  # fmt: skip
        for old in listed.split():
            if old.startswith("localhost/licheng:run-"):
                subprocess.run(
                    ["podman", *storage_flags(storage), "rmi", "--force", old],
                    env=containers_env(storage), capture_output=True, check=False,
                )  # fmt: skip
        return build(tag=tag, storage=storage)


def main(argv: list[str] | None = None) -> None:
    """`build [--tag NAME]`: build the image and print its name."""
    parser = argparse.ArgumentParser(prog="licheng-image", description=__doc__)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--tag", default="localhost/licheng:dev")
    args = parser.parse_args(argv)
    print(build(tag=args.tag).name)


if __name__ == "__main__":
    main()
