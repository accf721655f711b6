"""Image decoding is bounded (core.images): a decompression bomb is refused from its header, fast
and without memory; a large JPEG decodes reduced; few decodes run at once."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading
import tracemalloc

import pytest
from PIL import Image

from zerowaste.core import images
from zerowaste.core.errors import Invalid


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


def test_a_decompression_bomb_png_is_refused_from_its_header(english: None) -> None:
    bomb = _png(6300, 6300)  # ~40 megapixels in a few kilobytes: ~600 MB once decoded and copied
    assert len(bomb) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(Invalid) as refused:
            images.decode(bomb, field="photo", name="bomb.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"{peak / 1e6:.0f} MB: the image was decoded"
    [error] = refused.value.errors
    assert error["field"] == "photo"
    assert "bomb.png" in str(error["message"]) and "megapixels" in str(error["message"])


PEAK_SCRIPT = textwrap.dedent(
    """
    import io, resource, sys
    import django
    django.setup()
    from PIL import Image
    from zerowaste.core import images
    from zerowaste.exchange import photos

    def png(w, h):
        out = io.BytesIO(); Image.new("1", (w, h), 0).save(out, "PNG", optimize=True); return out.getvalue()

    def jpeg(w, h):
        out = io.BytesIO(); Image.new("RGB", (w, h), (10, 200, 30)).save(out, "JPEG", quality=50)
        return out.getvalue()

    bomb, big_jpeg = png(6300, 6300), jpeg(8000, 6000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(5):
        try:
            photos.reencode(bomb, "bomb.png")
        except Exception as exc:
            assert "6300" in str(exc), exc
    after_bomb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    encoded = photos.reencode(big_jpeg, "big.jpg")
    after_jpeg = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(after_bomb - before, after_jpeg - after_bomb, encoded.width, encoded.height)
    """
)


@pytest.mark.slow
def test_peak_memory_stays_bounded() -> None:
    """In a fresh process (peak RSS is per process): five bombs cost nothing, and a 48-megapixel JPEG
    is decoded at 1/4 scale (~3 megapixels) instead of ~150 MB of pixels."""
    env_script = "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'zerowaste.settings')\n"
    result = subprocess.run(
        [sys.executable, "-c", env_script + PEAK_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    bomb_kb, jpeg_kb, width, height = (int(v) for v in result.stdout.split())
    assert bomb_kb < 20 * 1024, f"bombs added {bomb_kb} KB"
    assert jpeg_kb < 80 * 1024, f"a 48 MP JPEG added {jpeg_kb} KB"
    assert (width, height) == (1600, 1200)


def test_a_large_jpeg_is_decoded_reduced() -> None:
    out = io.BytesIO()
    Image.new("RGB", (6400, 4800), (200, 10, 10)).save(out, "JPEG", quality=40)
    image = images.decode(out.getvalue(), field="photo", target_side=1600)
    assert image.size == (1600, 1200)  # decoded at 1/4: 7.7 MP never exist in memory


def test_a_png_over_the_cap_is_refused_and_under_it_decodes(settings: object) -> None:
    settings.IMAGE_MAX_PIXELS = 1_000_000  # type: ignore[attr-defined]
    with pytest.raises(Invalid):
        images.decode(_png(1100, 1000), field="photo")
    assert images.decode(_png(1000, 1000), field="photo").size == (1000, 1000)


def test_concurrent_decodes_are_bounded(settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.IMAGE_DECODE_CONCURRENCY = 1  # type: ignore[attr-defined]
    monkeypatch.setattr(images, "WAIT_SECONDS", 0.2)
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with images.decode_slot():
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5)
        with pytest.raises(images.Busy), images.decode_slot():
            pass
    finally:
        release.set()
        holder.join()
    with images.decode_slot():  # free again
        pass
