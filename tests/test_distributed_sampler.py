"""fastnn.utils.data.DistributedSampler against torch.utils.data.DistributedSampler.

shuffle=False: the index lists must be torch's exactly, for many (n, num_replicas, drop_last).
shuffle=True: torch's permutation comes from torch.randperm, fastnn's from NumPy, so the lists
differ; the checks are structural (a partition of one global order that is the same on every
rank, coverage, padding and dropping, equal lengths, epoch and seed dependence), plus one exact
check: given torch's permutation, fastnn's padding/dropping/striding reproduce torch's lists.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import fastnn
from conftest import require_torch
from fastnn.utils.data import DataLoader, DistributedSampler, TensorDataset
from fastnn.utils.data import distributed as dist_mod

SIZES = [0, 1, 2, 3, 5, 7, 8, 10, 11, 16, 17, 31, 100, 101]
REPLICAS = [1, 2, 3, 4, 5, 7, 8, 13]


def torch_lists(torch, n, replicas, **kw):
    from torch.utils.data.distributed import DistributedSampler as TorchDS
    out = []
    for rank in range(replicas):
        s = TorchDS(range(n), num_replicas=replicas, rank=rank, **kw)
        out.append((list(s), len(s), s.num_samples, s.total_size))
    return out


def fastnn_lists(n, replicas, **kw):
    out = []
    for rank in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, **kw)
        out.append((list(s), len(s), s.num_samples, s.total_size))
    return out


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", REPLICAS)
def test_unshuffled_indices_are_torchs(replicas, drop_last):
    torch = require_torch()
    for n in SIZES:
        got = fastnn_lists(n, replicas, shuffle=False, drop_last=drop_last)
        assert got == torch_lists(torch, n, replicas, shuffle=False, drop_last=drop_last), (n, replicas, drop_last)
        assert all(type(i) is int for lst, *_ in got for i in lst)


@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_structure_is_torchs_given_torchs_permutation(monkeypatch, drop_last):
    """Feed torch's randperm(seed + epoch) in: padding, dropping and striding then match torch exactly."""
    torch = require_torch()

    def torch_perm(self, n):
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return torch.randperm(n, generator=g).numpy()

    monkeypatch.setattr(DistributedSampler, "permutation", torch_perm)
    from torch.utils.data.distributed import DistributedSampler as TorchDS
    for n in (1, 3, 10, 11, 29):
        for replicas in (1, 2, 3, 4, 7, 12):
            for epoch, seed in ((0, 0), (3, 0), (1, 42)):
                for rank in range(replicas):
                    ours = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=seed, drop_last=drop_last)
                    theirs = TorchDS(range(n), replicas, rank, shuffle=True, seed=seed, drop_last=drop_last)
                    ours.set_epoch(epoch)
                    theirs.set_epoch(epoch)
                    assert list(ours) == list(theirs), (n, replicas, rank, epoch, seed)


