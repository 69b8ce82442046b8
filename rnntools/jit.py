"""numba's ``njit`` for short processes: a kernel found in numba's cache loads without the compiler's set-up.

Every kernel module takes ``njit`` from here, so importing any of them installs this before a kernel runs.

Why: before it loads a kernel from its on-disk cache, numba refreshes its whole CPU target
(``Cache.load_overload`` calls ``target_context.refresh()``), which imports every lowering module numba has:
numpy's array functions, the typed containers, the random generators, and through ``numba.np.arraymath``
scipy.linalg (for BLAS). In a warm process that is 0.1-0.2 s of CPU before the first cached kernel runs,
measured as whole processes: a classifier's ``predict`` 1.0-1.1 -> 0.9 s, a short seq2seq training 1.2 ->
1.0 s, with the same output bytes. A cached kernel is machine code plus its environment: loading it needs
numba's runtime (NRT, which the refresh also starts) and nothing the compiler registers; parallel kernels
start their thread pool through the compile result's own ``reload_init``. So the load here starts the
runtime only. A cache miss compiles as before: numba's compiler refreshes the target itself first.

If numba's cache class is not what this expects, or a load fails in any way, numba's own
``load_overload`` runs (refresh, then load): a slower start, never a wrong kernel.
"""

from __future__ import annotations

import os

# the XDG spec says a relative XDG_CACHE_HOME is to be ignored; numba would take it (an empty one too) and
# write its cache into a "numba" folder under whatever the current directory is
if not os.path.isabs(os.environ.get("XDG_CACHE_HOME", "/")):
    del os.environ["XDG_CACHE_HOME"]

from numba import njit  # noqa: F401  (re-exported: the one way kernel modules get it)


