"""Safe image reading and writing: every bad input refused with a clear line, originals never touched,
outputs complete or absent, never over anything, without metadata."""

from __future__ import annotations

import errno
import io
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from corpus import (
    BLUE,
    RED,
    SECRET,
    build_corpus,
    cmyk_jpeg,
    decompression_bomb,
    directory_named_jpg,
    exif_rotated_jpeg,
    file_hashes,
    gray16_png,
    grayscale_jpeg,
    jpeg_with_gps,
    missing_path,
    palette_transparent_png,
    png_named_jpg,
    rgba_png,
    short_video,
    two_tone,
    unwritable_dir,
)
from PIL import Image, ImageFile

from desktop_app.core import imageio
from desktop_app.core.imageio import (
    SUPPORTED_IMAGE_EXTENSIONS,
    ImageReadError,
    ImageWriteError,
    is_image,
    output_stem,
    read_image,
    write_image,
)


def near(actual: np.ndarray, expected: tuple[int, ...], tol: int) -> bool:
    return bool(np.abs(actual.astype(int) - np.array(expected)).max() <= tol)


# ------------------------------------------------------------------------------------------- corpus


def test_every_corpus_case_gives_its_outcome_and_originals_stay_byte_identical(tmp_path: Path) -> None:
    cases = [*build_corpus(tmp_path, videos=False), directory_named_jpg(tmp_path)]
    before = file_hashes(c.path for c in cases if c.path.is_file())
    outcomes = {}
    for case in cases:
        try:
            loaded = read_image(case.path)
            outcomes[case.name] = ("ok", loaded.size)
        except ImageReadError as exc:
            outcomes[case.name] = ("error", str(exc))
    for case in cases:
        kind, detail = outcomes[case.name]
        if case.ok:
            assert (kind, detail) == ("ok", case.size), case.name
        else:
            assert kind == "error", case.name
            assert detail.startswith(f"{case.path.name}: "), detail
            assert case.error in detail, (case.name, detail)
            assert "\n" not in detail
    assert file_hashes(before) == before


@pytest.mark.parametrize(
    ("builder", "message"),
    [
        (lambda d: d / "empty.jpg", "empty.jpg: not an image (the file is empty)"),
        (missing_path, "does not exist.jpg: file not found"),
        (directory_named_jpg, "album.jpg: is a folder, not a file"),
    ],
)
def test_path_problems_have_exact_messages(tmp_path: Path, builder, message: str) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    target = builder(tmp_path)
    path = target.path if hasattr(target, "path") else target
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(info.value) == message


def test_text_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("hello\n")
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(info.value) == "notes.jpg: not an image (unrecognised content)"
    assert info.value.path == path


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "unsupported format (SVG)"),
        (b"%PDF-1.7\n%binary\n", "unsupported format (PDF)"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "the file is truncated or corrupt"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "the file is truncated or corrupt"),
    ],
)
def test_unidentified_files_are_explained_by_their_first_bytes(tmp_path: Path, content, reason) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert info.value.reason == reason


def test_a_video_dropped_as_an_image_says_so(tmp_path: Path) -> None:
    video = short_video(tmp_path).path
    renamed = tmp_path / "clip.jpg"
    renamed.write_bytes(video.read_bytes())
    with pytest.raises(ImageReadError) as info:
        read_image(renamed)
    assert info.value.reason == "unsupported format (this looks like a video; drop it as a video file)"


def test_truncated_files_are_reported_as_corrupt(tmp_path: Path) -> None:
    from corpus import truncated_jpeg, truncated_png

    for case in (truncated_jpeg(tmp_path), truncated_png(tmp_path)):
        with pytest.raises(ImageReadError) as info:
            read_image(case.path)
        assert str(info.value) == f"{case.path.name}: the file is truncated or corrupt"


# ------------------------------------------------------------------------------------------- limits


def test_bomb_is_refused_from_the_header_without_decoding(tmp_path: Path, monkeypatch) -> None:
    case = decompression_bomb(tmp_path)

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageReadError) as info:
        read_image(case.path)
    assert str(info.value) == (
        "bomb.png: image is too large (30000x30000 = 900 megapixels; the limit is 200 megapixels)"
    )


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # pytest resets our filter
@pytest.mark.parametrize(
    ("width", "height"),
    [(12000, 10000), (20000, 10000)],  # below / above 2x Pillow's own global limit
)
def test_our_limit_decides_not_pillows_global_one(tmp_path: Path, monkeypatch, width, height) -> None:
    case = decompression_bomb(tmp_path, width, height)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageReadError) as info:
        read_image(case.path, max_pixels=100_000_000)
    mp = width * height // 1_000_000
    assert info.value.reason == f"image is too large ({width}x{height} = {mp} megapixels; the limit is 100 megapixels)"
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # Pillow's global is never mutated

    # Within our limit (even above Pillow's global one) the header is accepted and decoding is attempted.
    def fail_decoding(self: ImageFile.ImageFile) -> None:
        raise OSError("decoder reached")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail_decoding)
    with pytest.raises(ImageReadError) as info:
        read_image(case.path, max_pixels=250_000_000)
    assert info.value.reason == "the file is truncated or corrupt"
    assert isinstance(info.value.__cause__, OSError) and str(info.value.__cause__) == "decoder reached"


