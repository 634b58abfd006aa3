"""Media parts to URLs, shared by the chat and Responses codecs: one set of checks.

Bytes become ``data:`` URIs; an image must really be an image (magic numbers, not the label),
checked before anything is sent.
"""

from __future__ import annotations

import base64
import mimetypes

from core.errors import InvalidRequestError
from core.types import MediaPart

__all__ = ["media_url", "sniff_image_mime"]

_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image_mime(data: bytes) -> str | None:
    """The MIME type of PNG/JPEG/GIF/WebP bytes by their magic numbers, else None."""
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def media_url(part: MediaPart, i: int) -> str:
    """The URL to send for a media part: its https/data URL, checked, or its bytes as a data
    URI. Image bytes (and base64 image data URIs) must really be PNG/JPEG/GIF/WebP."""
    kind = part.kind
    mime = part.mime_type
    if kind == "image" and mime is not None and not mime.startswith("image/"):
        raise InvalidRequestError(
            f"message {i}: image part has MIME type {mime!r}, which is not an image type",
            hint="use image/png, image/jpeg, image/gif or image/webp",
        )
    if part.data is not None:
        data = part.data
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidRequestError(f"message {i}: {kind} data must be bytes")
        data = bytes(data)
        if kind == "image":
            sniffed = sniff_image_mime(data)
            if sniffed is None:
                raise InvalidRequestError(
                    f"message {i}: image bytes are not a PNG, JPEG, GIF or WebP image",
                    hint="check the file; convert other formats to PNG or JPEG",
                )
            mime = sniffed  # trust the bytes over a mislabelled mime_type
        if mime is None and part.filename:
            mime = mimetypes.guess_type(part.filename)[0]
        if mime is None:
            raise InvalidRequestError(
                f"message {i}: {kind} bytes need a mime_type",
                hint=f"set MediaPart(mime_type=...), e.g. {_EXAMPLE_MIME.get(kind, 'application/pdf')}",
            )
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    url = part.url
    if not url or not isinstance(url, str):
        raise InvalidRequestError(f"message {i}: {kind} part needs a url or data")
    if kind == "image" and url.startswith("data:") and not url.startswith("data:image/"):
        raise InvalidRequestError(
            f"message {i}: image data URI is not of an image type ({url[:30]}...)",
            hint="use a data:image/...;base64 URI",
        )
    if kind == "image" and url.startswith("data:image/") and ";base64," in url[:100]:
        head = url.split(",", 1)[1][:24]  # 24 base64 characters = the first 18 bytes
        try:
            magic = base64.b64decode(head + "=" * (-len(head) % 4))
        except ValueError:
            magic = b""
        if sniff_image_mime(magic) is None:
            raise InvalidRequestError(
                f"message {i}: image data URI does not hold a PNG, JPEG, GIF or WebP image",
                hint="check the file; convert other formats to PNG or JPEG",
            )
    return url


_EXAMPLE_MIME = {"audio": "audio/wav", "video": "video/mp4", "file": "application/pdf"}