def _install_cache_loading_without_refresh() -> bool:
    """Replace ``numba.core.caching.Cache.load_overload`` once; False when numba's internals differ."""
    try:
        from numba.core import caching
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - another numba layout
        return False
    cache = getattr(caching, "Cache", None)
    original = getattr(cache, "load_overload", None)
    if original is None or getattr(original, "without_refresh", False):
        return original is not None
    if not all(hasattr(cache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")):
        return False  # pragma: no cover - another numba version

    def load_overload(self, sig, target_context):
        try:
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                loaded = self._load_overload(sig, target_context)
            if loaded is not None:
                return loaded
        except Exception:
            pass
        try:
            return original(self, sig, target_context)
        except Exception:
            # a damaged entry (a disk that filled while numba wrote it, a crash, a foreign file): numba
            # would fail every run on it; compile instead, and let the save write a new index
            _remove_index(self)
            return None

    def save_overload(self, sig, data):
        try:
            original_save(self, sig, data)
        except Exception:
            pass  # a full or read-only cache folder: the kernel is compiled and runs, only not cached

    original_save = cache.save_overload
    load_overload.without_refresh = True
    cache.load_overload = load_overload
    cache.save_overload = save_overload
    return True


def _install_interrupts_deferred_while_compiling() -> bool:
    """Hold Ctrl-C (and SIGTERM/SIGHUP, which rnntools turns into it) while numba compiles or loads a kernel in
    the main thread, and deliver it once that is done; False when numba's internals differ.

    Why: llvmlite hands compiled objects to and from numba's cache through ctypes callbacks
    (``ExecutionEngine._raw_object_cache_notify`` and ``_getbuffer``). Python runs a pending signal's handler
    in whatever Python code runs next, a callback's too, and an exception a ctypes callback raises is printed
    ("Exception ignored on calling ctypes callback function") and dropped: the KeyboardInterrupt was lost, and
    a `w2v-train` interrupted while its kernel loaded trained on for as long as its epochs lasted. A
    kernel's load takes milliseconds; a first compile can take seconds, which Ctrl-C then waits for."""
    import signal
    import threading

    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - another numba layout
        return False
    original = getattr(Dispatcher, "compile", None)
    if original is None:
        return False  # pragma: no cover - another numba version
    if getattr(original, "defers_interrupts", False):
        return True
    depth = [0]

    def compile(self, sig):
        if depth[0] or threading.current_thread() is not threading.main_thread():
            return original(self, sig)  # nested, or a thread where Python runs no signal handler
        held = []
        if signal.getsignal(signal.SIGINT) is None:  # pragma: no cover - a handler set outside Python
            return original(self, sig)
        try:
            previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
        except (ValueError, TypeError):  # pragma: no cover - not the main interpreter
            return original(self, sig)
        depth[0] += 1
        try:
            return original(self, sig)
        finally:
            depth[0] -= 1
            signal.signal(signal.SIGINT, previous)  # runs what is still pending with the holding handler
            if held:
                if callable(previous):
                    previous(signal.SIGINT, held[0])  # Python's KeyboardInterrupt, the trainer's flag, ...
                elif previous == signal.SIG_DFL:
                    os.kill(os.getpid(), signal.SIGINT)

    compile.defers_interrupts = True
    Dispatcher.compile = compile
    return True


DEFERS_INTERRUPTS = _install_interrupts_deferred_while_compiling()


def _remove_index(cache) -> None:
    try:
        os.unlink(cache._cache_file._index_path)
    except (AttributeError, OSError):
        pass


INSTALLED = _install_cache_loading_without_refresh()


_NRT_MAGIC = b"rnntools-nrt-1\n"


def _nrt_cache_file(codegen) -> str | None:
    """Where the runtime's compiled functions for this numba, LLVM and target are kept: beside numba's own cache
    of this module's kernels (its locators: ``NUMBA_CACHE_DIR``, the package's ``__pycache__``, a private
    temporary folder), or None where numba would not cache either."""
    import hashlib
    import sys

    import llvmlite
    import numba
    from numba.core import caching

    key = "|".join(map(str, (numba.__version__, llvmlite.__version__, sys.version_info[:2],
                             codegen._get_host_cpu_name(), codegen._tm_features)))
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    try:
        # numba's choice of folder for a kernel of this module: the first of its locators that takes it
        locator = next(loc for loc in (cls.from_function(_nrt_cache_file, __file__) for cls in impl._locator_classes)
                       if loc is not None)
        locator.ensure_cache_path()
        folder = locator.get_cache_path()
    except Exception:
        return None
    return os.path.join(folder, f"rnntools-nrt-{hashlib.sha256(key.encode()).hexdigest()[:20]}.bin")


def _read_nrt(path: str) -> tuple[bytes, bytes] | None:
    """The object code and the bitcode written by ``_write_nrt``, or None if the file is missing, short or
    damaged (its CRC)."""
    import zlib

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(_NRT_MAGIC) + 12
    if len(data) < head or not data.startswith(_NRT_MAGIC):
        return None
    size = int.from_bytes(data[len(_NRT_MAGIC):len(_NRT_MAGIC) + 8], "little")
    crc = int.from_bytes(data[len(_NRT_MAGIC) + 8:head], "little")
    body = data[head:]
    if size > len(body) or zlib.crc32(body) != crc:
        return None
    return body[:size], body[size:]


def _write_nrt(path: str, obj: bytes, bitcode: bytes) -> None:
    """Both parts into ``path`` through a temporary file in its folder (no reader sees half of it)."""
    import tempfile
    import zlib

    body = obj + bitcode
    fd, tmp = tempfile.mkstemp(prefix=".rnntools-nrt-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_NRT_MAGIC + len(obj).to_bytes(8, "little") + zlib.crc32(body).to_bytes(4, "little") + body)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _install_cached_runtime_functions() -> bool:
    """Keep the machine code of numba's runtime functions on disk, as numba keeps its kernels'; False when
    numba's internals differ.

    Why: numba's runtime (NRT: reference counts, the memory of arrays a kernel allocates) has a few functions
    written in LLVM IR, which numba compiles in every process before it loads the first kernel from its cache:
    ~25 ms of CPU of a short ``predict``, every run. Here the first process compiles them as numba does and
    keeps the object code (and the module's bitcode, as numba's own cache does) in numba's cache folder, under
    a name made of numba's, LLVM's and Python's versions and the CPU target; later processes load it, as a
    cached kernel is loaded. A file that is missing, damaged (CRC) or that LLVM refuses: compiled as before."""
    try:
        from numba.core.runtime import nrtdynmod
    except ImportError:  # pragma: no cover - another numba layout
        return False
    original = getattr(nrtdynmod, "compile_nrt_functions", None)
    if original is None or not hasattr(nrtdynmod, "create_nrt_module"):
        return False  # pragma: no cover - another numba version
    if getattr(original, "cached_on_disk", False):
        return True

    def compile_nrt_functions(ctx):
        codegen = ctx.codegen()
        try:
            path = _nrt_cache_file(codegen)
        except Exception:
            path = None
        if path is None:
            return original(ctx)
        saved = _read_nrt(path)
        if saved is not None:
            try:
                return codegen.unserialize_library(("nrt", "object", saved))
            except Exception:
                pass
        ir_mod, library = nrtdynmod.create_nrt_module(ctx)
        library.enable_object_caching()
        library.add_ir_module(ir_mod)
        library.finalize()
        try:
            _, _, (obj, bitcode) = library.serialize_using_object_code()
            _write_nrt(path, obj, bitcode)
        except Exception:
            pass
        return library

    compile_nrt_functions.cached_on_disk = True
    nrtdynmod.compile_nrt_functions = compile_nrt_functions
    return True


CACHED_RUNTIME = _install_cached_runtime_functions()


def _install_array_typeof_without_masked_arrays() -> bool:
    """Type a plain numpy array without importing ``numpy.ma``; False when numba's internals differ.

    Why: the first call of every kernel types its arguments (``typeof``), and numba's rule for an array
    starts with ``isinstance(val, np.ma.MaskedArray)``: the first ``np.ma`` imports numpy's masked arrays,
    ~10 ms of a short process's start (a classifier's ``predict``) that nothing else needed. A plain
    ``np.ndarray`` is no masked array, so for it the rest of numba's rule is made here with numba's own
    helpers (the same ``types.Array``: dtype, dimensions, layout, read-only flag; a test compares the two on
    every kind of array); anything else, or a plain array once ``numpy.ma`` is imported anyway, goes to
    numba's rule."""
    import sys

    import numpy as np

    try:
        from numba.core import types
        from numba.core.typing.typeof import typeof_impl
        from numba.np import numpy_support
    except ImportError:  # pragma: no cover - another numba layout
        return False
    original = typeof_impl.dispatch(np.ndarray)
    if getattr(original, "without_masked_arrays", False):
        return True
    if not all(hasattr(numpy_support, name) for name in ("from_dtype", "map_layout")):
        return False  # pragma: no cover - another numba version

    def typeof_array(val, c):
        if type(val) is np.ndarray and "numpy.ma" not in sys.modules:
            try:
                return types.Array(numpy_support.from_dtype(val.dtype), val.ndim, numpy_support.map_layout(val),
                                   readonly=not val.flags.writeable)
            except Exception:
                pass     # an unsupported dtype: numba's rule says so
        return original(val, c)

    typeof_array.without_masked_arrays = True
    typeof_array.numba_rule = original
    typeof_impl.register(np.ndarray)(typeof_array)
    return True


ARRAY_TYPEOF = _install_array_typeof_without_masked_arrays()


def _private_cache_folder(folder: str) -> bool:
    """True when ``folder`` exists (made now if missing) as a real folder of this user's that nobody else
    can write: numba's cache files are pickles, so a folder another user could plant files in would let
    them run code in this process."""
    import stat

    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
            and os.access(folder, os.W_OK))


def _install_private_cache_locator() -> bool:
    """Let numba cache in a private folder under the temporary directory when none of its own places is
    writable (the package on a read-only file system and no writable home: a container's read-only root,
    a service user with ``HOME=/nonexistent``); numba would refuse every kernel ("cannot cache function
    ...: no locator available"). The folder is reused from run to run when it is this user's alone, else a
    fresh one is made for the process (every kernel compiled again: slow, never wrong)."""
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - another numba layout
        return False
    mixin = getattr(caching, "_SourceFileBackedLocatorMixin", None)
    base = getattr(caching, "_CacheLocator", None)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    classes = getattr(impl, "_locator_classes", None)
    if mixin is None or base is None or not isinstance(classes, list):
        return False  # pragma: no cover - another numba version
    if any(getattr(cls, "rnntools_private", False) for cls in classes):
        return True

    class PrivateTempCacheLocator(mixin, base):
        rnntools_private = True
        folder: str | None = None

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(self.private_folder(), self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self):
            return self._cache_path

        @classmethod
        def private_folder(cls) -> str:
            if cls.folder is None:
                import tempfile

                shared = os.path.join(tempfile.gettempdir(), f"rnntools-numba-{os.getuid()}")
                cls.folder = shared if _private_cache_folder(shared) else tempfile.mkdtemp(prefix="rnntools-numba-")
            return cls.folder

    classes.append(PrivateTempCacheLocator)
    return True


PRIVATE_CACHE = _install_private_cache_locator()
