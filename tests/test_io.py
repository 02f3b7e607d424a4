"""gj.save / gj.load: .npz round trips, and refusing anything that would need unpickling."""

from __future__ import annotations

import errno
import io
import os
import pathlib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import graphjit as gj


def test_tensor_round_trip(tmp_path: Path) -> None:
    t = gj.tensor([[1.5, -2.0], [3.25, 4.0]])
    gj.save(t, tmp_path / "t.npz")
    back = gj.load(tmp_path / "t.npz")
    assert isinstance(back, gj.Tensor)
    assert back.dtype == "float64" and back.shape == (2, 2)
    np.testing.assert_array_equal(back.numpy(), t.numpy())
    assert not back.requires_grad


def test_parameter_is_saved_by_value(tmp_path: Path) -> None:
    p = gj.tensor([1.0, 2.0], requires_grad=True)
    path = tmp_path / "p.npz"
    gj.save(p, path)
    p.numpy()[...] = 0.0  # later changes do not reach the file
    np.testing.assert_array_equal(gj.load(path, as_tensors=False), [1.0, 2.0])


@pytest.mark.parametrize(
    "value",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array([1, -2, 3], dtype=np.int64),
        np.array([True, False]),
        np.array(2.5),
        np.zeros((0, 3)),
    ],
    ids=["float32", "int64", "bool", "0-d", "empty"],
)
def test_numpy_array_round_trip(tmp_path: Path, value: np.ndarray) -> None:
    path = tmp_path / "a.npz"
    gj.save(value, path)
    back = gj.load(path, as_tensors=False)
    assert isinstance(back, np.ndarray)
    assert back.dtype == value.dtype and back.shape == value.shape
    np.testing.assert_array_equal(back, value)


def test_state_dict_round_trip_into_a_model(tmp_path: Path) -> None:
    gj.manual_seed(0)
    model = gj.nn.Sequential(gj.nn.Linear(2, 4), gj.nn.ReLU(), gj.nn.Linear(4, 1))
    path = str(tmp_path / "m.npz")  # str paths work as well as Path objects
    gj.save(model.state_dict(), path)
    loaded = gj.load(path)
    assert sorted(loaded) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert all(isinstance(v, gj.Tensor) for v in loaded.values())
    gj.manual_seed(1)
    fresh = gj.nn.Sequential(gj.nn.Linear(2, 4), gj.nn.ReLU(), gj.nn.Linear(4, 1))
    fresh.load_state_dict(loaded)
    x = gj.tensor(np.array([[0.5, -1.0], [2.0, 3.0]]))
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())


def test_nested_dict_round_trip(tmp_path: Path) -> None:
    obj = {
        "model": {"0.weight": np.ones((2, 2)), "0.bias": gj.tensor([0.5, 0.25])},
        "optim": {"state": {"step0": np.array(3.0)}, "lr": 0.01},
        "epoch": 7,
        "flags": np.array([True, False]),
    }
    path = tmp_path / "checkpoint.npz"
    gj.save(obj, path)
    back = gj.load(path, as_tensors=False)
    assert set(back) == {"model", "optim", "epoch", "flags"}
    np.testing.assert_array_equal(back["model"]["0.weight"], np.ones((2, 2)))
    np.testing.assert_array_equal(back["model"]["0.bias"], [0.5, 0.25])
    assert float(back["optim"]["state"]["step0"]) == 3.0
    assert float(back["optim"]["lr"]) == 0.01
    assert int(back["epoch"]) == 7 and back["epoch"].dtype == np.int64
    np.testing.assert_array_equal(back["flags"], [True, False])
    # the file itself is a plain .npz with '/'-joined keys
    with np.load(path, allow_pickle=False) as raw:
        assert "optim/state/step0" in raw.files and "model/0.weight" in raw.files
    as_tensors = gj.load(path)
    assert isinstance(as_tensors["optim"]["state"]["step0"], gj.Tensor)


