"""Decode untrusted image bytes into uint8 RGB arrays.

Shared by the dataset loader (image folders and zips) and the classify page (uploads), so
both turn the same file into the same pixels.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin

from alexnet_core.units import bytes_text

# Refuse images that would decode to more than this many pixels (240 MB of RGB). A JPEG that
# will be shrunk is measured at the reduced scale it decodes at: a 48 MP phone photo decodes at
# 1/8 for 32x32. We check it ourselves rather than lowering Pillow's global
# Image.MAX_IMAGE_PIXELS (89 M, which still applies but to such JPEGs), which other code shares.
MAX_PIXELS = 80_000_000
JPEG_START = b"\xff\xd8\xff"  # every JPEG file's first bytes

# Transparent pixels are composited onto this colour. Their hidden RGB values are often
# black or garbage, so dropping alpha would show that; white is what icons and product
# photos are drawn against.
BACKGROUND = (255, 255, 255)

CGROUP_LIMIT = "/sys/fs/cgroup/memory.max"  # A container's memory cap (cgroup v2), if any.
CGROUP_USAGE = "/sys/fs/cgroup/memory.current"  # and what the container uses of it
MEMINFO = "/proc/meminfo"  # Linux: MemAvailable, what can be had without swapping


def is_image_name(name: str) -> bool:
    """Whether the file name ends in a suffix Pillow reads (.jpg, .png, .webp...)."""
    return os.path.splitext(name)[1].lower() in Image.registered_extensions()


def decode_image(data: bytes, size: int | None = None, *, name: str = "image") -> np.ndarray:
    """Decode image file bytes to a uint8 (H, W, 3) RGB array, resized to size x size if given.

    Raises ValueError, naming `name`, for bytes that are not an image, a truncated, corrupt or
    unsupported file, or an image larger than MAX_PIXELS.
    """
    return decode_image_and_aspect(data, size, name=name)[0]


def decode_image_and_aspect(
    data: bytes, size: int | None = None, *, name: str = "image"
) -> tuple[np.ndarray, float]:
    """decode_image, and the picture's width / height as it stands upright (before any resize
    to a square: a wide photo squeezed into one looks different to the network)."""
    width = height = 0  # unknown until Pillow has read the header
    try:
        # Pillow warns (rather than fails) between its own pixel limit and twice that, in
        # open() and in some plugins' load(); make the warning an error so a bomb stops here.
        # (The filter is process-wide, but all it does is make this one warning an error, so
        # threads decoding at once can't do each other harm.)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _open(data, size)
            stored = image.size  # before a draft scale, which rounds each side up
            if size is not None:
                # JPEG can decode at 1/2, 1/4 or 1/8 scale directly: much faster for big
                # photos that end up as 32x32. It only shrinks while the result stays >= size.
                image.draft(None, (size, size))
            width, height = image.size  # as it will decode
            if width * height > MAX_PIXELS:
                raise Image.DecompressionBombError("over MAX_PIXELS")
            image.load()  # An animated GIF or APNG stays on its first frame.
        ImageOps.exif_transpose(image, in_place=True)  # Phone photos: upright, as viewers show.
        turned = image.size != (width, height)  # a quarter turn swaps the sides
        image = to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        size_text = f"{width:,}x{height:,} pixels, " if width else ""  # Pillow's check: no size
        raise ValueError(f"{name}: too large to read ({size_text}more than the {MAX_PIXELS:,} "
                         "pixels an image may have here)") from error  # fmt: skip
    except Image.UnidentifiedImageError as error:
        kinds = "JPEG, PNG, WebP, BMP, GIF, TIFF..."
        raise ValueError(f"{name}: not a readable image ({kinds})") from error
    except Exception as error:
        # Pillow's plugins raise many types on malformed input (OSError for truncated data,
        # SyntaxError, struct.error, EOFError, IndexError...): all mean a corrupt file.
        raise ValueError(f"{name}: corrupt, truncated or unsupported image ({error})") from error
    array = np.array(image, dtype=np.uint8)  # A writable copy; asarray would be read-only.
    aspect = stored[1] / stored[0] if turned else stored[0] / stored[1]
    return (resize_image(array, size) if size is not None else array), aspect


def _open(data: bytes, size: int | None) -> Image.Image:
    """Image.open, except for a JPEG that will be shrunk: Pillow's pixel limit, which counts the
    stored size, would refuse a 108 MP phone photo that decodes at 1/8 of it. That one is opened
    by Pillow's JPEG reader itself, and MAX_PIXELS is checked on the size it decodes at."""
    if size is not None and data.startswith(JPEG_START):
        return JpegImagePlugin.JpegImageFile(io.BytesIO(data))
    return Image.open(io.BytesIO(data))


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode (L, LA, P, RGBA, I;16, I, F, CMYK, ...) to 8-bit RGB."""
    if image.mode == "RGB" and not image.has_transparency_data:
        return image
    if image.mode.startswith("I") or image.mode == "F":
        # Pillow's convert("L") clips values at 255 instead of scaling them, which turns most
        # 16-bit images white.
        samples = np.asarray(image, dtype=np.float64)
        values = np.nan_to_num(_eight_bit(samples, image.mode))  # NaN: no data, drawn black
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        clear = image.info.get("transparency")  # a PNG's transparent grey value, if any
        if isinstance(clear, int | float):
            gray[samples == clear] = BACKGROUND[0]  # on white, as in the other modes
        return Image.fromarray(gray).convert("RGB")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _eight_bit(values: np.ndarray, mode: str) -> np.ndarray:
    """Grey samples of a wide mode on 0..255: I;16 holds 16-bit ones (PNG, TIFF); I (32-bit
    integers) and F (floats) have no fixed range, so their values say which they hold."""
    finite = values[np.isfinite(values)]  # NaN marks "no data" in scientific TIFFs
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if mode == "F" and 0 <= low and high <= 1:  # floats on 0..1
        return values * 255
    if not mode.startswith("I;16") and 0 <= low and high <= 255:  # 8-bit values, kept
        return values
    if mode != "F" and 0 <= low and high <= 65535:  # 16-bit values
        return values / 257
    return (values - low) * (255.0 / max(high - low, 1e-12))  # any other range: stretched


def resize_image(array: np.ndarray, size: int) -> np.ndarray:
    """Resize a uint8 (H, W, 3) array to (size, size, 3); a no-op when already that size."""
    if array.shape[:2] == (size, size):
        return array
    # BILINEAR in Pillow widens its filter when shrinking, so it averages over the source area
    # (no aliasing) and interpolates smoothly when enlarging.
    resized = Image.fromarray(array).resize((size, size), Image.Resampling.BILINEAR)
    return np.array(resized, dtype=np.uint8)


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the machine's physical memory, or a container's
    lower cap. None where neither can be read."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        total = None
    try:
        with open(CGROUP_LIMIT, encoding="ascii") as file:
            cap = file.read().strip()  # "max" when uncapped
    except OSError:
        cap = ""
    if cap.isdigit():
        total = min(total, int(cap)) if total else int(cap)
    return total


def free_memory() -> int | None:
    """Bytes this process could still take now without swapping: Linux's MemAvailable, or less
    where a container's cap is nearer. None where neither can be read (not Linux)."""
    free = None
    try:
        with open(MEMINFO, encoding="ascii") as file:
            line = next((line for line in file if line.startswith("MemAvailable:")), "")
        free = int(line.split()[1]) * 1024  # "MemAvailable:   20147092 kB"
    except (OSError, IndexError, ValueError):
        pass
    try:
        with (
            open(CGROUP_LIMIT, encoding="ascii") as cap,
            open(CGROUP_USAGE, encoding="ascii") as used,
        ):
            left = int(cap.read().strip()) - int(used.read().strip())
        free = min(free, left) if free is not None else left
    except (OSError, ValueError):  # no cgroup v2 here, or "max": uncapped
        pass
    return free


def check_memory(what: str, count: int, size: int) -> None:
    """Raise ValueError before allocating `count` RGB images of size x size when they alone
    would need more memory than the machine has, rather than a MemoryError minutes later."""
    needed, available = count * size * size * 3, machine_memory()
    if available and needed > available:
        raise ValueError(
            f"{what}: image_size {size} needs {bytes_text(needed)} for {count:,} images, "
            f"more than this machine's {bytes_text(available)}; choose a smaller image_size"
        )
