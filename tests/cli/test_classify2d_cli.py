"""``nmrlens classify2d``: images and .json peak lists, explanations, errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmrlens.cli.main import main
from nmrlens.models.checkpoint import save_checkpoint
from nmrlens.models.classify2d import SpectrumCNN
from nmrlens.spectra.model import CrossPeak, Spectrum2D
from nmrlens.spectra.render2d import render_spectrum2d, write_png


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import torch

    from nmrlens import io

    d = tmp_path_factory.mktemp("c2d")
    torch.manual_seed(0)
    stem = save_checkpoint(SpectrumCNN(classes=["fattyacids", "indol", "steroids"], image_size=[48, 64],
                                       channels=[4, 8], head_hidden=8), d / "tiny")
    hsqc = Spectrum2D("HSQC", ("1H", "13C"), [CrossPeak(1.3, 30.0, 2.0), CrossPeak(0.9, 14.0, 3.0)])
    hmbc = Spectrum2D("HMBC", ("1H", "13C"), [CrossPeak(2.3, 180.0), CrossPeak(1.3, 30.0)])
    io.write(hsqc, d / "hsqc.json")
    write_png(render_spectrum2d(hmbc), d / "hmbc.png")
    return {"ckpt": str(stem), "hsqc": str(d / "hsqc.json"), "hmbc": str(d / "hmbc.png"), "dir": d}


def test_json_and_image_input(files, capsys) -> None:
    rc = main(["classify2d", "--hsqc", files["hsqc"], "--hmbc", files["hmbc"], "--checkpoint", files["ckpt"], "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["experiments"] == ["HSQC", "HMBC"] and set(out["probabilities"]) == {"fattyacids", "indol", "steroids"}
    assert all(0.0 <= v <= 1.0 for v in out["probabilities"].values())


def test_explain_writes_overlay(files, capsys) -> None:
    out = files["dir"] / "heat.png"
    for method in ("gradcam", "gradcam++", "occlusion"):
        rc = main(["classify2d", "--hsqc", files["hsqc"], "--hmbc", files["hmbc"], "--checkpoint", files["ckpt"],
                   "--explain", method, "--target", "steroids", "--out", str(out), "--force"])
        assert rc == 0
        from PIL import Image

        im = np.asarray(Image.open(out))
        assert im.shape == (410, 2 * 600 + 8, 3)  # HSQC | HMBC side by side
    assert "steroids" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    ([], "at least one spectrum"),
    (["--hsqc", "missing.png"], "does not exist"),
    (["--hsqc", "HSQC", "--explain", "gradcam"], "--out"),
    (["--hsqc", "HSQC", "--out", "x.png"], "only used with --explain"),
])
def test_errors_exit_2(files, capsys, argv, message) -> None:
    argv = [files["hsqc"] if a == "HSQC" else a for a in argv]
    assert main(["classify2d", *argv, "--checkpoint", files["ckpt"]]) == 2
    assert message in capsys.readouterr().err


def test_superclass_task_with_checkpoint(files, capsys) -> None:
    import torch

    torch.manual_seed(1)
    classes = ["Benzenoids", "Lipids and lipid-like molecules", "Other"]
    stem = save_checkpoint(SpectrumCNN(classes=classes, multilabel=False, image_size=[48, 64], channels=[4, 8],
                                       head_hidden=8, task="superclass"), files["dir"] / "tiny_sc")
    rc = main(["classify2d", "--hsqc", files["hsqc"], "--task", "superclass", "--checkpoint", str(stem), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "superclass" and out["experiments"] == ["HSQC"]
    assert set(out["probabilities"]) == set(classes) and abs(sum(out["probabilities"].values()) - 1.0) < 1e-5
    assert out["label"] == max(out["probabilities"], key=out["probabilities"].get)
    # plain text output marks the top class
    assert main(["classify2d", "--hmbc", files["hmbc"], "--task", "superclass", "--checkpoint", str(stem)]) == 0
    text = capsys.readouterr().out
    assert "task: superclass (HMBC)" in text and text.count(" *") == 1


def test_bad_peak_list_and_task_exit_2(files, capsys) -> None:
    from nmrlens import io
    from nmrlens.spectra.model import Peak, Spectrum1D

    one_d = files["dir"] / "c13.json"
    io.write(Spectrum1D("13C", [Peak(30.0)]), one_d, force=True)
    assert main(["classify2d", "--hsqc", str(one_d), "--checkpoint", files["ckpt"]]) == 2
    assert "no 2D peak list" in capsys.readouterr().err
    broken = files["dir"] / "broken.json"
    broken.write_text("{not json")
    assert main(["classify2d", "--hsqc", str(broken), "--checkpoint", files["ckpt"]]) == 2
    assert "broken.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse rejects an unknown task
        main(["classify2d", "--hsqc", files["hsqc"], "--task", "genus"])
    assert exc.value.code == 2
    # the HMBC given is not one the model takes
    hsqc_only = save_checkpoint(SpectrumCNN(classes=["a", "b"], branches=["HSQC"], image_size=[48, 64],
                                            channels=[4], head_hidden=0), files["dir"] / "hsqc_only")
    assert main(["classify2d", "--hmbc", files["hmbc"], "--checkpoint", str(hsqc_only)]) == 2
    assert "the model takes HSQC" in capsys.readouterr().err


def test_bad_image_and_refuses_overwrite(files, capsys) -> None:
    bad = files["dir"] / "bad.png"
    bad.write_text("no image")
    assert main(["classify2d", "--hsqc", str(bad), "--checkpoint", files["ckpt"]]) == 2
    assert "not a readable image" in capsys.readouterr().err
    out = files["dir"] / "exists.png"
    out.write_bytes(b"x")
    assert main(["classify2d", "--hsqc", files["hsqc"], "--checkpoint", files["ckpt"], "--explain", "gradcam",
                 "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_shipped_model_on_real_images(data_dir, capsys) -> None:
    from nmrlens.models.checkpoint import weights_path

    if not weights_path("classify2d_substructure_v1").with_suffix(".json").is_file():
        pytest.skip("shipped substructure model not installed")
    base = data_dir / "substructuresnmr" / "data"
    rc = main(["classify2d", "--hsqc", str(base / "hsqc/train/indol/bmse000364_1H_13C_HSQC.jpg"),
               "--hmbc", str(base / "hmbc/train/indol/bmse000364_1H_13C_HMBC.jpg"), "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["label"] == "indol"
