"""SCons build script of the ``hostsim`` development platform.

PlatformIO runs this script (through its own ``builder/main.py``) for every
environment with ``platform = file://platforms/hostsim``.  It compiles the project's
``src/`` (filtered by ``build_src_filter``) and the libraries the Library Dependency
Finder picks from ``lib/`` with the host's gcc, and links them into
``.pio/build/<env>/program``.  No package is needed besides ``tool-scons``.

Compiler and flags: ``gcc``/``g++`` (override with ``HOSTSIM_CC``/``HOSTSIM_CXX`` in the
environment), C99 for C sources, ``-lm``; the project's ``build_flags`` add the
warnings and optimisation.  The ``exec`` target runs the program.
"""

import os

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment  # pylint: disable=import-error

env = DefaultEnvironment()

env.Replace(
    AR="ar",
    AS=os.environ.get("HOSTSIM_CC", "gcc"),
    CC=os.environ.get("HOSTSIM_CC", "gcc"),
    CXX=os.environ.get("HOSTSIM_CXX", "g++"),
    LINK=os.environ.get("HOSTSIM_CXX", "g++"),
    OBJCOPY="objcopy",
    RANLIB="ranlib",
    PROGNAME="program",
    PROGSUFFIX="",
)
env.Append(
    CFLAGS=["-std=c99"],
    CXXFLAGS=["-std=c++17"],
    LIBS=["m"],
)

program = env.BuildProgram()

exec_action = env.VerboseAction("$SOURCE $PROGRAM_ARGS", "Executing $SOURCE")
AlwaysBuild(env.Alias("exec", program, exec_action))

Default([program])
