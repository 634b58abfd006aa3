"""What a client receives for the emulator's vectors: the serving route answers in base64
float32 (the client asks for it), so the float64 vectors arrive rounded to float32."""

from __future__ import annotations

from array import array

from core.emulator.embeddings import embed_text


def received(text: str, dims: int = 1024) -> list[float]:
    """``embed_text`` as it arrives over base64 float32."""
    return array("f", embed_text(text, dims)).tolist()
