"""The firmware on its boards: PlatformIO builds and their sizes, the rv32 build under
QEMU and its instruction counts, the serial line of a board and its battery life."""
