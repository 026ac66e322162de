"""The measured bins against a labelled corpus, at the indexer's pitch hop and at a finer reference hop.

Synthesises a labelled corpus (``paraseek synth``, style set 2: pitch, speed and breathiness labels
among others) or reads one (``--manifest``), then measures every clip twice: with the indexer's pitch
analysis hop (``paraseek.audio.pitch.ANALYSIS_HOP_SECONDS``) and with ``--reference-hop``. Prints,
for each hop, the CPU time of ``measure`` per audio second and how often the ``measured.pitch``,
``measured.speaking_rate`` and ``measured.breathiness`` bins agree with the clip's label (pitch:
low/high-pitched; speed: slow/fast; breathiness: breathy/modal, read as breathy/clear), and the
share of clips whose bins differ between the two hops.

    python benchmarks/measured_bins.py --clips 400 [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

#: Bin -> (corpus label group, label value -> bin value). A label with no bin value is not scored.
LABELS: dict[str, tuple[str, dict[str, str]]] = {
    "pitch": ("pitch", {"low-pitched": "low", "high-pitched": "high"}),
    "speaking_rate": ("speed", {"slow": "slow", "fast": "fast"}),
    "breathiness": ("breathiness", {"breathy": "breathy", "modal": "clear"}),
}


def measure_corpus(rows: list[dict[str, Any]], root: Path, hop: float) -> tuple[list[dict[str, str]], float, float]:
    """Each clip's bins at pitch hop ``hop``, the CPU seconds ``measure`` took and the audio seconds."""
    from paraseek.audio import load_audio, prepare_waveform
    from paraseek.indexer.acoustics import measure, measured_bins

    bins, cpu, audio = [], 0.0, 0.0
    for row in rows:
        wave = prepare_waveform(*load_audio(root / row["path"]), 16000)
        started = time.process_time()
        raw = measure(wave, 16000, pitch_hop_seconds=hop).to_payload()
        cpu += time.process_time() - started
        audio += wave.shape[0] / 16000
        bins.append(measured_bins(raw, {"gender": row["gender"]} if row.get("gender") else {}))
    return bins, cpu, audio


def agreement(rows: list[dict[str, Any]], bins: list[dict[str, str]]) -> dict[str, float]:
    """Per bin with labelled clips, the share of them whose bin equals the label."""
    shares = {}
    for name, (group, values) in LABELS.items():
        pairs = [(values[row["tags"][group]], clip.get(name)) for row, clip in zip(rows, bins, strict=True)
                 if row.get("tags", {}).get(group) in values]
        if pairs:
            shares[name] = round(sum(label == got for label, got in pairs) / len(pairs), 3)
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--manifest", type=Path, default=None,
                        help="measure this corpus instead: JSON lines with a path relative to the file, optional "
                             "gender and tags (e.g. the real-speech probe's clips.jsonl, to count changed bins)")
    parser.add_argument("--reference-hop", type=float, default=0.01, help="the finer pitch hop to compare with (s)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from paraseek.audio.pitch import ANALYSIS_HOP_SECONDS
    from paraseek.indexer.acoustics import BIN_VALUES
    from paraseek.training.synth import generate_corpus

    threadpool_limits(limits=1)
    with tempfile.TemporaryDirectory(prefix="paraseek-bins-") as tmp:
        manifest = args.manifest or generate_corpus(Path(tmp), args.clips, seed=args.seed, styles=2)
        rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()][: args.clips]
        results = {}
        for hop in (ANALYSIS_HOP_SECONDS, args.reference_hop):
            bins, cpu, audio = measure_corpus(rows, manifest.parent, hop)
            results[hop] = {"bins": bins, "cpu_ms_per_audio_second": round(1000 * cpu / audio, 3),
                            "label_agreement": agreement(rows, bins)}
    default, reference = results[ANALYSIS_HOP_SECONDS], results[args.reference_hop]
    changed = {name: round(sum(a.get(name) != b.get(name) for a, b in zip(default["bins"], reference["bins"],
                                                                         strict=True)) / len(rows), 3)
               for name in BIN_VALUES}
    print(f"{len(rows)} clips; measure's CPU time per audio second and the bins' agreement with the labels")
    for hop, label in ((ANALYSIS_HOP_SECONDS, "indexer"), (args.reference_hop, "reference")):
        figures = results[hop]
        shares = "  ".join(f"{name} {share:.3f}" for name, share in figures["label_agreement"].items())
        print(f"  pitch hop {1000 * hop:4.0f} ms ({label:9s}): {figures['cpu_ms_per_audio_second']:6.2f} ms  "
              f"{shares or '(no labelled clips)'}")
    print("  clips whose bin differs between the hops: " + "  ".join(f"{k} {v:.3f}" for k, v in changed.items()))
    if args.json:
        print(json.dumps({"clips": len(rows), "hop_s": ANALYSIS_HOP_SECONDS, "reference_hop_s": args.reference_hop,
                          "cpu_ms_per_audio_second": default["cpu_ms_per_audio_second"],
                          "reference_cpu_ms_per_audio_second": reference["cpu_ms_per_audio_second"],
                          "label_agreement": default["label_agreement"],
                          "reference_label_agreement": reference["label_agreement"], "bins_changed": changed}))


if __name__ == "__main__":
    main()
