"""Any loader's batches on a device: the arrays of each batch moved there as it is handed out."""
import numpy as np

from ..device import get_device

__all__ = ["DeviceLoader"]


class DeviceLoader:
    """Wraps a loader (DataLoader, RandomBlocks, ...): iterating yields its batches with every
    array on `device`; everything else (len, state_dict, dataset) is the loader's."""

    def __init__(self, loader, device):
        self.loader, self.device = loader, get_device(device)

    def __iter__(self):
        for batch in self.loader:
            yield put_batch(batch, self.device)

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def put_batch(batch, device):
    """The batch's arrays on `device` (a tuple's entries each; anything else as it is)."""
    if isinstance(batch, tuple):
        return tuple(put_batch(part, device) for part in batch)
    return device.put(batch) if isinstance(batch, np.ndarray) else batch
