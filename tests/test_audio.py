"""Decoding and resampling against the reference resampler's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paraseek.audio import decode_bytes, load_audio, normalize, prepare_waveform, resample, to_mono
from paraseek.errors import AudioError
from paraseek.testing import tone, write_audio


@pytest.mark.parametrize("rate", [8000, 22050, 24000, 44100, 48000])
def test_resample_matches_reference(rate: int, resample_golden: Path) -> None:
    golden = np.load(resample_golden)
    out = to_mono(resample(golden[f"in_{rate}"], rate, 16000))
    expected = golden[f"out_{rate}"]
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() < 1e-4


def test_resample_keeps_leading_shape_and_treats_channels_alike() -> None:
    wave = tone(0.5, 44100, channels=3)
    out = resample(wave, 44100, 16000)
    assert out.dtype == np.float32 and out.shape == (3, 8000)
    for channel in range(3):
        np.testing.assert_array_equal(out[channel], resample(wave[channel], 44100, 16000))


def test_resampling_leaves_numpys_blas_threads_as_they_were() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"):
        resample(tone(1.0, 44100), 44100, 16000)
        assert blas_threads() == {2}


def test_resample_preserves_a_tone_below_nyquist() -> None:
    wave = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000).astype(np.float32)
    out = resample(wave, 48000, 16000)
    spectrum = np.abs(np.fft.rfft(out[2000:-2000]))
    peak_hz = np.argmax(spectrum) * 16000 / len(out[2000:-2000])
    assert abs(peak_hz - 1000) < 5


def test_resample_rejects_bad_rates() -> None:
    with pytest.raises(AudioError):
        resample(np.zeros(100, dtype=np.float32), 0, 16000)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_decodes_common_formats(tmp_path: Path, suffix: str) -> None:
    wave = tone(1.0, 22050, channels=2)
    path = write_audio(tmp_path / f"clip{suffix}", wave, 22050)
    decoded, rate = load_audio(path)
    assert rate == 22050
    assert decoded.shape[0] == 2 and decoded.dtype == np.float32
    # lossy codecs add padding and error; the duration and level must survive
    assert abs(decoded.shape[1] - wave.shape[1]) < 0.1 * 22050
    assert abs(np.sqrt((decoded**2).mean()) - np.sqrt((wave**2).mean())) < 0.05


def test_decode_bytes_and_errors(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "a.wav", tone(0.5), 16000)
    wave, rate = decode_bytes(path.read_bytes())
    assert rate == 16000 and wave.shape == (1, 8000)
    with pytest.raises(AudioError, match="empty"):
        decode_bytes(b"")
    with pytest.raises(AudioError, match="cannot decode") as caught:
        decode_bytes(b"RIFF\x00\x00garbage" * 10)
    assert "BytesIO" not in str(caught.value)
    with pytest.raises(AudioError, match="cannot"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(AudioError, match="longer than"):
        load_audio(path, max_seconds=0.1)


def test_prepare_resamples_then_averages_channels() -> None:
    stereo = tone(1.0, 44100, channels=2)
    out = prepare_waveform(stereo, 44100, 16000)
    expected = resample(stereo, 44100, 16000).mean(axis=0)
    np.testing.assert_allclose(out, expected, atol=1e-7)
    with pytest.raises(AudioError):
        prepare_waveform(np.array([np.nan, 1.0], dtype=np.float32), 16000, 16000)


def test_normalize_matches_definition() -> None:
    wave = tone(0.3) * 3 + 0.2
    out = normalize(wave)
    np.testing.assert_allclose(out, (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7), rtol=1e-6)


_BOUNDED_RESAMPLE_SCRIPT = """
import resource, sys, time
import numpy as np
from paraseek.audio import resample
def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
resample(np.zeros(1000, dtype=np.float32), 44100, 16000)  # warm up the kernel cache and BLAS
before, started = peak_mib(), time.perf_counter()
for rate in (8001, 16001, 44099, 47999, 96001):
    for target in (16000, 24000):
        wave = np.sin(np.arange(800) / 7.0).astype(np.float32)  # a 1.6 KB 16-bit clip
        out = resample(wave, rate, target)
        assert out.shape == (-(-800 * target // rate),), (rate, out.shape)
print(time.perf_counter() - started, peak_mib() - before)
"""


def test_resampling_odd_rates_is_cheap_in_time_and_memory() -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _BOUNDED_RESAMPLE_SCRIPT], capture_output=True, text=True,
                            timeout=120, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    seconds, extra_mib = (float(part) for part in result.stdout.split())
    # generous bounds: a kernel sized by the raw rates costs seconds and gigabytes per clip
    assert seconds < 5.0
    assert extra_mib < 200


@pytest.mark.parametrize("rate", [8001, 16001, 44099])
def test_resampling_odd_rates_keeps_length_and_pitch(rate: int) -> None:
    seconds = 2.0
    wave = np.sin(2 * np.pi * 1000 * np.arange(int(seconds * rate)) / rate).astype(np.float32)
    out = resample(wave, rate, 16000)
    assert out.shape == (-(-wave.shape[0] * 16000 // rate),)
    body = out[2000:-2000]
    spectrum = np.abs(np.fft.rfft(body * np.hanning(body.shape[0])))
    assert abs(np.argmax(spectrum) * 16000 / body.shape[0] - 1000) < 2
    assert abs(np.sqrt((body**2).mean()) - np.sqrt(0.5)) < 0.01


def test_kernel_cache_is_bounded_by_bytes() -> None:
    from paraseek.audio.resample import kernel_cache

    for rate in range(30001, 30001 + 40 * 97, 97):
        resample(np.zeros(500, dtype=np.float32), rate, 16000)
    assert 0 < kernel_cache.nbytes <= kernel_cache.max_bytes


def test_clip_length_is_checked_before_resampling() -> None:
    from paraseek.audio.resample import kernel_cache

    kernel_cache.clear()
    with pytest.raises(AudioError, match="shorter than"):
        prepare_waveform(np.ones(100, dtype=np.float32), 8123, 16000, min_seconds=0.25)
    with pytest.raises(AudioError, match="longer than"):
        prepare_waveform(np.ones(9000, dtype=np.float32), 8123, 16000, max_seconds=1.0)
    assert kernel_cache.nbytes == 0


def test_decoding_checks_duration_from_the_header(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "short.wav", tone(0.1, 8001), 8001)
    with pytest.raises(AudioError, match="shorter than"):
        load_audio(path, min_seconds=0.25)
    with pytest.raises(AudioError, match="shorter than"):
        decode_bytes(path.read_bytes(), min_seconds=0.25)
