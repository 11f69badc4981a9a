"""Build the PlatformIO environments and size what they produce (the ``firmware`` stage's work).

For every environment in ``firmware.envs`` :func:`build_all` runs ``pio run -e <env>``
with the project-local PlatformIO core that ``tinyad.board.pio`` sets up offline, copies the
artifacts into ``<out>/<env>/`` (``program`` for the host simulator; ``firmware.bin``
and ``firmware.elf`` for the ESP32) with a ``size.json``, and returns the sizes.

Sizes (method written next to each number): Berkeley ``size`` of the ELF, i.e.
``text`` (code + read-only data), ``data`` (initialised RAM, stored in flash too) and
``bss`` (zeroed RAM); ``flash_bytes = text + data`` and ``ram_bytes = data + bss``
(static RAM only: no stack or heap).  The host program is measured with GNU ``size``;
other ELF files (Xtensa) with the same sums over their section headers (pyelftools),
plus the byte size of ``firmware.bin``.  :func:`model_c_size` sizes the generated
model C alone; :func:`power_estimate` writes the battery estimate (tinyad/board/power.py).

Environments other than ``host`` need the PlatformIO registry; when their platform is
not installed and the registry is unreachable, :class:`FirmwareError` says so and how
to build on a connected machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from tinyad.board import pio
from tinyad.codegen.cgen import PREFIX
from tinyad.config import SLEEP_MODES, FirmwareConfig
from tinyad.io import atomic_dir, write_json, write_text

REGISTRY_HOST = "api.registry.platformio.org"
GENERATED_REQUIRED = tuple(f"{PREFIX}_{n}" for n in ("config.h", "features.h", "features.c", "model.h", "model.c",
                                                     "model_data.h", "model_data.c"))
# What each environment's build leaves in .pio/build/<env>/ and the stage keeps.
ARTIFACTS = {"host": ("program",)}
ESP32_ARTIFACTS = ("firmware.bin", "firmware.elf")
ESP32_PLATFORM = "espressif32"


class FirmwareError(RuntimeError):
    """An environment cannot be built here, or its build failed."""


# ------------------------------------------------------------------ pure parts
def build_flags(env: str, cfg: FirmwareConfig) -> str:
    """Extra build flags (PLATFORMIO_BUILD_FLAGS) for one environment from params:
    the sleep mode (not for the simulator, which never sleeps; ``tinyad_config.h`` has the
    same value from the same params, the flag makes the build's command line show it) and,
    with ``firmware.mode: log``, ``-DTINYAD_LOG_MODE=1`` (the firmware starts in log mode)."""
    flags = [] if env == "host" else [f"-DTINYAD_SLEEP_MODE={SLEEP_MODES[cfg.sleep]}"]
    if cfg.mode == "log":
        flags.append("-DTINYAD_LOG_MODE=1")
    return " ".join(flags)


def artifact_names(env: str) -> tuple[str, ...]:
    return ARTIFACTS.get(env, ESP32_ARTIFACTS)


def elf_of(env: str, names: tuple[str, ...]) -> str:
    return "program" if env == "host" else "firmware.elf"


def parse_berkeley_size(output: str, source: str = "size") -> dict[str, int]:
    """``size`` (Berkeley format) output of one file -> text/data/bss."""
    lines = [ln.split() for ln in output.strip().splitlines() if ln.strip()]
    if len(lines) < 2 or lines[0][:3] != ["text", "data", "bss"]:
        raise FirmwareError(f"{source}: expected Berkeley output 'text data bss dec hex filename', got {output!r}")
    text, data, bss = (int(v) for v in lines[1][:3])
    return {"text": text, "data": data, "bss": bss}


def gnu_size(path: Path) -> dict[str, int]:
    """GNU ``size`` (Berkeley format) of an ELF file."""
    exe = shutil.which("size")
    if exe is None:
        raise FirmwareError("GNU 'size' not found: install binutils (apt-get install binutils)")
    proc = subprocess.run([exe, "--format=berkeley", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise FirmwareError(f"size {path}: {proc.stderr.strip()}")
    return parse_berkeley_size(proc.stdout, f"size {path}")


def elf_sections_size(path: Path) -> dict[str, int]:
    """Berkeley sums over an ELF's section headers (any architecture, pyelftools).

    text: allocated sections that are not writable (code, read-only data);
    data: allocated, writable, with contents; bss: allocated, writable, no contents.
    """
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    sizes = {"text": 0, "data": 0, "bss": 0}
    with open(path, "rb") as fh:
        for sec in ELFFile(fh).iter_sections():
            flags = sec["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            if not flags & SH_FLAGS.SHF_WRITE:
                sizes["text"] += sec["sh_size"]
            elif sec["sh_type"] == "SHT_NOBITS":
                sizes["bss"] += sec["sh_size"]
            else:
                sizes["data"] += sec["sh_size"]
    return sizes


# The generated C model is sized for the ESP8266/ESP32 Xtensa ISA when Debian's
# cross compiler is installed (``make test``'s set-up), else for this host.
MODEL_C_COMPILERS = ("xtensa-lx106-elf-gcc", "cc")


def model_c_size(generated: Path, build: Path, prefix: str = PREFIX, library: Path | None = None) -> dict[str, Any]:
    """Flash and static RAM of the generated int8 C model alone (``<prefix>_model.c``).

    Compiled with ``-Os -c`` by the first of ``MODEL_C_COMPILERS`` found, sized with
    the Berkeley sums of the object's sections: flash = text + data.
    """
    src = generated / f"{prefix}_model.c"
    if not src.is_file():
        raise FirmwareError(f"{src}: not found: run `dvc repro codegen` first")
    cc = next((c for c in MODEL_C_COMPILERS if shutil.which(c)), None)
    if cc is None:
        raise FirmwareError(f"no C compiler found (tried {', '.join(MODEL_C_COMPILERS)}): install gcc")
    build.mkdir(parents=True, exist_ok=True)
    obj = build / f"{prefix}_model.o"
    proc = subprocess.run([cc, "-Os", "-std=c99", "-c", str(src), "-I", str(generated),
                           "-I", str(library or generated.parent / "tinyad"), "-o", str(obj)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise FirmwareError(f"{cc} -Os -c {src} failed: {proc.stderr.strip().splitlines()[-1:]}")
    sizes = elf_sections_size(obj)
    return {**sizes, "flash_bytes": sizes["text"] + sizes["data"], "ram_bytes": sizes["data"] + sizes["bss"],
            "method": f"{cc} -Os -std=c99 -c {src.name}; Berkeley sums over the object's sections; "
                      "flash = text + data, ram = data + bss"}


def size_report(env: str, folder: Path) -> dict[str, Any]:
    """The size figures of one environment's copied artifacts."""
    elf = folder / elf_of(env, artifact_names(env))
    if env == "host":
        sizes = gnu_size(elf)
        method = "GNU size --format=berkeley on the ELF"
    else:
        sizes = elf_sections_size(elf)
        method = "Berkeley sums over the ELF section headers (pyelftools)"
    report: dict[str, Any] = {
        **sizes,
        "flash_bytes": sizes["text"] + sizes["data"],
        "ram_bytes": sizes["data"] + sizes["bss"],
        "method": method + "; flash = text + data, ram = data + bss (static only, no stack/heap)",
    }
    if (folder / "firmware.bin").is_file():
        report["bin_bytes"] = (folder / "firmware.bin").stat().st_size
    return report


# -------------------------------------------------------------- environment
def registry_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((REGISTRY_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def platform_installed(project: Path, name: str) -> bool:
    platforms = pio.core_dir(project) / "platforms"
    return platforms.is_dir() and any(
        (p / "platform.json").is_file() and (p.name == name or p.name.startswith(name + "@"))
        for p in platforms.iterdir()
    )


def check_buildable(env: str, project: Path, reachable: Callable[[], bool] | None = None) -> None:
    """Raise FirmwareError with the reason and the remedy when ``env`` cannot be built here."""
    if env == "host" or platform_installed(project, ESP32_PLATFORM):
        return
    if (reachable or registry_reachable)():
        return  # pio installs the platform and libraries itself
    raise FirmwareError(
        f"firmware.envs: environment {env!r} cannot be built on this machine: it needs the PlatformIO "
        f"platform '{ESP32_PLATFORM}' (with the Arduino core, the toolchain and the DHT libraries), which "
        f"is not installed in {pio.core_dir(project)}, and the PlatformIO registry ({REGISTRY_HOST}) is "
        "unreachable from here, so it cannot be installed. On a machine that reaches the registry run "
        f"`pio run -d firmware -e {env}` (flash with `pio run -d firmware -e {env} -t upload`), or "
        "this stage with the same params. Here, keep firmware.envs: [host] (the default)."
    )


@dataclass(frozen=True)
class Workspace:
    """Where one firmware build reads and writes.

    The single-room build is the PlatformIO project as it is: its ``lib/`` holds the
    hand-written ``tinyad`` library and the generated C (``lib/generated``), and
    PlatformIO builds into ``.pio/build``.  A fleet room's build compiles the same
    project with its own generated C: ``of`` gives it a library folder of its own
    (links to every library of the project but ``generated``, and ``generated`` linked
    to the room's C) and its own build folder, through PlatformIO's
    ``PLATFORMIO_LIB_DIR`` and ``PLATFORMIO_BUILD_DIR``, so rooms can build side by
    side without touching the project's files.
    """

    project: Path
    generated: Path
    lib_dir: Path | None = None
    build_dir: Path | None = None

    @classmethod
    def of(cls, project: Path, generated: Path | None = None, scratch: Path | None = None) -> "Workspace":
        project = Path(project).resolve()
        own = project / "lib" / "generated"
        if generated is None or Path(generated).resolve() == own:
            return cls(project, own)
        if scratch is None:
            raise ValueError("a build with its own generated C needs a scratch folder")
        generated, scratch = Path(generated).resolve(), Path(scratch).resolve()
        lib = scratch / "lib"
        lib.mkdir(parents=True, exist_ok=True)
        wanted = {p.name: p for p in (project / "lib").iterdir() if p.is_dir() and p.name != "generated"}
        wanted["generated"] = generated
        for name, target in wanted.items():
            link = lib / name
            if link.is_symlink() and link.resolve() == target.resolve():
                continue
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target, target_is_directory=True)
        return cls(project, generated, lib, scratch / "build")

    @property
    def pio_build(self) -> Path:
        return self.build_dir if self.build_dir is not None else self.project / ".pio" / "build"

    @property
    def library(self) -> Path:
        """The hand-written library the generated C includes."""
        return self.project / "lib" / "tinyad"

    def pio_dirs(self) -> dict[str, str]:
        if self.lib_dir is None:
            return {}
        return {"PLATFORMIO_LIB_DIR": str(self.lib_dir), "PLATFORMIO_BUILD_DIR": str(self.build_dir)}


def check_generated(gen: Path) -> None:
    """The codegen stage's files are an input: missing ones are bad input (exit 2)."""
    missing = [name for name in GENERATED_REQUIRED if not (gen / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{gen}: generated files not found ({', '.join(missing)}): "
                                "run `dvc repro codegen` first")


def build_env(env: str, ws: Workspace, cfg: FirmwareConfig) -> tuple[subprocess.CompletedProcess, float]:
    extra = dict(os.environ)
    flags = build_flags(env, cfg)
    if flags:
        extra["PLATFORMIO_BUILD_FLAGS"] = flags
    else:
        extra.pop("PLATFORMIO_BUILD_FLAGS", None)
    start = time.monotonic()
    try:
        proc = pio.run_pio(["run", "-e", env], project_dir=ws.project, env=extra, dirs=ws.pio_dirs())
    except pio.PioError as exc:
        raise FirmwareError(f"building firmware environment {env!r} failed:\n{exc}") from None
    return proc, time.monotonic() - start


def copy_artifacts(env: str, ws: Workspace, out: Path) -> Path:
    """Copy the env's artifacts into ``out/<env>/`` (replaced as a whole)."""
    src = ws.pio_build / env
    names = artifact_names(env)
    missing = [n for n in names if not (src / n).is_file()]
    if missing:
        raise FirmwareError(f"{src}: the build of {env!r} left no {', '.join(missing)}")
    with atomic_dir(out / env) as tmp:
        for n in names:
            shutil.copy2(src / n, tmp / n)
    return out / env


def build_all(ws: Workspace, out: Path, cfg: FirmwareConfig) -> dict[str, Any]:
    """Build every env of ``cfg.envs``; return the metrics (also written per env)."""
    for env in cfg.envs:  # fail before building anything
        check_buildable(env, ws.project)
    check_generated(ws.generated)
    envs: dict[str, Any] = {}
    for env in cfg.envs:
        _proc, seconds = build_env(env, ws, cfg)
        folder = copy_artifacts(env, ws, out)
        report = size_report(env, folder)
        report["artifacts"] = [str(folder / n) for n in artifact_names(env)]
        report["build_seconds"] = round(seconds, 2)
        write_json(folder / "size.json", report)
        envs[env] = report
    return {"envs": envs}


def _slug(name: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def power_estimate(cfg, codegen_metrics: Path, out: Path) -> dict[str, Any]:
    """Energy per reading and battery life on the ESP32: an ESTIMATE (tinyad/board/power.py).

    The full estimate, with the source of every figure, goes to
    ``<out>/power_estimate.json`` and a table to ``<out>/power_estimate.md``; the
    returned summary (one entry per sleep mode and clock, low and high bounds of the
    datasheet ranges) becomes part of the firmware metrics and so of the MLflow run.
    """
    from tinyad.board import power

    macs = power.codegen_macs(codegen_metrics)  # the MAC count as the codegen stage recorded it
    est = power.estimate(cfg.power, cfg.firmware, cfg.data.period_s, macs)
    write_json(out / "power_estimate.json", est)
    write_text(out / "power_estimate.md", power.format_table(est) + "\n")
    summary: dict[str, Any] = {"note": est["note"], "source": f"{out / 'power_estimate.json'}"}
    for row in est["scenarios"]:
        entry: dict[str, Any] = {}
        for bound in ("low", "high"):
            entry[f"energy_mj_{bound}"] = round(row[bound]["energy_mj"]["total"], 4)
            for bat in row[bound]["batteries"]:
                entry[f"life_days_{_slug(bat['name'])}_{bound}"] = round(bat["life_days"], 2)
        summary[f"{row['sleep']}_{row['cpu_mhz']}mhz"] = entry
    return summary
