"""helpers.env: a quiet TensorFlow, oneDNN on, and chapters that refuse another checkout's helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import env
from helpers.paths import ROOT

CHATTER = ("absl::InitializeLog", "cuInit", "cuda drivers", "oneDNN custom operations")


def run_python(code: str, **extra: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter, in a scratch folder, with the given environment changes."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    environment.update(extra)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300,
        cwd="/",
    )  # fmt: skip


def test_importing_helpers_silences_tensorflows_start_up_lines() -> None:
    quiet = run_python(
        "import helpers, keras, tensorflow as tf; print(float(tf.constant(2.0) + 1))"
    )
    assert quiet.returncode == 0 and quiet.stdout.strip() == "3.0"
    assert not [line for line in quiet.stderr.splitlines() if any(c in line for c in CHATTER)], (
        quiet.stderr
    )
    loud = run_python("import tensorflow as tf; print(float(tf.constant(2.0) + 1))")
    assert "absl::InitializeLog" in loud.stderr, "TensorFlow no longer prints what this hides"


def test_onednn_is_on_unless_the_reader_chose(tmp_path: Path) -> None:
    code = "import helpers, os; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    assert run_python(code).stdout.strip() == "1"
    assert run_python(code, TF_ENABLE_ONEDNN_OPTS="0").stdout.strip() == "0"


def test_set_aside_stderr_is_replayed_only_when_the_block_fails(
    capfd: pytest.CaptureFixture,
) -> None:
    """What TensorFlow prints while it loads is hidden, unless the import fails: then it is shown."""
    with env.native_stderr_captured():
        os.write(2, b"start-up chatter\n")
    assert "start-up chatter" not in capfd.readouterr().err
    with pytest.raises(ImportError), env.native_stderr_captured():
        os.write(2, b"the reason it failed\n")
        raise ImportError("broken")
    assert "the reason it failed" in capfd.readouterr().err


def test_a_chapter_refuses_the_helpers_of_another_checkout(tmp_path: Path) -> None:
    other = tmp_path / "other-checkout"
    (other / "helpers").mkdir(parents=True)
    (other / "helpers" / "__init__.py").write_text("")
    (other / "_toc.yml").write_text("format: jb-book\n")
    (other / "notebooks").mkdir()
    with pytest.raises(RuntimeError, match="choose the kernel of other-checkout"):
        env.check_checkout(other / "notebooks")
    env.check_checkout(ROOT / "notebooks")  # its own checkout: fine
    env.check_checkout(tmp_path)  # a folder that is no checkout: fine (any working directory)
