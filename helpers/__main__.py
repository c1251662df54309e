"""The book's command line: `python -m helpers <command> ...`.

    python -m helpers extract ARCHIVE DEST   safely extract a zip or tar archive into DEST
    python -m helpers clean SRC DEST         clean SRC/<class>/* into DEST + manifest.csv
    python -m helpers classify [--model PATH] IMAGE...   classify image files with a saved model
                                                         (default: this profile and source's)
    python -m helpers export [--model PATH] DEST         the model as ONNX and LiteRT files in DEST,
                                                         with export.json (classes, preprocessing)

A bad input (missing path, unsafe or corrupt archive, unusable folder) prints one line on
stderr and exits with status 2; running out of memory prints one line naming the step and exits
with 1; success prints a short summary and exits with 0.

To add a command: write `register_<name>(commands)`, which adds a sub-parser and sets
`run=<function taking the parsed arguments and returning an exit status>` (and, optionally,
`step=<function naming what the command does, for that one line>`), and append it to
REGISTRATIONS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_OK = 0
EXIT_OUT_OF_MEMORY = 1
EXIT_BAD_INPUT = 2
# The errors a command reports as one line: bad paths and files (OSError: missing, not a folder,
# no permission, disk full) and bad content (ValueError: unsafe or corrupt archive, no classes).
USER_ERRORS = (OSError, ValueError)

Commands = argparse._SubParsersAction  # what add_subparsers returns


def run_extract(args: argparse.Namespace) -> int:
    """Extract ARCHIVE into DEST and say how many files were written."""
    from helpers.extract import safe_extract

    written = safe_extract(args.archive, args.dest)
    files = [path for path in written if path.is_file()]
    print(f"extracted {len(files)} file(s) from {args.archive} into {args.dest}")
    return EXIT_OK


def register_extract(commands: Commands) -> None:
    """`extract ARCHIVE DEST`."""
    parser = commands.add_parser(
        "extract",
        help="safely extract a zip or tar archive",
        description="Extract a zip or tar archive inside DEST, refusing absolute paths, '..', "
        "links, device files and zip bombs before anything is written.",
    )
    parser.add_argument("archive", type=Path, help="a .zip, .tar, .tar.gz, .tgz, ... file")
    parser.add_argument("dest", type=Path, help="folder to extract into (created if needed)")
    parser.set_defaults(run=run_extract, step=lambda args: f"extracting {args.archive}")


def run_clean(args: argparse.Namespace) -> int:
    """Clean SRC into DEST and print the per-class summary."""
    from helpers.clean import clean, summarize

    manifest = clean(
        args.src, args.dest, min_side=args.min_side, near_threshold=args.near_threshold
    )
    print(summarize(manifest).to_string())
    print(f"manifest: {args.dest / 'manifest.csv'}")
    return EXIT_OK


def clean_step(args: argparse.Namespace) -> str:
    """What `clean` was doing, for the out-of-memory line: 'cleaning 100000 files of SRC'."""
    from helpers.clean import input_files

    try:
        return f"cleaning {len(input_files(args.src))} files of {args.src}"
    except (OSError, ValueError):  # SRC cannot be listed: name it without a count
        return f"cleaning {args.src}"


def register_clean(commands: Commands) -> None:
    """`clean SRC DEST [--min-side N] [--near-threshold N]`."""
    from helpers.clean import MIN_SIDE, NEAR_THRESHOLD

    parser = commands.add_parser(
        "clean",
        help="clean a folder of class sub-folders into a new folder with a manifest",
        description="Judge every file under SRC/<class>/ by its content; write the usable ones "
        "as PNG under DEST/<class>/ and one manifest row per file to DEST/manifest.csv. "
        "SRC is never modified.",
    )
    parser.add_argument("src", type=Path, help="folder with one sub-folder per class")
    parser.add_argument("dest", type=Path, help="new folder for the clean copy (not inside SRC)")
    parser.add_argument(
        "--min-side", type=int, default=MIN_SIDE, help=f"shortest side kept (default {MIN_SIDE})"
    )
    parser.add_argument(
        "--near-threshold",
        type=int,
        default=NEAR_THRESHOLD,
        help=f"perceptual-hash bits within which two files are one picture "
        f"(default {NEAR_THRESHOLD})",
    )
    parser.set_defaults(run=run_clean, step=clean_step)


def register_classify(commands: Commands) -> None:
    """`classify [--model PATH] IMAGE...` (helpers.classify prints its own per-file errors)."""
    from helpers import classify

    parser = commands.add_parser(
        "classify",
        help="classify image files with a saved model, in its own class names",
        description="Print one line per image: path, class and the model's probability of the "
        "second class, after one line on stderr naming the model. A file that cannot be read "
        "gets one line on stderr; the others are still classified, and the exit status is 2.",
    )
    classify.add_arguments(parser)
    parser.set_defaults(run=classify.run, step=lambda args: f"classifying {len(args.images)} files")


def run_export(args: argparse.Namespace) -> int:
    """Write the model's ONNX and LiteRT files and their card into DEST, and list them."""
    from helpers import evaluate, export, pipeline
    from helpers.profiles import get_profile

    metrics = None  # a profile's baseline carries chapter 6's figures; another model, none
    if args.model is None:
        profile = get_profile(args.profile, args.source)
        path = pipeline.model_path(profile)
        metrics = export.read_metrics(evaluate.metrics_path(profile))
    else:
        path = args.model
    written_files = export.export_model(path, args.dest, metrics)
    print(f"model: {path}", file=sys.stderr, flush=True)
    for name, written in written_files.items():
        print(f"{written}\t{written.stat().st_size / 1e6:.2f} MB" if name != export.CARD_FILE
              else f"{written}\tclasses, preprocessing, checksums")  # fmt: skip
    return EXIT_OK


def register_export(commands: Commands) -> None:
    """`export [--model PATH] [--profile P] [--source S] DEST`."""
    parser = commands.add_parser(
        "export",
        help="write the model as ONNX and LiteRT (TFLite) files, with a card",
        description="Convert a saved .keras model (default: the baseline of --profile and "
        "--source) to model.onnx and model.tflite in DEST, and write export.json beside them: "
        "class names, input size, the preprocessing a caller must do, the test-set metrics "
        "chapter 6 saved (for a profile's baseline), and the SHA-256 of each file.",
    )
    parser.add_argument("--model", type=Path, help="saved .keras model (with its model.json)")
    parser.add_argument("--profile", help="whose model (default: $BOOK_PROFILE or full)")
    parser.add_argument("--source", help="... and of which source (default: $BOOK_SOURCE)")
    parser.add_argument("dest", type=Path, help="folder for the files (created if needed)")
    parser.set_defaults(run=run_export, step=lambda args: f"exporting the model to {args.dest}")


REGISTRATIONS: list[Callable[[Commands], None]] = [
    register_extract,
    register_clean,
    register_classify,
    register_export,
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers", description="Command-line tools of the 'Happy or Sad?' book."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRATIONS:
        register(commands)
    return parser


def _one_line(error: BaseException) -> str:
    """An error as one line: its message without the traceback (and only the first line)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the command; a user error is one line and exit 2, no memory 1."""
    from helpers.env import out_of_memory

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError as error:
        error.__traceback__ = None  # let go of the failed step's frames (and what they hold)
        step = args.step(args) if hasattr(args, "step") else f"running {args.command}"
        print(f"error: {out_of_memory(step, error)}", file=sys.stderr)
        return EXIT_OUT_OF_MEMORY


if __name__ == "__main__":
    sys.exit(main())
