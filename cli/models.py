"""``paraseek models``: the registered model configs."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models(as_json: bool) -> None:
    """List registered models and the vocabulary each one understands (its style groups and tags).

    \b
    Example:
      paraseek models --json
    """
    from paraseek.model import DEFAULT_MODEL, get_config, list_models

    configs = [get_config(name) for name in list_models()]
    if as_json:
        click.echo(json.dumps([{
            "name": c.name, "default": c.name == DEFAULT_MODEL, "architecture": c.architecture,
            "embedding_dim": c.embedding_dim, "weights": c.weights, "style_groups": c.style_groups,
            "unlearned_groups": c.unlearned_groups, "description": c.description} for c in configs], indent=2))
        return
    for config in configs:
        marker = "*" if config.name == DEFAULT_MODEL else " "
        click.echo(f"{marker} {config.name:28} {config.embedding_dim:5}-d  {config.description}")
        for group, tags in config.style_groups.items():
            click.echo(f"    {group + ':':14}{', '.join(tags)}")
        for group, tags in config.unlearned_groups.items():
            click.echo(f"    {group + ':':14}(trained, not learned: not tagged or understood) {', '.join(tags)}")