def global_order(n, replicas, **kw):
    """The ranks' lists interleaved back into the padded/cut global order."""
    lists = [list(DistributedSampler(range(n), replicas, r, **kw)) for r in range(replicas)]
    assert len({len(lst) for lst in lists}) == 1
    return [lists[i % replicas][i // replicas] for i in range(sum(map(len, lists)))], lists


@pytest.mark.parametrize("n,replicas", [(10, 2), (10, 3), (11, 4), (3, 8), (1, 3), (100, 7), (64, 8), (0, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_partition_coverage_and_lengths(n, replicas, drop_last):
    for epoch in (0, 1, 5):
        kw = dict(shuffle=True, seed=7, drop_last=drop_last)
        sampler = DistributedSampler(range(n), replicas, 0, **kw)
        sampler.set_epoch(epoch)
        lists = []
        for rank in range(replicas):
            s = DistributedSampler(range(n), replicas, rank, **kw)
            s.set_epoch(epoch)
            lists.append(list(s))
            assert len(s) == len(lists[-1]) == sampler.num_samples
        order = [lists[i % replicas][i // replicas] for i in range(sampler.total_size)]
        perm = sampler.permutation(n).tolist()
        assert sorted(perm) == list(range(n))                        # a permutation, the same on every rank
        if drop_last:
            assert sampler.num_samples == n // replicas
            assert order == perm[:sampler.total_size]                # the tail is cut
            assert len(set(order)) == len(order)                     # disjoint shares
        else:
            assert sampler.num_samples == -(-n // replicas)
            assert order[:n] == perm                                 # everything, once, then padding
            assert order[n:] == (perm * (1 + sampler.total_size // max(n, 1)))[:sampler.total_size - n]
            assert set(order) == set(range(n))                       # full coverage


def test_epoch_and_seed_dependence():
    def share(rank, epoch=0, seed=0, n=50, replicas=3):
        s = DistributedSampler(range(n), replicas, rank, seed=seed)
        s.set_epoch(epoch)
        return list(s)

    assert share(0) == share(0) and share(1, epoch=4) == share(1, epoch=4)         # deterministic
    assert share(0, epoch=0) != share(0, epoch=1)                                # a new order every epoch
    assert share(0, seed=0) != share(0, seed=1)
    assert share(2, epoch=3, seed=0) == share(2, epoch=0, seed=3)                # depends on seed + epoch only
    s = DistributedSampler(range(50), 3, 0)
    first = list(s)
    assert list(s) == first                                                      # without set_epoch: repeats
    # the documented permutation: fastnn.randperm with a fastnn.Generator seeded with seed + epoch
    s.set_epoch(2)
    g = fastnn.Generator().manual_seed(2)
    perm = fastnn.randperm(50, generator=g).numpy()
    assert list(s) == np.concatenate([perm, perm[:1]])[0::3].tolist()            # 50 + 1 padding, every 3rd
    np.testing.assert_array_equal(s.permutation(50), np.random.default_rng(2).permutation(50))
    neg = DistributedSampler(range(10), 2, 0, seed=-5)                             # negative seeds work
    assert sorted(neg.permutation(10).tolist()) == list(range(10))


def test_with_a_dataloader_every_rank_reads_its_share():
    x = np.arange(22, dtype=np.float32).reshape(11, 2)
    ds = TensorDataset(fastnn.tensor(x), fastnn.tensor(np.arange(11)))
    seen = []
    for rank in range(3):
        sampler = DistributedSampler(ds, num_replicas=3, rank=rank, shuffle=True, seed=1)
        sampler.set_epoch(2)
        loader = DataLoader(ds, batch_size=2, sampler=sampler)
        assert len(loader) == 2
        ys = [int(v) for _, yb in loader for v in yb.numpy()]
        assert ys == list(sampler)
        seen += ys
    assert len(seen) == 12 and set(seen) == set(range(11))                       # one padded index
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=DistributedSampler(ds, 2, 0), shuffle=True)


def test_arguments_and_errors(monkeypatch):
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(5), num_replicas=3, rank=3)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(5), num_replicas=3, rank=-1)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(5), num_replicas=0, rank=0)
    with pytest.raises(TypeError, match="rank"):
        DistributedSampler(range(5), num_replicas=2, rank=1.0)
    s = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False, seed=3, drop_last=True)
    assert (s.dataset, s.num_replicas, s.rank, s.epoch, s.shuffle, s.seed, s.drop_last) == (range(5), 2, 1, 0, False, 3,
                                                                                           True)
    assert "num_replicas=2, rank=1" in repr(s)
    # no fastnn.distributed: a clear error asking for the arguments
    def absent():
        raise ModuleNotFoundError("No module named 'fastnn.distributed'")

    monkeypatch.setattr(dist_mod, "_distributed_module", absent)
    with pytest.raises(RuntimeError, match="num_replicas was not given .* pass num_replicas= and rank="):
        DistributedSampler(range(5))
    with pytest.raises(RuntimeError, match="rank was not given"):
        DistributedSampler(range(5), num_replicas=2)


def test_defaults_from_fastnn_distributed(monkeypatch):
    fake = types.ModuleType("fastnn.distributed")
    state = {"init": False}
    fake.is_initialized = lambda: state["init"]
    fake.get_world_size = lambda: 4
    fake.get_rank = lambda: 3
    monkeypatch.setattr(dist_mod, "_distributed_module", lambda: fake)
    with pytest.raises(RuntimeError, match="not initialized"):
        DistributedSampler(range(10))
    state["init"] = True
    s = DistributedSampler(range(10), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (4, 3, [3, 7, 1])
    assert DistributedSampler(range(10), rank=0, shuffle=False).num_replicas == 4
    assert dist_mod.DistributedSampler is DistributedSampler