def test_pixel_and_byte_limits_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.fromarray(two_tone(40, 20)).save(path)
    with pytest.raises(ImageReadError) as info:
        read_image(path, max_pixels=799)
    assert info.value.reason == "image is too large (40x20 = 0 megapixels; the limit is 0 megapixels)"
    assert read_image(path, max_pixels=800).size == (40, 20)
    size = path.stat().st_size
    with pytest.raises(ImageReadError) as info:
        read_image(path, max_bytes=size - 1)
    assert info.value.reason.startswith("file is too large (")


# ------------------------------------------------------------------------------------------- pixels


def test_png_named_jpg_reads_by_content_with_exact_pixels(tmp_path: Path) -> None:
    loaded = read_image(png_named_jpg(tmp_path).path)
    assert loaded.source_format == "PNG"
    assert np.array_equal(loaded.rgb, two_tone())
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.flags.c_contiguous
    assert loaded.alpha is None


def test_16_bit_gray_is_scaled_by_its_range_not_clipped(tmp_path: Path) -> None:
    case, stored, expected = gray16_png(tmp_path)
    with Image.open(case.path) as im:
        assert np.array_equal(np.asarray(im), stored)  # the file really holds 16-bit values
    loaded = read_image(case.path)
    assert loaded.original_mode.startswith("I;16")
    assert loaded.rgb.shape == (2, 4, 3)
    for channel in range(3):
        assert np.array_equal(loaded.rgb[:, :, channel], expected)
    assert loaded.rgb[0, 1, 0] == 1 and loaded.rgb[1, 1, 0] == 100 and loaded.rgb[1, 0, 0] == 255


def test_32_bit_int_and_float_images_are_scaled(tmp_path: Path) -> None:
    as16 = tmp_path / "i16in32.tif"
    Image.fromarray(np.array([[0, 257, 65535, 32768]], np.int32), "I").save(as16)
    assert read_image(as16).rgb[0, :, 0].tolist() == [0, 1, 255, 128]
    full = tmp_path / "i32.tif"
    Image.fromarray(np.array([[-(2**31), 0, 2**31 - 1, 70000]], np.int32), "I").save(full)
    assert read_image(full).rgb[0, :, 0].tolist() == [0, 128, 255, 128]
    unit = tmp_path / "f.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0, 0.25]], np.float32), "F").save(unit)
    assert read_image(unit).rgb[0, :, 0].tolist() == [0, 128, 255, 64]
    wide = tmp_path / "wide.tif"
    Image.fromarray(np.array([[-2.0, 0.0, 2.0, 6.0]], np.float32), "F").save(wide)
    assert read_image(wide).rgb[0, :, 0].tolist() == [0, 64, 128, 255]  # stretched min..max


def test_cmyk_jpeg_converts_to_rgb(tmp_path: Path) -> None:
    loaded = read_image(cmyk_jpeg(tmp_path).path)
    assert loaded.original_mode == "CMYK"
    assert loaded.rgb.shape == (8, 16, 3)
    assert near(loaded.rgb, (255, 0, 0), 3)


def test_rgba_png_keeps_alpha(tmp_path: Path) -> None:
    loaded = read_image(rgba_png(tmp_path).path)
    assert loaded.alpha is not None and loaded.alpha.dtype == np.uint8
    assert loaded.alpha[:, :5].tolist() == [[255] * 5] * 8
    assert loaded.alpha[:, 5:].tolist() == [[64] * 5] * 8
    assert (loaded.rgb == np.array(RED, np.uint8)).all()


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    loaded = read_image(grayscale_jpeg(tmp_path).path)
    assert loaded.original_mode == "L" and loaded.alpha is None
    assert loaded.rgb.shape == (6, 12, 3)
    assert (loaded.rgb[..., 0] == loaded.rgb[..., 1]).all() and (loaded.rgb[..., 1] == loaded.rgb[..., 2]).all()
    assert near(loaded.rgb, (128, 128, 128), 1)


def test_palette_transparency_becomes_alpha(tmp_path: Path) -> None:
    loaded = read_image(palette_transparent_png(tmp_path).path)
    assert loaded.original_mode == "P"
    assert loaded.alpha is not None
    assert loaded.alpha.tolist() == [[0] * 5 + [255] * 5] * 4
    assert (loaded.rgb[:, 5:] == np.array(RED, np.uint8)).all()


