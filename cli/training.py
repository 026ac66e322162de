"""``paraseek synth``, ``paraseek train`` and ``paraseek eval``: corpus, training and evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--clips", "n_clips", type=click.IntRange(min=1), default=3000, show_default=True, help="Number of clips.")
@click.option("--seed", type=int, default=0, show_default=True, help="Corpus seed (same seed and count: same corpus).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parallel renderers (default: all cores).")
@click.option("--styles", type=click.Choice(["1", "2", "3", "4"]), default="2", show_default=True,
              help="Style set: 1 = paraseek-mini's nine groups; 2 adds breathiness, rhythm and emotion (paraseek-mini-v2); "
                   "3 renders every emotion with all its key cues; 4 is 3 with neutral clips at middle pitch, speed "
                   "and intonation.")
def synth(out_dir: Path, n_clips: int, seed: int, workers: int | None, styles: str) -> None:
    """Synthesise a labelled styled-speech corpus into OUT_DIR (resumable).

    \b
    Example:
      paraseek synth /data/corpus --clips 4500 --seed 0
    """
    from paraseek.training.synth import generate_corpus

    def progress(done: int, total: int) -> None:
        if done % 250 == 0 or done == total:
            click.echo(f"{done}/{total} clips", err=True)

    click.echo(str(generate_corpus(out_dir, n_clips, seed=seed, styles=int(styles), workers=workers,
                                   progress=progress)))


@click.command()
@click.option("--recipe", type=str, default=None,
              help="Named recipe (paraseek-mini-v2, paraseek-mini): synthesises its corpus and trains.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Recipe folder: corpus/ and run/ go here.")
@click.option("--install", is_flag=True, help="Recipe only: copy the trained weights into the package as the shipped model.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Training manifest (JSON lines).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Checkpoints, log and weights.")
@click.option("--model", type=str, default=None,
              help="Registered model name or config file (default: the recipe's, else paraseek-mini).")
@click.option("--init-checkpoint", type=str, default=None, help="Start from these weights (path or hf-hub:owner/repo).")
@click.option("--init-weight", type=click.FloatRange(0.0, 1.0, max_open=True), default=None,
              help="Share of --init-checkpoint's weights in the final weights (weight-space ensemble).")
@click.option("--distill-group", "distill_groups", multiple=True,
              help="Repeatable: a style group whose tag scores follow --init-checkpoint's while training.")
@click.option("--distill-weight", type=click.FloatRange(min=0.0), default=None,
              help="Weight of the --distill-group loss (0 disables it).")
@click.option("--distill-temperature", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Softens both models' tag distributions so margins, not only decisions, are matched.")
@click.option("--distill-skip-tag", "distill_skip_tags", multiple=True,
              help="Repeatable: clips carrying this tag are left out of the --distill-group loss.")
@click.option("--base-invariance-weight", type=click.FloatRange(min=0.0), default=None,
              help="Models extending a frozen base: weight of the loss that leaves the base's style groups to the base.")
@click.option("--audio-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="ParaSpeechCaps-style manifests: folder holding {source}/{relative_audio_path}.")
@click.option("--val-manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Validation manifest (default: the manifest's test split).")
@click.option("--steps", type=click.IntRange(min=1), default=None)
@click.option("--batch-size", type=click.IntRange(min=2), default=None, help="Per process.")
@click.option("--lr", type=float, default=None)
@click.option("--crop-seconds", type=float, default=None)
@click.option("--classification-weight", type=float, default=None, help="0 disables the tag classification loss.")
@click.option("--balance", type=click.Choice(["uniform", "inverse", "sqrt", "log"]), default=None)
@click.option("--min-rare", type=click.IntRange(min=0), default=None, help="Rare-tag clips guaranteed per batch.")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="DataLoader workers.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@click.option("--device", type=str, default=None, help="cpu, cuda, cuda:N (default: per-process GPU if any).")
@click.option("--bf16", "amp_bfloat16", is_flag=True, default=None, help="bfloat16 autocast.")
@click.option("--seed", type=int, default=None)
def train(recipe: str | None, work_dir: Path | None, install: bool, manifest: Path | None, out_dir: Path | None,
          **options: object) -> None:
    """Train a dual encoder contrastively (ParaSpeechCLAP recipe); resumes from OUT_DIR.

    \b
    Examples:
      paraseek train --recipe paraseek-mini-v2 --work-dir /data/mini-v2 --install
      paraseek train --manifest corpus/manifest.jsonl --out-dir runs/a --model paraseek-mini --steps 2000 --lr 2e-3
      torchrun --nproc-per-node 4 -m paraseek.cli.main train --model paraspeechclap-intrinsic \\
          --init-checkpoint hf-hub:ajd12342/paraspeechclap-intrinsic --manifest psc.jsonl \\
          --audio-root /data/psc --out-dir runs/psc --lr 1e-5 --batch-size 32 --bf16
    """
    from paraseek.training.eval import format_table
    from paraseek.training.train import TrainSettings, install_weights, run_recipe
    from paraseek.training.train import train as run_training

    overrides: dict[str, Any] = {k: v for k, v in options.items() if v is not None and v != ()}
    for key in ("init_checkpoint", "audio_root", "val_manifest"):
        if key in overrides:
            overrides[key] = str(overrides[key])
    if recipe:
        if work_dir is None:
            raise click.UsageError("--recipe needs --work-dir")
        results = run_recipe(recipe, work_dir, **overrides)
        if install:
            click.echo(f"installed {install_weights(work_dir / 'run' / 'weights.pt', recipe)}", err=True)
    else:
        if manifest is None or out_dir is None:
            raise click.UsageError("give --recipe and --work-dir, or --manifest and --out-dir")
        results = run_training(TrainSettings(manifest=str(manifest), out_dir=str(out_dir), **overrides))
    if results:
        click.echo(format_table(results))


@click.command()
@click.option("--model", type=str, default=None, help="Registered model name or config file (default: the shipped model).")
@click.option("--checkpoint", type=str, default=None, help="Weights file or hf-hub:owner/repo.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Manifest to evaluate on.")
@click.option("--split", type=str, default="test", show_default=True, help="Manifest split ('all' for every row).")
@click.option("--audio-root", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--max-clips", type=click.IntRange(min=2), default=None)
@click.option("--probe", "probe_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Real-speech probe folder (built there from Debian packages if missing).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write metrics here.")
def evaluate(model: str | None, checkpoint: str | None, manifest: Path | None, split: str, audio_root: Path | None,
             max_clips: int | None, probe_dir: Path | None, json_path: Path | None) -> None:
    """Retrieval R@k / median rank, zero-shot UAR / macro-F1 per group, and the real-speech probe.

    \b
    Examples:
      paraseek eval --manifest /data/corpus/manifest.jsonl --probe /data/probe --json metrics.json
      paraseek eval --model paraspeechclap-intrinsic --manifest psc_holdout.jsonl --audio-root /data/psc --split all
    """
    from paraseek.model import load_model
    from paraseek.training.eval import evaluate_manifest, evaluate_probe, format_table, write_json

    if manifest is None and probe_dir is None:
        raise click.UsageError("give --manifest and/or --probe")
    loaded = load_model(model, checkpoint=checkpoint)
    results: dict[str, object] = {"model": loaded.name, "fingerprint": loaded.fingerprint}
    if manifest is not None:
        results.update(evaluate_manifest(loaded, manifest, split=None if split == "all" else split,
                                         audio_root=audio_root, max_clips=max_clips))
    if probe_dir is not None:
        if not (probe_dir / "pairs.jsonl").is_file():
            from paraseek.training.probe import build_probe

            build_probe(probe_dir)
        results.update(evaluate_probe(loaded, probe_dir))
    click.echo(format_table(results))
    if json_path is not None:
        write_json(results, json_path)
        click.echo(f"wrote {json_path}", err=True)
