"""decode_image: every Pillow mode becomes RGB uint8, and bad bytes become a ValueError; and
the memory check made before decoding many images."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from alexnet_core import images
from alexnet_core.images import MAX_PIXELS, check_memory, decode_image, machine_memory

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def noise_jpeg(width: int = 64, height: int = 64) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=95)


def png_declaring(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header claims width x height: a bomb that costs nothing to make."""
    data = encode(Image.new("L", (1, 1)))
    # Bytes 8..32 are the IHDR chunk: length, b"IHDR", then width and height, ..., CRC.
    fields = struct.pack(">II", width, height) + data[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    return data[:16] + fields + crc + data[33:]


def test_rgb_png_round_trips_exactly():
    pixels = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    decoded = decode_image(encode(Image.fromarray(pixels)))
    assert decoded.dtype == np.uint8 and decoded.shape == (5, 7, 3)
    np.testing.assert_array_equal(decoded, pixels)


def test_size_resizes_to_a_square():
    decoded = decode_image(encode(Image.new("RGB", (40, 20), RED)), size=16)
    assert decoded.shape == (16, 16, 3)
    assert (decoded == RED).all()


def test_a_large_jpeg_shrinks_to_size_with_its_colours():
    image = Image.new("RGB", (640, 480), BLUE)
    decoded = decode_image(encode(image, "JPEG", quality=95), size=32)
    assert decoded.shape == (32, 32, 3)
    assert np.abs(decoded.astype(int) - BLUE).max() < 8


def test_grayscale_becomes_equal_channels():
    decoded = decode_image(encode(Image.new("L", (3, 3), 100)))
    assert decoded.shape == (3, 3, 3) and (decoded == 100).all()


def test_one_bit_image():
    decoded = decode_image(encode(Image.new("1", (4, 4), 1)))
    assert (decoded == 255).all()


def test_transparent_pixels_become_white_and_opaque_keep_their_colour():
    rgba = np.zeros((1, 3, 4), np.uint8)  # Transparent black, opaque red, half-transparent red.
    rgba[0, 1] = (255, 0, 0, 255)
    rgba[0, 2] = (255, 0, 0, 128)
    decoded = decode_image(encode(Image.fromarray(rgba, "RGBA")))
    assert tuple(decoded[0, 0]) == WHITE
    assert tuple(decoded[0, 1]) == RED
    red, green, blue = decoded[0, 2]
    assert red == 255 and 120 <= green <= 135 and green == blue  # Half way to white.


def test_gray_with_alpha():
    image = Image.new("LA", (2, 1), (50, 255))
    image.putpixel((1, 0), (50, 0))
    decoded = decode_image(encode(image))
    assert tuple(decoded[0, 0]) == (50, 50, 50) and tuple(decoded[0, 1]) == WHITE


def test_palette_image():
    image = Image.new("P", (2, 1))
    image.putpalette([*RED, *BLUE])
    image.putpixel((1, 0), 1)
    decoded = decode_image(encode(image))
    assert tuple(decoded[0, 0]) == RED and tuple(decoded[0, 1]) == BLUE


def test_palette_image_with_a_transparent_index():
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, *BLUE])  # Index 0 is black, but marked transparent.
    image.putpixel((1, 0), 1)
    data = encode(image, transparency=0)
    assert Image.open(io.BytesIO(data)).mode == "P"
    decoded = decode_image(data)
    assert tuple(decoded[0, 0]) == WHITE and tuple(decoded[0, 1]) == BLUE