def test_gray_with_alpha_and_one_bit_images(tmp_path: Path) -> None:
    la = np.zeros((2, 3, 2), np.uint8)
    la[..., 0] = [[10, 20, 30], [40, 50, 60]]
    la[..., 1] = [[255, 0, 128], [1, 2, 3]]
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    loaded = read_image(tmp_path / "la.png")
    assert loaded.rgb[..., 2].tolist() == [[10, 20, 30], [40, 50, 60]]
    assert loaded.alpha is not None and loaded.alpha.tolist() == [[255, 0, 128], [1, 2, 3]]

    bits = Image.new("1", (4, 2), 0)
    bits.putpixel((1, 0), 1)
    bits.putpixel((3, 1), 1)
    bits.save(tmp_path / "bits.png")
    assert read_image(tmp_path / "bits.png").rgb[..., 0].tolist() == [[0, 255, 0, 0], [0, 0, 0, 255]]


def test_exif_orientation_6_is_applied(tmp_path: Path) -> None:
    loaded = read_image(exif_rotated_jpeg(tmp_path).path)
    assert loaded.rgb.shape == (40, 20, 3)
    assert near(loaded.rgb[2:18], RED, 12)  # stored left half is now on top
    assert near(loaded.rgb[22:38], BLUE, 12)


@pytest.mark.parametrize(("fmt", "ext", "kwargs"), [
    ("GIF", "gif", {}), ("WEBP", "webp", {"lossless": True}), ("BMP", "bmp", {}), ("TIFF", "tif", {}),
])
def test_other_lossless_formats_read_exactly(tmp_path: Path, fmt: str, ext: str, kwargs: dict) -> None:
    path = tmp_path / f"x.{ext}"
    Image.fromarray(two_tone(24, 10)).save(path, fmt, **kwargs)
    loaded = read_image(path)
    assert loaded.source_format == fmt
    assert np.array_equal(loaded.rgb, two_tone(24, 10))


def test_gif_reads_the_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (6, 4), RED), Image.new("RGB", (6, 4), BLUE)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert (read_image(tmp_path / "anim.gif").rgb == np.array(RED, np.uint8)).all()


HEIC_FIXTURE = Path(__file__).parent / "fixtures" / "heic" / "two_tone_64x32.heic"  # see make_fixture.py there


def test_heic_reads_through_pi_heif(tmp_path: Path) -> None:
    """A committed HEIC (pi-heif reads only): two_tone(64, 32), HEVC-coded, so colours get a tolerance."""
    src = tmp_path / "p.heic"
    shutil.copyfile(HEIC_FIXTURE, src)
    before = file_hashes([src])
    loaded = read_image(src)
    assert loaded.source_format == "HEIF"
    assert loaded.rgb.shape == (32, 64, 3)
    assert near(loaded.rgb[4:28, 4:28], RED, 12) and near(loaded.rgb[4:28, 36:60], BLUE, 12)
    assert file_hashes(before) == before


def test_heic_under_another_extension_is_still_read(tmp_path: Path) -> None:
    """The format comes from the ftyp box, not the name: a HEIC saved as .jpg still opens as HEIF."""
    src = tmp_path / "really_heic.jpg"
    shutil.copyfile(HEIC_FIXTURE, src)
    assert read_image(src).source_format == "HEIF"


def test_extension_helpers() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"} <= (
        SUPPORTED_IMAGE_EXTENSIONS
    )
    assert is_image("a/B.JPG") and is_image("x.heic") and not is_image("x.mp4") and not is_image("x")
    assert output_stem(Path("/p/holiday photo.jpeg"), "blur") == "holiday photo_blur"


# ------------------------------------------------------------------------------------------- writing


def test_write_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = write_image(two_tone(), out, "x", "png")
    before = file_hashes([first])
    second = write_image(np.zeros((5, 5, 3), np.uint8), out, "x", "png")
    assert (first.name, second.name) == ("x.png", "x-1.png")
    assert file_hashes(before) == before
    assert sorted(p.name for p in out.iterdir()) == ["x-1.png", "x.png"]


def test_an_existing_file_is_untouched(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"someone else's file")
    path = write_image(two_tone(), tmp_path, "x", "jpg")
    assert path.name == "x-1.jpg"
    assert (tmp_path / "x.jpg").read_bytes() == b"someone else's file"


