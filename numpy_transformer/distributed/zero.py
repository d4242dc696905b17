"""ZeRO-1: the optimizer state split across the ranks. Each parameter has one owner rank, which
alone keeps its state (Adam's two moments) and updates it; after each step every rank gathers
the updated parameters from their owners. The update is the same arithmetic on the same averaged
gradient, so the weights are those of plain data parallelism, bit for bit; the state per rank
shrinks to about 1/N."""
import numpy as np

__all__ = ["ZeroOptimizer", "owners", "state_bytes"]


def owners(params, size: int) -> list:
    """The rank owning each parameter: the largest first, each to the least loaded rank (ties to
    the lowest), so every rank holds about 1/size of the elements."""
    load, owner = [0] * size, [0] * len(params)
    for i in sorted(range(len(params)), key=lambda i: (-params[i].data.size, i)):
        owner[i] = min(range(size), key=lambda r: (load[r], r))
        load[owner[i]] += params[i].data.size
    return owner


def state_bytes(optimizer) -> int:
    """Bytes of optimizer state this rank holds (a ZeroOptimizer's: its part)."""
    inner = getattr(optimizer, "optimizer", optimizer)
    return sum(v.nbytes for state in inner.state.values() for v in state.values()
               if hasattr(v, "nbytes"))


class ZeroOptimizer:
    """Wraps an optimizer: `step` updates this rank's parameters only, then all-gathers; its
    `param_groups` are the optimizer's (schedulers keep working). Before a checkpoint every rank
    calls `consolidate()`, and rank 0's `state_dict()` then holds every rank's state."""

    def __init__(self, optimizer, world):
        self.optimizer, self.world = optimizer, world
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        self.owner = dict(zip(map(id, self.params), owners(self.params, world.size)))
        self.mine = [p for p in self.params if self.owner[id(p)] == world.rank]
        self._drop_others_state()
        self._consolidated = None

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def step(self) -> None:
        """Update the parameters this rank owns (their gradients averaged already), then give
        every rank every parameter."""
        groups = self.optimizer.param_groups
        mine = {id(p) for p in self.mine}
        self.optimizer.param_groups = [{**g, "params": [p for p in g["params"] if id(p) in mine]}
                                       for g in groups]
        try:
            self.optimizer.step()
        finally:
            self.optimizer.param_groups = groups
        self._gather_parameters()

    def _gather_parameters(self) -> None:
        """Every rank's updated parameters, by dtype: one all-gather of flat buffers each."""
        for dtype in sorted({p.data.dtype.str for p in self.params}):
            ranks = [[p for p in self.params if p.data.dtype.str == dtype and self.owner[id(p)] == r]
                     for r in range(self.world.size)]
            counts = [sum(p.data.size for p in part) for part in ranks]
            local = np.concatenate([p.data.ravel() for p in ranks[self.world.rank]] or
                                   [np.empty(0, dtype)])
            flat = self.world.all_gather_arrays(local, counts)
            offset = 0
            for part in ranks:
                for p in part:
                    p.data[...] = flat[offset:offset + p.data.size].reshape(p.data.shape)
                    offset += p.data.size

    def consolidate(self) -> None:
        """Gather every rank's state to rank 0 (all ranks call it) for its next state_dict()."""
        parts = self.world.gather(self.optimizer.state_dict()["state"])
        if self.world.is_main:
            whole = self.optimizer.state_dict()
            for part in parts:
                whole["state"].update(part)
            self._consolidated = whole

    def state_dict(self) -> dict:
        """Rank 0, after consolidate(): every rank's state; otherwise this rank's part."""
        whole, self._consolidated = self._consolidated, None
        return whole if whole is not None else self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a whole state (any number of ranks saved it), keeping this rank's part."""
        self.optimizer.load_state_dict(state_dict)
        self._drop_others_state()

    def _drop_others_state(self) -> None:
        mine = {id(p) for p in self.mine}
        self.optimizer.state = {p: s for p, s in self.optimizer.state.items() if id(p) in mine}
