"""Start-up time of the command line, against the libraries it stands on (asv `timeraw_` benchmarks: each runs its
code in a fresh interpreter, so every import is paid as a user pays it).

Targets (issue 18): `kae-zoo --help` within 1.5x of `python -c "import numpy"`, `kae-zoo list` within 1.5x of
`python -c "import torch"`; compare the pairs as ratios of one `asv run` (benches/test_startup.py checks them).
"""

from __future__ import annotations

# The code each benchmark runs; `HELP` and `LIST` do what `kae-zoo --help` and `kae-zoo list` do, minus printing.
IMPORT_NUMPY = "import numpy"
IMPORT_TORCH = "import torch"
HELP = "from kae_zoo.cli import build_parser; build_parser().format_help()"
LIST = "from kae_zoo.cli import command_list; command_list()"


class CommandLineStartup:
    """`--help` and `list` against a bare `import numpy` and `import torch`, each in a fresh interpreter."""

    timeout = 120

    def timeraw_import_numpy(self) -> str:
        return IMPORT_NUMPY

    def timeraw_help(self) -> str:
        return HELP

    def timeraw_import_torch(self) -> str:
        return IMPORT_TORCH

    def timeraw_list(self) -> str:
        return LIST
