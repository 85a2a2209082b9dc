"""Reads the tensors of a PyTorch `.pth` state_dict as numpy arrays, without torch.

Both of torch.save's formats: the zip archive (torch >= 1.6: data.pkl + one file per storage)
and the legacy stream (a magic-number pickle, the object pickle, the storage keys, then each
storage's raw bytes), which is how pytorch-fid's Inception weights were saved. The unpickler
admits only what a state_dict holds (ordered dicts, tensors, storages); anything else is an
error, so a foreign pickle runs no code.
"""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'LongStorage': np.int64, 'IntStorage': np.int32, 'ShortStorage': np.int16,
    'CharStorage': np.int8, 'ByteStorage': np.uint8, 'BoolStorage': np.bool_,
}


class _Storage:
  """A storage named in the pickle; its bytes arrive later (legacy) or at once (zip)."""

  def __init__(self, dtype, numel: int):
    self.dtype, self.numel, self.data = np.dtype(dtype), numel, None


class _Tensor:
  """A view (offset, size, stride in elements) of a storage, made an array once it is read."""

  def __init__(self, storage, offset, size, stride):
    self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

  def array(self) -> np.ndarray:
    base = self.storage.data[self.offset:]
    itemsize = base.dtype.itemsize
    return np.lib.stride_tricks.as_strided(
        base, self.size, [s * itemsize for s in self.stride]).copy()


def _rebuild_tensor(storage, offset, size, stride, *unused):
  return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(tensor, *unused):
  return tensor


class _StorageType:
  def __init__(self, name):
    self.dtype = _STORAGE_DTYPES[name]


class _Unpickler(pickle.Unpickler):
  def __init__(self, file, storage_for):
    super().__init__(file)
    self.storage_for = storage_for

  def find_class(self, module, name):
    if (module, name) == ('collections', 'OrderedDict'):
      return collections.OrderedDict
    if (module, name) == ('torch._utils', '_rebuild_tensor_v2'):
      return _rebuild_tensor
    if (module, name) == ('torch._utils', '_rebuild_parameter'):
      return _rebuild_parameter
    if module == 'torch' and name in _STORAGE_DTYPES:
      return _StorageType(name)
    raise ValueError(f'not a plain state_dict: it pickles {module}.{name}')

  def persistent_load(self, pid):
    kind, storage_type, key, _, numel = pid[:5]
    if kind != 'storage':
      raise ValueError(f'unknown persistent id {kind!r}')
    if len(pid) > 5 and pid[5] is not None:
      raise ValueError('storage views of the legacy format are not supported')
    return self.storage_for(str(key), storage_type.dtype, numel)


def _arrays(obj):
  """The loaded object with every tensor placeholder made a numpy array."""
  if isinstance(obj, _Tensor):
    return obj.array()
  if isinstance(obj, dict):
    return type(obj)((k, _arrays(v)) for k, v in obj.items())
  if isinstance(obj, (list, tuple)):
    return type(obj)(_arrays(v) for v in obj)
  return obj


def _load_zip(path):
  with zipfile.ZipFile(path) as archive:
    names = archive.namelist()
    pickle_name = next(n for n in names if n.endswith('data.pkl'))
    root = pickle_name[:-len('data.pkl')]
    storages = {}

    def storage_for(key, dtype, numel):
      if key not in storages:
        storage = _Storage(dtype, numel)
        storage.data = np.frombuffer(archive.read(f'{root}data/{key}'), dtype)[:numel]
        storages[key] = storage
      return storages[key]

    obj = _Unpickler(io.BytesIO(archive.read(pickle_name)), storage_for).load()
    return _arrays(obj)


def _load_legacy(path):
  storages = {}

  def storage_for(key, dtype, numel):
    return storages.setdefault(key, _Storage(dtype, numel))

  with open(path, 'rb') as f:
    load = lambda: _Unpickler(f, storage_for).load()
    if load() != _LEGACY_MAGIC:
      raise ValueError('not a torch.save file (wrong magic number)')
    load()   # protocol version
    load()   # sys info
    obj = load()
    for key in load():
      storage = storages[str(key)]
      (numel,) = struct.unpack('<q', f.read(8))
      size = numel * storage.dtype.itemsize
      storage.data = np.frombuffer(f.read(size), storage.dtype, count=numel)
  return _arrays(obj)


def load_state_dict(path: str) -> dict:
  """{name: numpy array} of a torch.save'd state_dict, in either format. Raises ValueError (or
  OSError) when the file is not one."""
  obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
  if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
    raise ValueError('the file holds no state_dict of tensors')
  return dict(obj)
