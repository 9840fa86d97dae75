"""Training data in an order fixed by (seed, epoch, position), so a resumed run sees exactly
the images and augmentations an uninterrupted one would have, and processes split it evenly.
"""

from __future__ import annotations

import torch

from ssd_rt.data.transforms import TrainSample


class EpochSampler(torch.utils.data.Sampler):
    """Keys (index, augmentation seed) of one epoch from position `start`, this rank's share."""

    def __init__(self, size: int, seed: int, epoch: int, start: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:  # fmt: skip
        self.size, self.seed, self.epoch = size, seed, epoch
        self.start, self.rank, self.world_size = start, rank, world_size

    def order(self) -> list[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.size, generator=generator).tolist()

    def __iter__(self):
        order = self.order()
        # Every rank walks the same global order; position p goes to rank p % world_size.
        for position in range(self.start, self.size - self.size % self.world_size):
            if position % self.world_size == self.rank:
                yield order[position], (self.seed, self.epoch, position)

    def __len__(self) -> int:
        usable = self.size - self.size % self.world_size
        return max(0, (usable - self.start + self.world_size - 1 - self.rank) // self.world_size)


class SeededTransform(torch.utils.data.Dataset):
    """dataset[index] through `transform` with torch's RNG seeded by the sample's key.

    The seed depends on (run seed, epoch, position) only, not on which worker runs it, so the
    augmentation of every sample is reproducible. fork_rng leaves the caller's RNG as it was.
    """

    def __init__(self, dataset, transform) -> None:
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key) -> TrainSample:
        index, (seed, epoch, position) = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((seed * 1_000_003 + epoch) * 10_000_019 + position)
            return self.transform(self.dataset[index])