def test_sixteen_bit_png_is_scaled_not_clipped():
    values = np.array([[0, 32896, 65535]], np.uint16)
    data = encode(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    decoded = decode_image(data)
    assert decoded[0, :, 0].tolist() == [0, 128, 255]


def test_wide_integer_and_float_images_read_by_their_values():
    def grey(values, dtype, mode):
        data = encode(Image.fromarray(np.array([values], dtype), mode), "TIFF")
        assert Image.open(io.BytesIO(data)).mode == mode
        return decode_image(data)[0, :, 0].tolist()

    assert grey([0.0, 0.5, 1.0], np.float32, "F") == [0, 128, 255]  # floats on 0..1
    assert grey([0.5, 0.5], np.float32, "F") == [128, 128]  # even when all alike
    assert grey([-2.0, 0.0, 2.0], np.float32, "F") == [0, 128, 255]  # no range: stretched
    assert grey([0, 200, 255], np.int32, "I") == [0, 200, 255]  # 8-bit values in 32 bits
    assert grey([0, 32896, 65535], np.int32, "I") == [0, 128, 255]  # 16-bit values
    assert grey([0, 2**20, 2**21], np.int32, "I") == [0, 128, 255]  # wider: stretched


def test_float_images_with_no_data_points_keep_the_rest():
    data = encode(Image.fromarray(np.array([[np.nan, 0.0, 0.5, 1.0]], np.float32), "F"), "TIFF")
    assert decode_image(data)[0, :, 0].tolist() == [0, 0, 128, 255]  # NaN: no data, black


def test_sixteen_bit_grey_png_with_a_transparent_value_is_on_white():
    image = Image.fromarray(np.array([[30000, 0, 65535]], np.uint16))
    data = encode(image, transparency=30000)
    assert Image.open(io.BytesIO(data)).info["transparency"] == 30000
    assert decode_image(data)[0, :, 0].tolist() == [255, 0, 255]


def test_rgb_png_with_a_transparent_colour_is_on_white():
    image = Image.new("RGB", (2, 1), (0, 0, 0))  # black, marked transparent by a tRNS colour
    image.putpixel((1, 0), BLUE)
    data = encode(image, transparency=(0, 0, 0))
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    decoded = decode_image(data)
    assert tuple(decoded[0, 0]) == WHITE and tuple(decoded[0, 1]) == BLUE


def test_cmyk():
    image = Image.new("CMYK", (2, 1), (0, 255, 255, 0))  # No cyan or black: red.
    image.putpixel((1, 0), (0, 0, 0, 255))  # All black ink.
    decoded = decode_image(encode(image, "TIFF"))
    assert tuple(decoded[0, 0]) == RED and tuple(decoded[0, 1]) == (0, 0, 0)


def test_cmyk_jpeg():
    decoded = decode_image(encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"))
    assert np.abs(decoded.astype(int) - RED).max() < 8


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (4, 4), RED), Image.new("RGB", (4, 4), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    decoded = decode_image(data)
    assert (decoded == RED).all()


def test_exif_orientation_is_applied():
    # Stored 32 wide x 16 tall, blue with a red top-left corner. Orientation 6 means "rotate
    # 90 degrees clockwise to display": 16 wide x 32 tall, red corner at the top right.
    stored = np.zeros((16, 32, 3), np.uint8)
    stored[:] = BLUE
    stored[:8, :8] = RED
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif))
    assert decoded.shape == (32, 16, 3)
    assert decoded[3, 12, 0] > 200 and decoded[3, 12, 2] < 60  # Top right: red.
    assert decoded[3, 3, 0] < 60 and decoded[3, 3, 2] > 200  # Top left: blue.
    # Its shape as it stands upright, also when it is made square (and drafted smaller).
    data = encode(Image.fromarray(np.repeat(np.repeat(stored, 8, 0), 8, 1)), "JPEG", exif=exif)
    square, aspect = images.decode_image_and_aspect(data, 32)
    assert square.shape == (32, 32, 3) and aspect == 0.5


def test_the_aspect_is_the_stored_pictures_not_a_draft_scales_rounding():
    data = encode(Image.new("RGB", (1000, 799)), "JPEG")  # drafted at 1/8: 125x100, 1.25
    image, aspect = images.decode_image_and_aspect(data, 32)
    assert image.shape == (32, 32, 3) and aspect == 1000 / 799


@pytest.mark.parametrize("data", [b"", b"hello, world", b"%PDF-1.4 not an image"])
def test_not_an_image(data):
    with pytest.raises(ValueError, match=r"notes\.txt: not a readable image \(JPEG, PNG"):
        decode_image(data, name="notes.txt")