def test_concurrent_writers_get_distinct_names(tmp_path: Path) -> None:
    paths: list[Path] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def work(value: int) -> None:
        barrier.wait()
        p = write_image(np.full((4, 4, 3), value, np.uint8), tmp_path, "same", "png")
        with lock:
            paths.append(p)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in paths) == sorted(["same.png"] + [f"same-{i}.png" for i in range(1, 6)])
    assert sorted(int(read_image(p).rgb[0, 0, 0]) for p in paths) == list(range(6))
    assert len(list(tmp_path.iterdir())) == 6


def test_png_round_trip_is_exact_for_rgb_rgba_and_gray(tmp_path: Path) -> None:
    rgba = np.dstack([two_tone(), np.full((20, 40), 77, np.uint8)])
    assert np.array_equal(read_image(write_image(two_tone(), tmp_path, "rgb", "png")).rgb, two_tone())
    back = read_image(write_image(rgba, tmp_path, "rgba", "png"))
    assert np.array_equal(back.rgb, two_tone()) and back.alpha is not None and (back.alpha == 77).all()
    mask = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    assert np.array_equal(read_image(write_image(mask, tmp_path, "mask", "png")).rgb[..., 0], mask)


def test_lossy_formats_and_rgba_to_jpeg_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., :3] = RED
    rgba[:, 8:, 3] = 255  # left half fully transparent
    jpg = read_image(write_image(rgba, tmp_path, "cut", "jpeg"))
    assert jpg.source_format == "JPEG" and jpg.alpha is None
    assert near(jpg.rgb[:, :6], (255, 255, 255), 4)
    assert near(jpg.rgb[:, 10:], RED, 12)
    webp = read_image(write_image(rgba, tmp_path, "cut", "webp", quality=95))
    assert webp.source_format == "WEBP" and webp.alpha is not None
    assert webp.alpha[:, :6].max() == 0 and webp.alpha[:, 10:].min() == 255


def test_bad_arguments_are_refused_before_any_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown output format 'gif'"):
        write_image(two_tone(), tmp_path, "x", "gif")
    with pytest.raises(ValueError, match="must be uint8"):
        write_image(two_tone().astype(np.float32), tmp_path, "x", "png")
    with pytest.raises(ValueError, match="quality must be between 1 and 100"):
        write_image(two_tone(), tmp_path, "x", "jpg", quality=0)
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def half_then_fail(self: Image.Image, fp: io.BufferedWriter, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    monkeypatch.setattr(imageio, "_save_png", half_then_fail)  # PNG is encoded by OpenCV
    with pytest.raises(ImageWriteError) as info:
        write_image(two_tone(), tmp_path, "x", "png")
    assert info.value.reason == "could not write the file: the disk is full"
    assert list(tmp_path.iterdir()) == []

    def interrupted(self: Image.Image, fp: io.BufferedWriter, *args: object, **kwargs: object) -> None:
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    monkeypatch.setattr(imageio, "_save_png", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(two_tone(), tmp_path, "x", "png")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_folder_is_a_clear_error(tmp_path: Path) -> None:
    dest = unwritable_dir(tmp_path)
    with pytest.raises(ImageWriteError) as info:
        write_image(two_tone(), dest, "x", "png")
    assert str(info.value) == f"{dest}: cannot create the output folder: part of its path is a file"
    with pytest.raises(ImageWriteError) as info:
        write_image(two_tone(), dest.parent, "x", "png")
    assert info.value.reason == "the output folder is a file, not a folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ImageWriteError) as info:
            write_image(two_tone(), tmp_path, "x", "png")
        assert info.value.reason == "cannot write to the output folder: permission denied"
    finally:
        tmp_path.chmod(0o700)


def test_an_input_is_never_written_over(tmp_path: Path) -> None:
    src = png_named_jpg(tmp_path).path  # "really a png.jpg"
    before = file_hashes([src])
    with pytest.raises(ImageWriteError) as info:
        write_image(two_tone(), tmp_path, src.stem, "jpg", inputs=[src])
    assert info.value.reason == "refusing to write over an input file"
    assert file_hashes(before) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_exif_gps_and_comments_never_reach_the_output(tmp_path: Path, fmt: str) -> None:
    src = jpeg_with_gps(tmp_path).path
    with Image.open(src) as im:
        assert im.getexif().get_ifd(0x8825), "the fixture must carry GPS"
    before = file_hashes([src])
    loaded = read_image(src)
    out = write_image(loaded.rgb, tmp_path / "out", output_stem(src, "blur"), fmt)
    data = out.read_bytes()
    assert SECRET.encode() not in data and b"Exif" not in data
    with Image.open(out) as im:
        assert len(im.getexif()) == 0
        assert not {"exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp"} & set(im.info)
    assert file_hashes(before) == before


def test_no_network_capable_imports() -> None:
    source = Path(imageio.__file__).read_text()
    for name in ("socket", "urllib", "http", "requests"):
        assert f"import {name}" not in source
