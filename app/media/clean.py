"""What of a reporter's media is kept, and in what form.

Only photos and audio are kept (the allow-list): a video or a document can carry its
maker's name or where it was made, and there is no well-kept library here to strip them.
A photo is decoded and encoded again from its pixels alone (Pillow), turned upright first:
its EXIF (GPS position, camera serial, time), XMP, comments and ICC profile are left
behind, because a phone's photo can say where a worker lives.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from app.media.models import Refusal

AUDIO = frozenset(
    {
        "audio/aac",
        "audio/amr",
        "audio/mp4",
        "audio/mpeg",
        "audio/ogg",
        "audio/opus",
        "audio/wav",
        "audio/webm",
        "audio/x-wav",
        "audio/3gpp",
    }
)
# Pillow formats read, and the format each is stored in.
_IMAGES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "PNG", "GIF": "PNG", "BMP": "PNG"}
_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
# A photo from any phone is far below this; more is a decompression bomb.
MAX_PIXELS = 60_000_000


class Refused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Kept:
    data: bytes
    content_type: str


def _image(data: bytes) -> Image.Image | None:
    """The image `data` holds, or None when it is no image Pillow knows."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return None
    except (OSError, ValueError, Image.DecompressionBombError):
        raise Refused(Refusal.unreadable_image) from None
    return image


def _reencode(image: Image.Image) -> Kept:
    kind = _IMAGES.get(image.format or "")
    if kind is None:
        raise Refused(Refusal.type_not_allowed)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise Refused(Refusal.unreadable_image)
    try:
        upright = ImageOps.exif_transpose(image)  # the first frame only, turned as it was taken
        if kind == "JPEG":
            upright = upright.convert("RGB")
        elif upright.mode not in ("RGB", "RGBA", "L", "LA"):
            upright = upright.convert("RGBA")
        # From the pixels alone: no info dict, so nothing of the original's metadata.
        bare = Image.frombytes(upright.mode, upright.size, upright.tobytes())
        out = io.BytesIO()
        if kind == "JPEG":
            bare.save(out, "JPEG", quality=90)
        else:
            bare.save(out, "PNG", optimize=False)
    except (OSError, ValueError, SyntaxError):
        raise Refused(Refusal.unreadable_image) from None
    return Kept(out.getvalue(), _TYPES[kind])


def keep(data: bytes, content_type: str) -> Kept:
    """The form `data` is stored in; Refused when it is not kept. An image is recognised by
    its bytes, whatever type the provider declared, so none escapes the stripping."""
    image = _image(data)
    if image is not None:
        with image:
            return _reencode(image)
    declared = content_type.split(";")[0].strip().lower()
    if declared.startswith("image/"):
        raise Refused(Refusal.unreadable_image)
    if declared not in AUDIO:
        raise Refused(Refusal.type_not_allowed)
    return Kept(data, declared)
