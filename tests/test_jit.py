"""rnntools.jit: cached kernels load without numba's compiler set-up, and fall back to numba's own loading."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KERNEL = """
import numpy as np
from rnntools.jit import njit


@njit(cache=True)
def total(a):
    out = np.zeros(1)   # an allocation: the loaded code needs numba's runtime (NRT)
    for x in a:
        out[0] += x
    return out[0]
"""


def _run(folder, code: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    # the cache beside the module (__pycache__), where the test looks, whatever cache folder the suite uses
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=folder,
                          env={**env, "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}", **(extra_env or {})})


CALL = ("import sys, numpy as np\n"
        "import kernel_mod\n"
        "print(kernel_mod.total(np.arange(5.0)), 'numba.np.arraymath' in sys.modules)\n")


def test_cached_kernel_loads_without_compiler_set_up_and_falls_back(tmp_path):
    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    first = _run(tmp_path, CALL)                      # compiles: numba sets up its compiler
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["10.0", "True"]
    assert list((tmp_path / "__pycache__").glob("kernel_mod.total-*.nbi"))

    warm = _run(tmp_path, CALL)                       # loads from the cache: no compiler set-up
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.split() == ["10.0", "False"]

    # a load that fails (another numba's internals, a damaged entry) goes to numba's own load_overload
    broken = ("from numba.core import caching\n"
              "import rnntools.jit\n"
              "assert rnntools.jit.INSTALLED and caching.Cache.load_overload.without_refresh\n"
              "def fail(self, sig, ctx):\n"
              "    caching.Cache._load_overload = original\n"
              "    raise RuntimeError('unexpected')\n"
              "original = caching.Cache._load_overload\n"
              "caching.Cache._load_overload = fail\n" + CALL)
    fallback = _run(tmp_path, broken)
    assert fallback.returncode == 0, fallback.stderr
    assert fallback.stdout.split() == ["10.0", "True"]


def test_installed_once():
    from numba.core import caching

    import rnntools.jit

    assert rnntools.jit.INSTALLED
    wrapped = caching.Cache.load_overload
    assert wrapped.without_refresh
    assert rnntools.jit._install_cache_loading_without_refresh()
    assert caching.Cache.load_overload is wrapped     # not wrapped twice


def test_plain_arrays_are_typed_as_numbas_rule_types_them():
    """``_install_array_typeof_without_masked_arrays``: numba's type for every kind of plain array (dtypes,
    dimensions, C/F/strided layouts, read-only, empty), without importing numpy.ma; a masked array still
    goes to numba's rule (which refuses it)."""
    import numpy as np
    import pytest
    from numba.core.errors import NumbaTypeError
    from numba.core.typing.typeof import Purpose, _TypeofContext, typeof_impl

    import rnntools.jit

    assert rnntools.jit.ARRAY_TYPEOF
    ours = typeof_impl.dispatch(np.ndarray)
    assert ours.without_masked_arrays and rnntools.jit._install_array_typeof_without_masked_arrays()
    assert typeof_impl.dispatch(np.ndarray) is ours      # installed once
    c = _TypeofContext(Purpose.argument)
    base = np.arange(60, dtype=np.float64).reshape(3, 4, 5)
    readonly = np.arange(6.0)
    readonly.flags.writeable = False
    arrays = [base, base.astype(np.float32), base.astype(np.int64), base > 3, base.astype(np.uint8),
              np.asfortranarray(base), base[:, ::2], base[1], base[0, 0, 0:1], np.empty((0, 3), np.int32),
              np.zeros(()), readonly, np.arange(5, dtype=np.complex128), np.zeros(3, np.dtype([("a", "f4")]))]
    for a in arrays:
        assert ours(a, c) == ours.numba_rule(a, c), a
    with pytest.raises(NumbaTypeError):
        ours(np.ma.masked_array([1.0, 2.0]), c)


