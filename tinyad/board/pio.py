"""PlatformIO, offline: a project-local core directory and a way to run ``pio`` in it.

The PlatformIO registry is out of reach on the machines this workbench runs on, so
nothing may be downloaded.  Two things make ``pio run -e host`` work anyway:

* the development platform of the ``host`` environment is kept in the repository
  (``firmware/platforms/hostsim``) and named by path in ``platformio.ini``;
* PlatformIO runs every build through its ``tool-scons`` package.  ``provision()``
  builds that package from the ``scons`` distribution already installed from PyPI:
  ``<core>/packages/tool-scons/`` with the ``SCons`` package, a ``scons.py`` launcher,
  a ``package.json`` and the ``.piopm`` metadata PlatformIO looks packages up by
  (owner ``platformio``, name ``tool-scons``, a version inside the range that the
  pinned PlatformIO asks for in ``platformio/dependencies.py``).

The core directory is project-local (``firmware/.pio-core``, ignored by git), so
nothing outside the project is touched.  ``provision()`` is idempotent and safe to
call from several processes at once (a file lock serialises them).

``run_pio(args, project_dir=...)`` runs ``python -m platformio *args`` with that core,
with telemetry and the upgrade check switched off; ``offline=True`` also points the
HTTP(S) proxy at a closed local port so that any download attempt fails at once
instead of hanging.  ``install_attempts(output)`` lists the lines of a ``pio`` output
that show it trying to install something (a build that needs nothing has none).

Run ``python -m tinyad.board.pio [--project firmware] [pio args...]`` to provision the core
and run ``pio`` in it, e.g. ``python -m tinyad.board.pio run -e host``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from tinyad.io import atomic_dir

__all__ = [
    "PioError",
    "Provisioned",
    "core_dir",
    "install_attempts",
    "pio_env",
    "provision",
    "run_pio",
    "scons_package_version",
]

CORE_DIR_NAME = ".pio-core"
SCONS_PACKAGE = "tool-scons"
HOSTSIM_NAME = "hostsim"
# A closed port on the loopback interface: a request through this proxy fails at once.
DEAD_PROXY = "http://127.0.0.1:9"

_INSTALL_PATTERNS = re.compile(
    r"(Installing|Downloading|Unpacking|Platform Manager|Tool Manager|Library Manager"
    r"|Resolving .* dependencies|Could not install|registry\.platformio\.org)",
    re.IGNORECASE,
)


class PioError(RuntimeError):
    """PlatformIO could not be provisioned or a ``pio`` command failed."""


@dataclass(frozen=True)
class Provisioned:
    core_dir: Path
    scons_dir: Path
    scons_version: str  # of the PyPI distribution, e.g. "4.11.1"
    package_version: str  # as PlatformIO sees it, e.g. "4.41101.0"
    created: bool  # False when an up-to-date package was already there


def core_dir(project_dir: str | Path) -> Path:
    """The project-local PlatformIO core directory."""
    return Path(project_dir).resolve() / CORE_DIR_NAME


def scons_package_version(scons_version: str) -> str:
    """PyPI ``scons`` version -> the ``tool-scons`` version PlatformIO publishes for it.

    PlatformIO packs SCons ``X.Y.Z`` as ``X.4YYZZ.0`` (4.8.1 -> 4.40801.0,
    4.11.1 -> 4.41101.0): the minor of its semantic version encodes SCons' minor and
    patch, which is what the ``~4.41101.0`` requirement pins.
    """
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:\D.*)?", scons_version.strip())
    if not m:
        raise PioError(f"scons version {scons_version!r}: expected MAJOR.MINOR.PATCH")
    major, minor, patch = (int(g) for g in m.groups())
    if minor > 99 or patch > 99:
        raise PioError(f"scons version {scons_version!r}: minor and patch must be below 100")
    return f"{major}.{40000 + minor * 100 + patch}.0"


def _required_scons_range() -> str:
    from platformio.dependencies import get_core_dependencies

    return get_core_dependencies()[SCONS_PACKAGE]


def _check_in_range(version: str, requirement: str) -> None:
    import semantic_version

    if not semantic_version.SimpleSpec(requirement).match(semantic_version.Version(version)):
        import platformio

        raise PioError(
            f"the installed PyPI 'scons' packs as tool-scons {version}, but PlatformIO "
            f"{platformio.__version__} requires tool-scons {requirement} "
            "(platformio/dependencies.py); install the matching scons version from "
            "requirements.lock (scripts/setup.sh)"
        )


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@contextmanager
def _locked(core: Path) -> Iterator[None]:
    core.mkdir(parents=True, exist_ok=True)
    with open(core / ".tinyad-provision.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_LAUNCHER = '''\
"""SCons launcher of the tool-scons package built by tinyad/board/pio.py from PyPI's scons."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import SCons.Script  # noqa: E402

