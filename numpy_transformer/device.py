"""Devices: where arrays live. "cpu" is NumPy; "cuda" is CuPy (`pip install -e ".[gpu]"`).

The math never names a device: it takes its array module from its inputs (`array_module(x)`,
and NumPy's `like=` for new arrays), so the same reference code runs on either. Moving arrays
between devices is explicit (`to_device`); CuPy refuses an implicit copy to the host, and so
does the test device "strict" (numpy_transformer.testing.strict_array), on the CPU."""
import numpy as np

__all__ = ["DeviceError", "Device", "DEVICES", "get_device", "device_of", "to_device", "to_host",
           "array_module", "register_device"]


class DeviceError(OSError):
    """A device this machine does not have (no CuPy, no CUDA GPU), or a name no device has."""


class Device:
    """A place for arrays: its array module, and the moves to it and back to the host."""

    def __init__(self, name: str, module, array_type, to_device, to_host):
        self.name, self.module, self.array_type = name, module, array_type
        self._to_device, self._to_host = to_device, to_host

    def put(self, array):
        """A copy of host `array` (or one already here, as is) on this device."""
        return array if isinstance(array, self.array_type) else self._to_device(np.asarray(array))

    def get(self, array) -> np.ndarray:
        """A host copy of `array` of this device."""
        return self._to_host(array)

    def __repr__(self) -> str:
        return f"device({self.name!r})"


CPU = Device("cpu", np, np.ndarray, lambda a: a, lambda a: a)
DEVICES = {"cpu": CPU}                  # "cuda" joins when asked for, if CuPy and a GPU are here
_LOADERS = {}


def register_device(name: str, load) -> None:
    """Make `name` a device; `load()` builds its Device (or raises DeviceError) when first used."""
    _LOADERS[name] = load


def get_device(name) -> Device:
    """The Device called `name` ("cpu", "cuda", ...), or a DeviceError saying why not."""
    if isinstance(name, Device):
        return name
    if name not in DEVICES:
        if name not in _LOADERS:
            raise DeviceError(f"unknown device {name!r}: choose one of "
                              f"{', '.join(sorted({*DEVICES, *_LOADERS} - {'strict'}))}")
        DEVICES[name] = _LOADERS[name]()
    return DEVICES[name]


def device_of(array) -> Device:
    """The device `array` lives on."""
    for device in DEVICES.values():
        if isinstance(array, device.array_type):
            return device
    if type(array).__module__.startswith("cupy"):          # made by CuPy before we asked for it
        return get_device("cuda")
    return CPU


def array_module(array):
    """numpy, cupy, ...: the module whose functions take and make arrays like `array`."""
    return device_of(array).module


def to_device(array, device):
    """`array` on `device` (a name or a Device): as is if already there, else moved."""
    device = get_device(device)
    here = device_of(array)
    if here is device:
        return array
    return device.put(here.get(array))


def to_host(array) -> np.ndarray:
    """A NumPy array of `array`, wherever it lives (for checkpoints, plots and logs)."""
    return device_of(array).get(array)


def _load_cuda() -> Device:
    try:
        import cupy
    except ImportError:
        raise DeviceError("--device cuda needs CuPy and a CUDA GPU: pip install -e \".[gpu]\" "
                          "(cupy-cuda12x)") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:           # cupy's CUDARuntimeError: no driver, no device
        raise DeviceError(f"--device cuda: CuPy finds no CUDA GPU here ({error})") from None
    if count == 0:
        raise DeviceError("--device cuda: CuPy finds no CUDA GPU here")
    return Device("cuda", cupy, cupy.ndarray, cupy.asarray, cupy.asnumpy)


register_device("cuda", _load_cuda)