def test_a_kernel_called_in_a_fresh_process_leaves_numpy_ma_unimported(tmp_path):
    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    code = CALL + "print('numpy.ma' in sys.modules)\n"
    assert _run(tmp_path, code).returncode == 0      # compiled (numba's compiler imports numpy.ma itself)
    done = _run(tmp_path, code)                       # loaded from the cache: typed without it
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["10.0", "False", "False"]


COUNT_NRT = ("from numba.core.runtime import nrtdynmod\n"
             "made = []\n"
             "create = nrtdynmod.create_nrt_module\n"
             "nrtdynmod.create_nrt_module = lambda ctx: made.append(1) or create(ctx)\n")


def test_runtime_functions_are_compiled_once_and_then_loaded(tmp_path):
    """``_install_cached_runtime_functions``: the first process compiles numba's runtime functions and keeps
    them beside the kernels' cache; the next loads them (nothing compiled) and its kernels, which allocate
    through that runtime, give the same result; a damaged file is compiled again and replaced."""
    import glob

    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    cache = tmp_path / "cache"
    code = COUNT_NRT + CALL + "print(len(made))\n"
    env = {"NUMBA_CACHE_DIR": str(cache)}

    def run():
        done = _run(tmp_path, code, env)
        assert done.returncode == 0, done.stderr
        total, _, made = done.stdout.split()
        return [total, made]

    assert run() == ["10.0", "1"]                         # compiled, and the kernel too
    files = glob.glob(str(cache / "**" / "rnntools-nrt-*.bin"), recursive=True)
    assert len(files) == 1
    assert run() == ["10.0", "0"]                         # loaded
    data = bytearray(open(files[0], "rb").read())
    data[-5] ^= 0xFF                                      # a flipped byte: its CRC fails
    open(files[0], "wb").write(bytes(data))
    assert run() == ["10.0", "1"]
    assert run() == ["10.0", "0"]                         # written again, whole
    open(files[0], "wb").write(data[:40])                 # cut short
    assert run() == ["10.0", "1"]


ONLY_PRIVATE = ("from numba.core import caching\n"
                "import rnntools.jit\n"
                "impl = getattr(caching, 'CacheImpl', None) or caching._CacheImpl\n"
                "# as on a read-only install with no writable home: numba's own places all refuse\n"
                "impl._locator_classes[:] = [c for c in impl._locator_classes if getattr(c, 'rnntools_private', 0)]\n"
                "assert rnntools.jit.PRIVATE_CACHE and len(impl._locator_classes) == 1\n")