def test_save_overwrites_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    gj.save(np.ones(3), path)
    gj.save({"a": np.zeros(2)}, path)
    back = gj.load(path, as_tensors=False)
    np.testing.assert_array_equal(back["a"], np.zeros(2))
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, a=np.ones(2), payload=np.array([{"x": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"cannot be read.*[Oo]bject arrays"):
        gj.load(path)
    # a pickle that is not an archive at all is refused without being run
    raw = tmp_path / "pickle.npz"
    raw.write_bytes(b"\x80\x04\x95" + b"\x00" * 40)
    with pytest.raises(ValueError, match=r"not a graphjit/numpy \.npz file"):
        gj.load(raw)


def test_corrupt_and_truncated_files_raise_value_error(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    gj.save({"w": np.arange(2000.0), "b": np.ones(5)}, good)
    data = good.read_bytes()
    cases = {
        "truncated.npz": data[: len(data) // 2],
        "header_only.npz": data[:30],
        "empty.npz": b"",
        "garbage.npz": b"this is not an archive\n" * 10,
    }
    flipped = bytearray(data)
    flipped[1000] ^= 0xFF  # inside the first member's data: a CRC error on read
    cases["bitflip.npz"] = bytes(flipped)
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=name):
            gj.load(path)


def test_foreign_archive_with_clashing_keys_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "clash.npz"
    np.savez(path, **{"a": np.ones(2), "a/b": np.ones(2)})
    with pytest.raises(ValueError, match="both an array and a dict"):
        gj.load(path)
    with zipfile.ZipFile(tmp_path / "bare.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"member 'readme\.txt' that is not an array"):
        gj.load(tmp_path / "bare.zip")


def test_a_bare_npy_file_is_not_a_saved_state(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match="bare array"):
        gj.load(path)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        gj.load(tmp_path / "nope.npz")


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"a/b": np.ones(1)}, "without '/'"),
        ({"outer": {"in/ner": np.ones(1)}}, "without '/'"),
        ({"": np.ones(1)}, "non-empty strings"),
        ({1: np.ones(1)}, "got 1"),
        ({"__array__": np.ones(1)}, "reserved"),
    ],
    ids=["slash", "nested-slash", "empty", "int-key", "reserved"],
)
def test_bad_keys_raise(tmp_path: Path, obj: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    with pytest.raises(ValueError, match=message):
        gj.save(obj, path)
    assert not path.exists()


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1.0, 2.0], "is a list"),
        ("text", "is a str"),
        ({"a": object()}, "'a' is a object"),
        ({"a": np.array([None, 1], dtype=object)}, "python objects"),
    ],
    ids=["list", "str", "object", "object-array"],
)
def test_unsaveable_values_raise_type_error(tmp_path: Path, obj: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        gj.save(obj, tmp_path / "x.npz")


@pytest.mark.parametrize("bad", [3, None, b"bytes.npz", ["x.npz"]], ids=str)
def test_non_path_raises_type_error(bad: object, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="path must be a str or path"):
        gj.load(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path must be a str or path"):
        gj.save(np.ones(1), bad)  # type: ignore[arg-type]


def test_pathlike_objects_are_accepted(tmp_path: Path) -> None:
    path = pathlib.PurePath(tmp_path / "p.npz")
    gj.save({"x": np.arange(3)}, str(path))
    np.testing.assert_array_equal(gj.load(pathlib.Path(path), as_tensors=False)["x"], np.arange(3))


def test_arrays_a_tensor_cannot_hold_load_as_arrays_only(tmp_path: Path) -> None:
    path = tmp_path / "u16.npz"
    gj.save({"pixels": np.arange(4, dtype=np.uint16)}, path)
    with pytest.raises(TypeError, match=r"'pixels'.*uint16.*as_tensors=False"):
        gj.load(path)
    back = gj.load(path, as_tensors=False)
    assert back["pixels"].dtype == np.uint16
    np.testing.assert_array_equal(back["pixels"], np.arange(4))


def test_uint8_arrays_load_as_tensors(tmp_path: Path) -> None:
    path = tmp_path / "u8.npz"
    gj.save({"pixels": np.arange(4, dtype=np.uint8)}, path)
    back = gj.load(path)
    assert back["pixels"].dtype == "uint8" and back["pixels"].tolist() == [0, 1, 2, 3]


def test_a_directory_is_not_reported_as_a_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        gj.load(tmp_path)


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.npz"
    gj.save({"w": np.ones(3)}, path)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(np, "savez", disk_full)
        with pytest.raises(OSError, match="No space left"):
            gj.save({"w": np.zeros(3)}, path)
    np.testing.assert_array_equal(gj.load(path, as_tensors=False)["w"], np.ones(3))
    (tmp_path / "sub").mkdir()
    with pytest.raises(OSError):
        gj.save({"w": np.zeros(3)}, tmp_path / "sub")  # a directory is in the way
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "sub"]
    assert not list((tmp_path / "sub").iterdir())
    missing = tmp_path / "no-such-folder" / "m.npz"
    with pytest.raises(FileNotFoundError, match=r"no-such-folder.*does not exist"):
        gj.save({"w": np.zeros(3)}, missing)  # named as given, not by a temporary file's name


def test_threads_saving_one_path_at_once_each_write_a_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    values = [np.full(20_000, float(i)) for i in range(8)]

    def save_many(value: np.ndarray) -> None:
        for _ in range(10):
            gj.save({"w": value}, path)

    with ThreadPoolExecutor(len(values)) as pool:
        for fut in [pool.submit(save_many, v) for v in values]:
            fut.result()
    w = gj.load(path, as_tensors=False)["w"]
    assert any(np.array_equal(w, v) for v in values)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_member_claiming_a_huge_shape_is_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.npz"
    header = io.BytesIO()
    fields = {"descr": "<f8", "fortran_order": False, "shape": (2**45,)}  # 256 TiB
    np.lib.format.write_array_header_1_0(header, fields)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ValueError, match=r"huge\.npz' cannot be read"):
        gj.load(path)