@pytest.mark.parametrize("format", ["JPEG", "PNG"])
def test_truncated_file(format):
    data = noise_jpeg() if format == "JPEG" else encode(Image.open(io.BytesIO(noise_jpeg())))
    with pytest.raises(ValueError, match=r"cut\.img: corrupt, truncated"):
        decode_image(data[: len(data) // 2], name="cut.img")


@pytest.mark.parametrize(
    "width, height",
    [(9_200, 9_200), (100_000, 100_000)],  # Over our limit only; over Pillow's too.
)
def test_decompression_bomb_is_refused_before_decoding(width, height):
    assert width * height > MAX_PIXELS
    limit_before = pillow_limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ValueError) as refused:
        decode_image(png_declaring(width, height), size=32, name="bomb.png")
    size = f"{width:,}x{height:,} pixels, " if width * height <= pillow_limit else ""
    assert str(refused.value) == (
        f"bomb.png: too large to read ({size}more than the 80,000,000 pixels an image may have "
        "here)"
    )  # past its own limit, Pillow refuses before it tells the size
    assert Image.MAX_IMAGE_PIXELS == limit_before  # Pillow's global setting is untouched.


def test_a_48_megapixel_phone_photo_is_no_bomb():
    photo = Image.new("RGB", (8064, 6048), (200, 120, 40))
    data = encode(photo, "JPEG")
    assert 8064 * 6048 < MAX_PIXELS
    small = decode_image(data, size=32, name="IMG_0001.jpg")
    assert small.shape == (32, 32, 3) and abs(int(small[16, 16, 0]) - 200) <= 4


def test_a_108_megapixel_phone_photo_is_read_at_the_scale_it_decodes_at(monkeypatch):
    """Past Pillow's own limit (89 M pixels, refused outright past twice that), which counts
    the stored size: drafted at 1/8 it is 1,500x1,125."""
    photo = Image.new("RGB", (12_000, 9_000), (40, 120, 200))
    data = encode(photo, "JPEG")
    del photo
    assert 12_000 * 9_000 > Image.MAX_IMAGE_PIXELS
    small = decode_image(data, size=32, name="IMG_108MP.jpg")
    assert small.shape == (32, 32, 3) and abs(int(small[16, 16, 2]) - 200) <= 4
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 12_000 * 9_000 // 3)  # a 200 MP photo, say
    assert decode_image(data, size=227, name="IMG_200MP.jpg").shape == (227, 227, 3)
    with pytest.raises(ValueError, match="IMG.jpg: too large to read"):
        decode_image(data, name="IMG.jpg")  # at its full size: Pillow's limit stands


def test_crafted_bomb_header_is_otherwise_valid():
    # Guards the helper above: Pillow reads the patched size without complaint.
    assert Image.open(io.BytesIO(png_declaring(300, 200))).size == (300, 200)


def test_machine_memory_is_read():
    memory = machine_memory()
    assert memory is None or 2**28 < memory < 2**50  # Between 256 MiB and 1 PiB.


def test_a_containers_memory_cap_below_the_machines_memory_is_what_counts(tmp_path, monkeypatch):
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    cap = tmp_path / "memory.max"
    monkeypatch.setattr(images, "CGROUP_LIMIT", str(cap))
    cap.write_text("1000000\n")  # as the kernel writes it
    assert machine_memory() == 1_000_000
    with pytest.raises(ValueError, match="needs 1.17 MiB .* more than this machine's 977 KiB"):
        check_memory("pets", 400, 32)  # 1.2 MB: more than the cap, far less than the machine
    cap.write_text("max\n")  # uncapped
    assert machine_memory() == physical
    cap.write_text(f"{physical * 2}\n")  # a cap above the machine's memory changes nothing
    assert machine_memory() == physical
    cap.unlink()  # no cgroup v2 here
    assert machine_memory() == physical


def test_free_memory_is_what_linux_has_available_or_a_containers_cap_leaves(tmp_path, monkeypatch):
    meminfo, cap, used = tmp_path / "meminfo", tmp_path / "memory.max", tmp_path / "memory.current"
    monkeypatch.setattr(images, "MEMINFO", str(meminfo))
    monkeypatch.setattr(images, "CGROUP_LIMIT", str(cap))
    monkeypatch.setattr(images, "CGROUP_USAGE", str(used))
    assert images.free_memory() is None, "neither can be read"
    meminfo.write_text("MemTotal: 24000000 kB\nMemFree: 100 kB\nMemAvailable: 20000000 kB\n")
    assert images.free_memory() == 20_000_000 * 1024
    cap.write_text("max\n")
    used.write_text("5000000000\n")
    assert images.free_memory() == 20_000_000 * 1024, "uncapped"
    cap.write_text("8000000000\n")
    assert images.free_memory() == 3_000_000_000, "the cap leaves less than the machine has"
    meminfo.unlink()
    assert images.free_memory() == 3_000_000_000


def test_images_bigger_than_the_machine_are_refused_and_small_ones_pass():
    check_memory("pets", 1000, 32)  # 3 MB
    # 10 million images at 512 px: 7,324 GiB, more than any machine this runs on.
    with pytest.raises(ValueError, match=r"pets: image_size 512 needs 7\.15 TiB") as error:
        check_memory("pets", 10_000_000, 512)
    assert "10,000,000 images" in str(error.value) and "smaller image_size" in str(error.value)
