"""Platform tag for the wheel `make wheel` builds with libdlinfer.so and the CLI inside (metadata: pyproject.toml).

The package itself is pure Python (ctypes), so the tag is py3-none-PLATFORM: any Python 3 on a Linux whose glibc is
at least the one the library was built against (manylinux_X_Y, from the build machine's glibc) and this CPU
architecture. A plain `pip install bindings/python` (no library inside) gets the same tag; it then loads the
library from DLINFER_LIBRARY or the system paths."""
import os
import platform

from setuptools import setup

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel


def platform_tag():
    libc, version = os.confstr("CS_GNU_LIBC_VERSION").split()
    if libc != "glibc":
        raise SystemExit(f"cannot tag a wheel for {libc}: only glibc Linux builds are supported")
    major, minor = version.split(".")[:2]
    return f"manylinux_{major}_{minor}_{platform.machine()}"


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        return "py3", "none", platform_tag()


setup(cmdclass={"bdist_wheel": PlatformWheel})
