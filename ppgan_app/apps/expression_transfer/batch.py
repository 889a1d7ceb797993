"""Many portraits, one driving video: which files, what each result is called, the summary.

The animation itself is :meth:`FirstOrderPredictor.run_batch`; this module holds the parts that
need no networks: expanding ``--source_image`` (files and folders) into a list of portraits,
naming one result per portrait, and the per-portrait results with their summary table.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

from ppgan_app.errors import InputError

#: File endings read as portraits when ``--source_image`` names a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def list_portraits(source_image: Union[str, Sequence[str]]) -> List[str]:
    """The portrait files named by ``source_image``: a file, a folder, or a list of them.

    A folder gives its image files (:data:`IMAGE_SUFFIXES`, not recursive) in name order.
    A file named twice is animated once.

    Raises:
        InputError: the list is empty, a path does not exist, or a folder holds no image.
    """
    paths = [source_image] if isinstance(source_image, (str, os.PathLike)) else list(source_image)
    if not paths:
        raise InputError("--source_image names no portrait; give one or more image files "
                         "or a folder of images")
    portraits: List[str] = []
    for path in map(str, paths):
        if os.path.isdir(path):
            found = sorted(os.path.join(path, name) for name in os.listdir(path)
                           if name.lower().endswith(IMAGE_SUFFIXES)
                           and os.path.isfile(os.path.join(path, name)))
            if not found:
                raise InputError(f"folder {path} holds no image ({', '.join(IMAGE_SUFFIXES)}); "
                                 "put the portraits there or name the files")
            portraits.extend(found)
        elif os.path.exists(path):
            portraits.append(path)
        else:
            raise InputError(f"source image not found: {path}")
    return list(dict.fromkeys(portraits))


def batch_names(portraits: Sequence[str]) -> List[str]:
    """One ``.mp4`` name per portrait, named after it: ``anna.jpg`` → ``anna.mp4``.

    Portraits that share a stem (``anna.jpg``, ``anna.png``, or ``a/x.jpg``, ``b/x.jpg``) keep
    their suffix and a number where needed (``anna_jpg.mp4``, ``anna_png.mp4``), so no result
    overwrites another.
    """
    stems = [os.path.splitext(os.path.basename(p))[0] or "portrait" for p in portraits]
    names, taken = [], set()
    for path, stem in zip(portraits, stems):
        name = stem
        if stems.count(stem) > 1:
            name = f"{stem}_{os.path.splitext(path)[1].lstrip('.').lower() or 'img'}"
        base, n = name, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        names.append(f"{name}.mp4")
    return names


@dataclass(frozen=True)
class PortraitResult:
    """What became of one portrait of a batch."""

    source: str  #: the portrait file
    path: Optional[str]  #: the written mp4, ``None`` when it failed
    error: Optional[str] = None  #: the one-line error when it failed
    frames: int = 0  #: frames written
    faces: int = 0  #: faces animated
    seconds: float = 0.0  #: wall time of this portrait (the shared driving pass excluded)
    audio: bool = False  #: the result has the driving video's sound

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BatchSummary:
    """The results of :meth:`FirstOrderPredictor.run_batch`, one per portrait, in order."""

    results: List[PortraitResult] = field(default_factory=list)
    driving_video: str = ""
    driving_frames: int = 0  #: frames of the driving video (decoded once for all portraits)
    fps: float = 0.0
    seconds: float = 0.0  #: wall time of the whole batch

    @property
    def ok(self) -> bool:
        """Every portrait gave a result."""
        return all(r.ok for r in self.results)

    @property
    def paths(self) -> List[str]:
        """The results written, in portrait order."""
        return [r.path for r in self.results if r.path is not None]

    @property
    def failed(self) -> List[PortraitResult]:
        return [r for r in self.results if not r.ok]

    def table(self) -> str:
        """A plain-text table: portrait, frames, faces, seconds, then the result or error."""
        rows = [("portrait", "frames", "faces", "s", "result")]
        for r in self.results:
            rows.append((os.path.basename(r.source), str(r.frames) if r.ok else "-",
                         str(r.faces) if r.ok else "-", f"{r.seconds:.1f}",
                         r.path if r.ok else f"FAILED: {r.error}"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ["  ".join([row[0].ljust(widths[0])]
                           + [cell.rjust(w) for cell, w in zip(row[1:4], widths[1:])]
                           + [row[4]]) for row in rows]
        done = len(self.results) - len(self.failed)
        lines.append(f"{done} of {len(self.results)} portrait(s) animated with "
                     f"{self.driving_video} ({self.driving_frames} frames, decoded once) in "
                     f"{self.seconds:.1f} s")
        return "\n".join(lines)
