"""The ``paraseek`` command. Each command lives in its own module and is imported only when run,
so client commands never import the engine (torch, transformers, qdrant)."""

from __future__ import annotations

import importlib
import importlib.util

import click

# command name -> "module:function" under paraseek.cli
COMMANDS: dict[str, str] = {
    "models": "paraseek.cli.models:models",
    "synth": "paraseek.cli.training:synth",
    "train": "paraseek.cli.training:train",
    "eval": "paraseek.cli.training:evaluate",
    "index": "paraseek.cli.indexing:index",
    "collections": "paraseek.cli.indexing:collections",
    "serve": "paraseek.cli.serving:serve",
    "search": "paraseek.cli.querying:search",
    "classify": "paraseek.cli.querying:classify",
    "rerank": "paraseek.cli.querying:rerank",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and error.name.startswith("paraseek.cli"):
                return None
            raise
        return getattr(module, attr)

    @staticmethod
    def _available(name: str) -> bool:
        module_name = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paraseek")
def cli() -> None:
    """paraseek: search speech by speaking style.

    \b
    Examples:
      paraseek index ./clips --collection voices
      paraseek serve --address 127.0.0.1:50051
      paraseek search "breathy low-pitched angry woman" --where "gender=female" --top-k 10
    """


if __name__ == "__main__":
    cli()
