"""LightGBM's own predictor, called through its C library without its Python package.

``import lightgbm`` costs a process 1.5-2.5 s on the project's 2-core VM: its
compatibility module imports scikit-learn, which imports SciPy. Scoring needs none of
that: a forest's text model, LightGBM's C library (the file the Python package itself
loads) and three of its functions: ``LGBM_BoosterCreateFromModelfile`` (or
``LGBM_BoosterLoadModelFromString``) and ``LGBM_BoosterPredictForMat``, called as
``lightgbm.Booster.predict`` calls it for a float64 matrix (row-major, every iteration,
``num_threads`` as the only parameter), so the numbers are the package's to the last bit
(``tests/inference/test_row_scoring.py`` compares them).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import platform
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np

from nba_mlops.log import get_logger

logger = get_logger(__name__)

# LightGBM's C API constants (c_api.h).
_FLOAT64: Final = 1
_ROW_MAJOR: Final = 1
_PREDICT_NORMAL: Final = 0
_PREDICT_RAW_SCORE: Final = 1


class LightGBMError(RuntimeError):
    """LightGBM's C library refused a call (its own message)."""


@cache
def _library() -> ctypes.CDLL:
    """LightGBM's C library, where its Python package keeps it (``lightgbm.libpath``),
    found without importing the package."""
    spec = importlib.util.find_spec("lightgbm")
    if spec is None or not spec.submodule_search_locations:
        raise LightGBMError("LightGBM is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    name = {"Windows": "lib_lightgbm.dll", "Darwin": "lib_lightgbm.dylib"}.get(
        platform.system(), "lib_lightgbm.so"
    )
    for folder in (package.parent, package / "bin", package / "lib"):
        if (folder / name).is_file():
            library = ctypes.cdll.LoadLibrary(str(folder / name))
            library.LGBM_GetLastError.restype = ctypes.c_char_p
            if "lightgbm.basic" not in sys.modules:  # else the package's own is in place
                # the library prints its messages unless given somewhere to send them
                library.LGBM_RegisterLogCallback(_LOG_CALLBACK)
            return library
    raise LightGBMError(f"LightGBM's library {name} is not in {package}")


def _log(message: bytes) -> None:
    text = message.decode(errors="replace").strip()
    if text:
        logger.debug("LightGBM: %s", text)


# Kept here for the life of the process: the library holds a pointer to it.
_LOG_CALLBACK: Final = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(_log)


def _check(code: int) -> None:
    if code != 0:
        raise LightGBMError(_library().LGBM_GetLastError().decode(errors="replace"))


class NativeBooster:
    """A LightGBM forest from its text model, predicting as ``lightgbm.Booster.predict``
    does. The forest is parsed on the first prediction (a compiled forest may make it
    unnecessary); it pickles as its text model."""

    def __init__(self, model_text: str | None = None, *, model_file: Path | None = None) -> None:
        if (model_text is None) == (model_file is None):
            raise ValueError("give a model's text or its file, not both")
        self._text = model_text
        self._file = model_file
        self._handle: ctypes.c_void_p | None = None
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        if self._file is not None:
            return (_from_file, (self._file,))
        return (NativeBooster, (self._text,))

    def model_to_string(self) -> str:
        """The forest's text model (what ``lightgbm.Booster.model_to_string`` gave)."""
        if self._text is not None:
            return self._text
        assert self._file is not None
        return self._file.read_text(encoding="utf-8")

    def _loaded(self) -> ctypes.c_void_p:
        with self._lock:
            if self._handle is None:
                handle = ctypes.c_void_p()
                iterations = ctypes.c_int(0)
                if self._file is not None:  # read by the library: no copy in Python's heap
                    _check(
                        _library().LGBM_BoosterCreateFromModelfile(
                            ctypes.c_char_p(str(self._file).encode()),
                            ctypes.byref(iterations),
                            ctypes.byref(handle),
                        )
                    )
                else:
                    _check(
                        _library().LGBM_BoosterLoadModelFromString(
                            ctypes.c_char_p(self.model_to_string().encode()),
                            ctypes.byref(iterations),
                            ctypes.byref(handle),
                        )
                    )
                self._handle = handle
            return self._handle

    def predict(self, matrix: np.ndarray, *, raw_score: bool, num_threads: int) -> np.ndarray:
        """The forest's output for each row of a 2-D matrix: the probability, or the raw
        margin with ``raw_score``."""
        data = np.ascontiguousarray(matrix, dtype=np.float64)
        if data.ndim != 2:
            raise ValueError("the forest reads a 2-D matrix")
        rows, features = data.shape
        out = np.empty(rows, dtype=np.float64)
        if rows == 0:
            return out
        written = ctypes.c_int64(0)
        _check(
            _library().LGBM_BoosterPredictForMat(
                self._loaded(),
                data.ctypes.data_as(ctypes.c_void_p),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(rows),
                ctypes.c_int32(features),
                ctypes.c_int(_ROW_MAJOR),
                ctypes.c_int(_PREDICT_RAW_SCORE if raw_score else _PREDICT_NORMAL),
                ctypes.c_int(0),  # from the first iteration
                ctypes.c_int(-1),  # to the last the text model holds
                ctypes.c_char_p(f"num_threads={num_threads}".encode()),
                ctypes.byref(written),
                out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            )
        )
        if written.value != rows:
            raise LightGBMError(f"LightGBM wrote {written.value} predictions for {rows} rows")
        return out

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            # at interpreter exit the library may be gone: the process frees it anyway
            with contextlib.suppress(Exception):
                _library().LGBM_BoosterFree(handle)


def _from_file(path: Path) -> NativeBooster:
    return NativeBooster(model_file=path)