SCons.Script.main()
'''


def _build_scons_package(target: Path, scons_src: Path, scons_version: str, pkg_version: str) -> None:
    with atomic_dir(target) as tmp:
        shutil.copytree(scons_src, tmp / "SCons", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (tmp / "scons.py").write_text(_LAUNCHER)
        (tmp / "package.json").write_text(json.dumps({
            "name": SCONS_PACKAGE,
            "version": pkg_version,
            "description": f"SCons {scons_version} from PyPI, packed offline by tinyad/board/pio.py",
            "keywords": ["build tool"],
            "homepage": "https://scons.org",
            "license": "MIT",
        }, indent=2) + "\n")
        (tmp / ".piopm").write_text(json.dumps({
            "type": "tool",
            "name": SCONS_PACKAGE,
            "version": pkg_version,
            "spec": {"owner": "platformio", "id": None, "name": SCONS_PACKAGE, "requirements": None, "uri": None},
        }))


def provision(project_dir: str | Path) -> Provisioned:
    """Set up ``<project>/.pio-core`` for offline builds (idempotent).

    Builds ``packages/tool-scons`` from the installed PyPI ``scons`` when it is missing
    or of another version, and drops PlatformIO's installed copy of the in-repository
    ``hostsim`` platform when the repository's folder changed, so that the next
    ``pio run`` copies the current one (PlatformIO installs ``file://`` platforms by
    copying them and would otherwise keep building with a stale builder).
    """
    import SCons

    project = Path(project_dir).resolve()
    if not (project / "platformio.ini").is_file():
        raise PioError(f"{project}: not a PlatformIO project (no platformio.ini)")
    core = core_dir(project)
    scons_src = Path(SCons.__file__).resolve().parent
    scons_version = SCons.__version__
    pkg_version = scons_package_version(scons_version)
    _check_in_range(pkg_version, _required_scons_range())

    target = core / "packages" / SCONS_PACKAGE
    created = False
    with _locked(core):
        target.parent.mkdir(parents=True, exist_ok=True)
        current = None
        try:
            meta = json.loads((target / ".piopm").read_text())
            if (target / "scons.py").is_file() and (target / "SCons" / "__init__.py").is_file():
                current = meta.get("version")
        except (OSError, ValueError):
            current = None
        if current != pkg_version:
            _build_scons_package(target, scons_src, scons_version, pkg_version)
            created = True
        _refresh_hostsim(project, core)
    return Provisioned(core, target, scons_version, pkg_version, created)


def _refresh_hostsim(project: Path, core: Path) -> None:
    source = project / "platforms" / HOSTSIM_NAME
    if not source.is_dir():
        return
    stamp = core / ".tinyad-hostsim.sha256"
    digest = _tree_digest(source)
    try:
        if stamp.read_text().strip() == digest:
            return
    except OSError:
        pass
    platforms = core / "platforms"
    if platforms.is_dir():
        for installed in platforms.iterdir():
            if installed.is_dir() and (installed.name == HOSTSIM_NAME or installed.name.startswith(HOSTSIM_NAME + "@")):
                shutil.rmtree(installed)
    stamp.write_text(digest + "\n")


def pio_env(project_dir: str | Path, base: dict | None = None, offline: bool = False,
            dirs: dict[str, str] | None = None) -> dict:
    """The environment ``pio`` runs with: project-local core, no telemetry, no upgrade check.

    ``dirs``: PlatformIO folder variables this build sets itself (``PLATFORMIO_LIB_DIR``,
    ``PLATFORMIO_BUILD_DIR`` of a fleet room's build, ``tinyad.board.firmware_build.Workspace``);
    the same variables from the caller's environment are dropped."""
    env = dict(os.environ if base is None else base)
    env["PLATFORMIO_CORE_DIR"] = str(core_dir(project_dir))
    env["PLATFORMIO_DISABLE_UPGRADE_CHECK"] = "true"
    env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "No"
    env["PLATFORMIO_NO_ANSI"] = "true"
    env.setdefault("PYTHONIOENCODING", "utf-8")
    for var in ("PLATFORMIO_BUILD_DIR", "PLATFORMIO_WORKSPACE_DIR", "PLATFORMIO_PACKAGES_DIR",
                "PLATFORMIO_PLATFORMS_DIR", "PLATFORMIO_LIBDEPS_DIR"):
        env.pop(var, None)  # a user's global override would point the build elsewhere
    env.pop("PLATFORMIO_LIB_DIR", None)
    env.update(dirs or {})
    if offline:
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            env[var] = DEAD_PROXY
        env.pop("NO_PROXY", None)
        env.pop("no_proxy", None)
    return env


def run_pio(
    args: Sequence[str],
    project_dir: str | Path = "firmware",
    env: dict | None = None,
    offline: bool = False,
    check: bool = True,
    timeout: float | None = 1800,
    dirs: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Provision the project-local core, then run ``pio <args>`` in the project.

    ``-d <project>`` is added unless ``args`` names a project already.  Returns the
    completed process (text stdout/stderr).  With ``check`` a failure raises
    ``PioError`` carrying the tail of the output.
    """
    project = Path(project_dir).resolve()
    provision(project)
    args = list(args)
    if args and args[0] in ("run", "test", "check") and not ({"-d", "--project-dir"} & set(args)):
        args[1:1] = ["-d", str(project)]
    cmd = [sys.executable, "-m", "platformio", *args]
    proc = subprocess.run(cmd, env=pio_env(project, env, offline, dirs), text=True, capture_output=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        hint = registry_hint(proc.stdout + proc.stderr)
        raise PioError(
            (hint + "\n" if hint else "")
            + f"pio {' '.join(args)} failed with exit code {proc.returncode}\n"
            f"--- stdout (tail)\n{proc.stdout[-4000:]}\n--- stderr (tail)\n{proc.stderr[-4000:]}"
        )
    return proc


REGISTRY = "api.registry.platformio.org"


def registry_hint(output: str) -> str:
    """One line that explains a bare ``HTTPClientError``: the registry is out of reach."""
    if "HTTPClientError" not in output and "Could not resolve host" not in output:
        return ""
    wanted = [ln.strip() for ln in install_attempts(output)][:1]
    what = f" ({wanted[0]})" if wanted else ""
    return (f"PlatformIO could not reach its registry ({REGISTRY}) to download a package{what}: this machine "
            "is offline. The host simulator builds offline with `tinyad pio run -e host` (the project-local "
            "core); the ESP32 environments need a machine that reaches the registry.")


def install_attempts(output: str) -> list[str]:
    """Lines of ``pio`` output that show an install or download attempt."""
    return [line for line in output.splitlines() if _INSTALL_PATTERNS.search(line)]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    project = "firmware"
    if argv[:1] == ["--project"] and len(argv) >= 2:
        project, argv = argv[1], argv[2:]
    info = provision(project)
    print(f"tool-scons {info.package_version} (SCons {info.scons_version}) in {info.scons_dir}", file=sys.stderr)
    if not argv:
        return 0
    proc = run_pio(argv, project_dir=project, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    hint = registry_hint(proc.stdout + proc.stderr) if proc.returncode else ""
    if hint:
        print(f"tinyad pio: error: {hint}", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
