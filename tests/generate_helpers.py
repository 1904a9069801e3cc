"""A tiny generation model that memorises three spectrum -> SMILES pairs (shared by the generate tests)."""

from __future__ import annotations

import functools
from pathlib import Path

from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D

#: SMILES -> query (13C, 1H, formula); the alanine entry carries stereo.
PAIRS: dict[str, Query] = {
    "CCO": Query(spectra=[Spectrum1D("13C", [Peak(58.3), Peak(18.4)]),
                          Spectrum1D("1H", [Multiplet(3.69, 3.69, None, (), 2), Multiplet(1.22, 1.22, None, (), 3)])],
                 formula="C2H6O"),
    "CC(C)=O": Query(spectra=[Spectrum1D("13C", [Peak(206.7), Peak(30.8, count=2)]),
                              Spectrum1D("1H", [Multiplet(2.17, 2.17, None, (), 6)])], formula="C3H6O"),
    "C[C@H](N)C(=O)O": Query(spectra=[Spectrum1D("13C", [Peak(176.0), Peak(51.0), Peak(17.0)]),
                                      Spectrum1D("1H", [Multiplet(3.78, 3.78, None, (), 1),
                                                        Multiplet(1.47, 1.47, None, (), 3)])], formula="C3H7NO2"),
}
CONFIGS = ("C", "H", "CH", "CF", "HF", "CHF")


@functools.lru_cache(maxsize=1)
def tiny_generator():  # noqa: ANN201 - Generator
    """A Generator whose tiny model was trained (fixed seed) until it reproduces PAIRS for every config."""
    import torch

    from nmrlens.models.generate import GenerationModel, Generator, collate_sources, compose_source, query_segments
    from nmrlens.tokenize import SmilesTokenizer, SpectralTokenizer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    st, mt = SpectralTokenizer.load(), SmilesTokenizer.load()
    model = GenerationModel(st.vocab_size, mt.vocab_size, dim=32, heads=2, enc_layers=1, dec_layers=1, ff=64,
                            dropout=0.0, max_src=64, max_tgt=32)
    srcs, tgts = [], []
    for smi, q in PAIRS.items():
        segs = query_segments(st, q)
        for cfg in CONFIGS:
            srcs.append(compose_source(st, segs, cfg))
            tgts.append(mt.encode(smi))
    src, seg, pad = collate_sources(srcs, st.pad_id)
    T = max(map(len, tgts))
    tgt = torch.zeros(len(tgts), T, dtype=torch.long)
    for i, t in enumerate(tgts):
        tgt[i, : len(t)] = torch.tensor(t)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(400):
        logits = model(src, seg, pad, tgt[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                                                 ignore_index=mt.pad_id)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return Generator(model, st, mt), float(loss.item())


def save_tiny(path: Path) -> str:
    """Save the tiny model as a checkpoint under ``path`` and return its stem."""
    from nmrlens.models.checkpoint import save_checkpoint

    gen, _ = tiny_generator()
    return str(save_checkpoint(gen.model, path / "tiny_generate", force=True))

