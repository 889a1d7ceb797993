"""Official pretrained weights: one URL table and one ``resolve_weights``.

Known names are downloaded once into a cache folder, ``~/.cache/ppgan_app`` unless the
environment variable ``PPGAN_APP_CACHE`` names another. Downloads go to a temporary file
in that folder that is renamed into place only when complete, and are retried.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Optional, Union

from tqdm import tqdm

from ppgan_app.errors import OutputError, WeightsUnavailableError, describe_os_error
from ppgan_app.utils.safe_files import clean_stale_temps, is_disk_full, remove_quietly, temp_path

logger = logging.getLogger(__name__)

CACHE_ENV = "PPGAN_APP_CACHE"
_BASE = "https://paddlegan.bj.bcebos.com"

# name -> URL (PaddleGAN's published files). The file keeps the URL's base name in the cache.
WEIGHT_URLS: Dict[str, str] = {
    "vox-cpk": f"{_BASE}/applications/first_order_model/vox-cpk.pdparams",         # FOMM 256
    "vox-cpk-512": f"{_BASE}/applications/first_order_model/vox-cpk-512.pdparams",  # FOMM 512
    "vox-mobile": f"{_BASE}/applications/first_order_model/vox-mobile.pdparams",    # FOMM mobile
    "s3fd": f"{_BASE}/models/s3fd_paddle.pdparams",              # S3FD face detector
    "blazeface": f"{_BASE}/models/blazeface.pdparams",           # BlazeFace face detector
    "blazeface-anchors": f"{_BASE}/models/anchors.npy",          # BlazeFace anchor boxes
    "gpen-512": f"{_BASE}/models/GPEN-512.pdparams",             # GPEN face restoration
    "vgg19": f"{_BASE}/models/vgg19.pdparams",                   # VGG19 for perceptual losses
    "inception-v3-fid": f"{_BASE}/InceptionV3.pdparams",         # Inception-v3 of PaddleGAN's FID
    "realsr": f"{_BASE}/applications/DF2K_JPEG.pdparams",        # RealSR x4, RRDBNet(3,3,64,23)
    "pan-x4": f"{_BASE}/models/pan_x4.pdparams",                 # PAN x4 (nf 40, unf 24, nb 16)
    "esrgan-x4": f"{_BASE}/models/esrgan_x4.pdparams",           # ESRGAN x4, RRDBNet(3,3,64,23)
    "esrgan-psnr-x4": f"{_BASE}/models/esrgan_psnr_x4.pdparams",  # its PSNR stage
}



def cache_dir() -> Path:
    """The weight cache folder (not created here)."""
    override = os.environ.get(CACHE_ENV)
    return Path(override).expanduser() if override else Path.home() / ".cache" / "ppgan_app"


def cached_path(name: str) -> Path:
    """Where the known weights ``name`` live once downloaded."""
    return cache_dir() / Path(urllib.request.urlparse(WEIGHT_URLS[name]).path).name


def _open_url(url: str, timeout: float):
    """Open ``url`` for reading (the one place that touches the network; tests replace it)."""
    return urllib.request.urlopen(url, timeout=timeout)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def check_folder(folder: Path) -> None:
    """Create ``folder`` (the cache or a folder in it); a file or an unwritable place in its way
    raises ``OutputError`` saying what it is (not a network failure)."""
    for part in [folder, *folder.parents]:
        if part.exists():
            if not part.is_dir():
                raise OutputError(f"the cache path {part} is a file, not a folder; move it away or "
                                  f"set {CACHE_ENV} to another folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(describe_os_error(err, folder, "create folder") +
                          f" (set {CACHE_ENV} to another folder)") from None


def file_md5(path: Path) -> str:
    digest = hashlib.md5()  # noqa: S324 - a checksum published with the file, not security
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_once(url: str, target: Path, timeout: float, md5: Optional[str] = None) -> None:
    """Stream ``url`` into a temporary file next to ``target``, check it, then rename it."""
    check_folder(target.parent)
    clean_stale_temps(target)  # partial downloads of killed processes
    tmp_name = temp_path(target, "part")
    try:
        with open(tmp_name, "wb") as out, _open_url(url, timeout) as response:
            expected = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            _copy_with_progress(response, out, int(expected) if expected else None, target.name)
        size = os.path.getsize(tmp_name)
        if expected is not None and int(expected) != size:
            raise OSError(f"incomplete download: {size} of {expected} bytes")
        if md5 is not None and file_md5(Path(tmp_name)) != md5:
            raise OSError(f"the file from {url} does not have the published MD5 checksum {md5}")
        os.replace(tmp_name, target)
    finally:
        remove_quietly(tmp_name)


def name_not_resolved(err: BaseException) -> bool:
    """True when ``err`` is a failed host name lookup (offline, or no DNS): retrying cannot help."""
    reason = getattr(err, "reason", err)
    return isinstance(reason, socket.gaierror) or isinstance(err, socket.gaierror)


def _copy_with_progress(source, out, total: Optional[int], label: str) -> None:
    """Copy a readable stream to ``out`` in 1 MiB blocks; a byte progress bar on a terminal."""
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
              disable=None, leave=False) as bar:
        while True:
            block = source.read(1 << 20)
            if not block:
                return
            out.write(block)
            bar.update(len(block))


def download(url: str, target: Path, retries: int = 3, timeout: float = 60.0,
             backoff: float = 2.0, md5: Optional[str] = None) -> Path:
    """Download ``url`` to ``target`` with ``retries`` attempts (exponential backoff); with
    ``md5``, a file without that checksum is a failed attempt. A host name that does not
    resolve fails at once (no retries).

    Raises:
        OSError: the last attempt's error (``urllib.error.URLError`` is an OSError).
        OutputError: the disk is full, or the cache path is a file or cannot be created.
    """
    for attempt in range(1, retries + 1):
        try:
            logger.info("downloading %s -> %s (attempt %d/%d)", url, target, attempt, retries)
            _download_once(url, target, timeout, md5)
            return target
        except (OSError, ValueError) as err:
            if is_disk_full(err):  # retrying cannot help
                raise OutputError(describe_os_error(err, target)) from None
            if attempt == retries or name_not_resolved(err):
                raise
            wait = backoff ** (attempt - 1)
            logger.warning("download failed (%s); retrying in %.0f s", err, wait)
            _sleep(wait)
    return target  # not reached: retries >= 1


def resolve_weights(name_or_path: Union[str, Path], retries: int = 3, timeout: float = 60.0) -> Path:
    """Path of weights given a local file or a known name (see ``WEIGHT_URLS``).

    A path to an existing file is returned as is. A known name is looked up in the cache
    folder and downloaded there on first use.

    Raises:
        WeightsUnavailableError: unknown name, missing local file, or download failure
            (naming the URL, the cache path and ``--weight_path``).
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    name = str(name_or_path)
    if name not in WEIGHT_URLS:
        raise WeightsUnavailableError(
            f"{name!r} is neither an existing file nor a known weight name "
            f"({', '.join(sorted(WEIGHT_URLS))})")
    target = cached_path(name)
    if target.is_file():
        return target
    url = WEIGHT_URLS[name]
    try:
        return download(url, target, retries=retries, timeout=timeout)
    except (OSError, ValueError) as err:
        raise WeightsUnavailableError(
            f"could not download {name!r} from {url} to {target} ({err}). "
            f"Without internet, fetch that URL elsewhere and either copy the file to {target} "
            f"(cache folder: set {CACHE_ENV} to move it) or pass its path with --weight_path."
        ) from err