def test_no_writable_cache_place_uses_a_private_temporary_folder(tmp_path):
    """Without it numba refuses every kernel ("cannot cache function: no locator available"): a read-only
    install under a service user with HOME=/nonexistent could not run a single command."""
    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    first = _run(tmp_path, ONLY_PRIVATE + CALL, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["10.0", "True"]
    shared = temp / f"rnntools-numba-{os.getuid()}"
    assert (shared.stat().st_mode & 0o777) == 0o700
    assert list(shared.glob("*/kernel_mod.total-*.nbi")) and not (tmp_path / "__pycache__").exists()
    warm = _run(tmp_path, ONLY_PRIVATE + CALL, env)   # the next run loads what the first one compiled
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.split() == ["10.0", "False"]

    # a shared folder others can write is never read from (numba's cache entries are pickles)
    for entry in shared.rglob("*"):
        entry.unlink() if entry.is_file() else None
    shared.chmod(0o777)
    planted = _run(tmp_path, ONLY_PRIVATE + CALL, env)
    assert planted.returncode == 0, planted.stderr
    assert not list(shared.rglob("*.nbi")), "nothing cached in a folder others can write"
    assert [p.name for p in temp.iterdir() if p.name.startswith("rnntools-numba-") and p != shared]


def test_relative_xdg_cache_home_is_ignored(tmp_path):
    """numba took an empty or relative XDG_CACHE_HOME as is and cached into ./numba of the current folder."""
    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    home = tmp_path / "home"
    home.mkdir()
    only_user_wide = ("from numba.core import caching\n"
                      "import rnntools.jit\n"
                      "impl = getattr(caching, 'CacheImpl', None) or caching._CacheImpl\n"
                      "wide = getattr(caching, 'UserWideCacheLocator', None) or caching._UserWideCacheLocator\n"
                      "impl._locator_classes[:] = [wide]\n")
    for value in ("", "relative/cache"):
        done = _run(tmp_path, only_user_wide + CALL, {"HOME": str(home), "XDG_CACHE_HOME": value})
        assert done.returncode == 0, done.stderr
        assert not (tmp_path / "numba").exists() and not (tmp_path / "relative").exists()
        assert list((home / ".cache" / "numba").rglob("kernel_mod.total-*.nbi"))


def test_damaged_cache_entries_are_compiled_again_and_replaced(tmp_path):
    """A cache file cut short (the disk filled while numba wrote it, a crash) or overwritten made every
    later run fail ("internal error (UnpicklingError: pickle data was truncated)")."""
    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    assert _run(tmp_path, CALL).returncode == 0
    cache = tmp_path / "__pycache__"
    for damage in (lambda b: b[:100], lambda b: b"garbage\n", lambda b: b""):
        for entry in [*cache.glob("kernel_mod.total-*.nbi"), *cache.glob("kernel_mod.total-*.nbc")]:
            entry.write_bytes(damage(entry.read_bytes()))
        again = _run(tmp_path, CALL)
        assert again.returncode == 0, again.stderr
        assert again.stdout.split()[0] == "10.0"
        warm = _run(tmp_path, CALL)                   # the entry was written anew: a plain load again
        assert warm.returncode == 0 and warm.stdout.split() == ["10.0", "False"], warm.stderr


def test_a_cache_that_cannot_be_written_still_runs_the_kernel(tmp_path):
    """A full disk under the cache folder (not under the output) failed the command: 'no space left'."""
    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    full = ("import errno\n"
            "from numba.core import caching\n"
            "import rnntools.jit\n"
            "def no_space(self, *args):\n"
            "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
            "caching.IndexDataCacheFile._save_data = no_space\n"
            "caching.IndexDataCacheFile._save_index = no_space\n")
    done = _run(tmp_path, full + CALL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["10.0", "True"]


INTERRUPTED_IN_CALLBACK = """
import os, signal
# Ctrl-C as a foreground process has it, whatever this test's runner left (a job started in the background
# by a shell without job control inherits SIGINT ignored, and Python then installs no handler)
signal.signal(signal.SIGINT, signal.default_int_handler)
from numba.core import codegen

original = codegen.CPUCodeLibrary.__dict__["_object_compiled_hook"].__func__
sent = []


def hook(cls, ll_module, buf):
    if not sent:  # Ctrl-C while llvmlite hands a compiled object to numba: a ctypes callback
        sent.append(1)
        os.kill(os.getpid(), signal.SIGINT)
    return original(cls, ll_module, buf)


codegen.CPUCodeLibrary._object_compiled_hook = classmethod(hook)
from rnntools.jit import njit


@njit
def plus_one(x):
    return x + 1


try:
    plus_one(1)
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_while_a_kernel_compiles_is_not_lost(tmp_path):
    """A signal's handler runs in the next Python code, a ctypes callback's too, and what a callback raises is
    printed and dropped: Ctrl-C while llvmlite handed a compiled (or cached) kernel to numba was lost ("Exception
    ignored on calling ctypes callback function ... KeyboardInterrupt"), and `w2v-train` interrupted while its
    kernel loaded trained on to the end of its epochs. It is now held while a kernel compiles and delivered
    after."""
    result = _run(tmp_path, INTERRUPTED_IN_CALLBACK)
    assert result.stdout.strip() == "interrupted", (result.stdout, result.stderr)
    assert "Exception ignored" not in result.stderr, result.stderr
