"""Bad TFRecords given to the Trainer's data path: each refused before training,
with the file, the record and the feature named."""

import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.data import encode_example
from deeprob_keras.recipe import Recipe
from deeprob_pipeline.tfrecord_data import BadExamplesError, check_records, read_records, tfrecord_datasets

CLASSES = [f"c{i}" for i in range(3)]


def _image(size=8, channels=1, value=0):
    return np.full((size, size, channels), value, np.uint8)


def _write(path, records):
    with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type="GZIP")) as w:
        for r in records:
            w.write(r)
    return str(path)


def _good(n=10):
    return [encode_example(_image(value=i), i % len(CLASSES)) for i in range(n)]


def _example(**features):
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def _bytes(v):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))


def _int(v):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))


def _png(image):
    return tf.io.encode_png(image).numpy()


def test_good_file_counts_every_record(tmp_path):
    path = _write(tmp_path / "ok.gz", _good(10))
    assert check_records([path], len(CLASSES), "train") == 10


def test_truncated_file_names_the_file(tmp_path):
    path = _write(tmp_path / "cut.gz", _good(200))
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(BadExamplesError, match=r"cut\.gz: truncated or corrupted TFRecord"):
        check_records([path], len(CLASSES), "train")


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.75, 0.9, 0.99])
def test_a_cut_anywhere_is_found_even_between_records(tmp_path, keep):
    """Cut at several places, some of which TensorFlow's reader may pass as a clean end of file
    (when the cut falls between two records of the decompressed stream): the gzip trailer check
    still refuses the file."""
    path = _write(tmp_path / "cut.gz", _good(200))
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * keep)])
    with pytest.raises(BadExamplesError, match=r"cut\.gz: truncated or corrupted TFRecord"):
        check_records([path], len(CLASSES), "train")


def test_gzip_completeness_check_on_whole_and_cut_streams(tmp_path):
    from deeprob_pipeline.tfrecord_data import _gzip_is_complete

    path = _write(tmp_path / "whole.gz", _good(50))
    assert _gzip_is_complete(path)
    data = open(path, "rb").read()
    (tmp_path / "cut.gz").write_bytes(data[:-4])  # only the trailer's length field missing
    assert not _gzip_is_complete(str(tmp_path / "cut.gz"))


def test_file_that_is_not_a_gzip_tfrecord(tmp_path):
    path = tmp_path / "noise.gz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(BadExamplesError, match=r"noise\.gz: truncated or corrupted"):
        check_records([str(path)], len(CLASSES), "train")


@pytest.mark.parametrize("record, words", [
    (_example(label=_int(0)), "image"),  # the image is missing
    (_example(image=tf.train.Feature(float_list=tf.train.FloatList(value=[0.5])), label=_int(0)), "image"),
    (_example(image=_bytes(b"not a png"), label=_int(0)), "image"),
    (_example(image=_bytes(_png(_image())), label=tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"1"]))),
     "label"),
], ids=["missing_image", "float_image", "undecodable_image", "bytes_label"])  # not the bytes: their map order varies
def test_missing_wrong_type_or_undecodable_feature_names_it(tmp_path, record, words):
    path = _write(tmp_path / "bad.gz", _good(3) + [record])
    with pytest.raises(BadExamplesError, match=r"bad\.gz") as err:
        check_records([path], len(CLASSES), "train")
    assert words in str(err.value)


def test_image_of_another_shape_names_the_record(tmp_path):
    records = _good(5)
    records[3] = encode_example(_image(size=9), 0)
    path = _write(tmp_path / "shape.gz", records)
    with pytest.raises(BadExamplesError, match=r"shape\.gz: record 3: feature 'image' .*\(9, 9, 1\); expected \(8, 8, 1\)"):
        check_records([path], len(CLASSES), "train")


def test_wrong_channels_are_another_shape(tmp_path):
    path = _write(tmp_path / "rgb.gz", [encode_example(_image(channels=3), 0)])
    with pytest.raises(BadExamplesError, match=r"record 0: feature 'image' .*\(8, 8, 3\); expected \(8, 8, 1\)"):
        check_records([path], len(CLASSES), "eval", image_shape=(8, 8, 1))


@pytest.mark.parametrize("label, words", [(3, "= 3 is outside the 3 classes"), (-5, "= -5 is outside")])
def test_label_outside_the_classes(tmp_path, label, words):
    records = _good(4) + [encode_example(_image(), label)]
    path = _write(tmp_path / "labels.gz", records)
    with pytest.raises(BadExamplesError, match=r"labels\.gz: record 4: feature 'label' ") as err:
        check_records([path], len(CLASSES), "train")
    assert words in str(err.value)


def test_missing_label_says_so(tmp_path):
    path = _write(tmp_path / "nolabel.gz", [_example(image=_bytes(_png(_image())))])
    with pytest.raises(BadExamplesError, match="missing label"):
        check_records([path], len(CLASSES), "train")


def test_empty_split(tmp_path):
    path = _write(tmp_path / "empty.gz", [])
    with pytest.raises(BadExamplesError, match="the eval split is empty"):
        check_records([path], len(CLASSES), "eval")


def test_the_trainer_data_path_refuses_before_building_anything(tmp_path):
    train = _write(tmp_path / "train.gz", _good(12))
    records = _good(4)
    records[2] = encode_example(_image(size=6), 1)
    evaluation = _write(tmp_path / "eval.gz", records)
    with pytest.raises(BadExamplesError, match=r"eval\.gz: record 2: .*expected \(8, 8, 1\)"):
        tfrecord_datasets(Recipe(), [train], [evaluation], CLASSES, 4)


def test_a_train_split_too_small_to_hold_out_validation_is_refused(tmp_path):
    train, evaluation = _write(tmp_path / "train.gz", _good(1)), _write(tmp_path / "eval.gz", _good(4))
    with pytest.raises(BadExamplesError, match=r"train split has 1 record\(s\): none left for training after "
                                               r"holding out data.validation_fraction=0.1"):
        tfrecord_datasets(Recipe(), [train], [evaluation], CLASSES, 4)


def test_records_are_checked_once_per_process_until_a_file_changes(tmp_path, monkeypatch):
    from deeprob_pipeline import tfrecord_data

    checked = []
    real = tfrecord_data.read_records
    monkeypatch.setattr(tfrecord_data, "read_records",
                        lambda files, *a, **k: checked.append(files) or real(files, *a, **k))
    train = _write(tmp_path / "train.gz", _good(12))
    evaluation = _write(tmp_path / "eval.gz", _good(4))
    for _ in range(3):  # a probe, the augmented datasets, a second phase
        data = tfrecord_datasets(Recipe(), [train], [evaluation], CLASSES, 4)
        assert data.num_examples == {"train": 11, "validation": 1, "test": 4}  # validation: 10% of train
        # known number of batches: Keras never runs into the end of the data to find it
        assert [int(ds.cardinality()) for ds in (data.train, data.validation, data.test)] == [3, 1, 1]
    assert checked == [[train], [evaluation]]
    records = _good(4)
    records[2] = encode_example(_image(size=6), 1)
    _write(tmp_path / "eval.gz", records)  # another size: read again, and refused
    with pytest.raises(BadExamplesError, match=r"eval\.gz: record 2"):
        tfrecord_datasets(Recipe(), [train], [evaluation], CLASSES, 4)


def test_the_check_keeps_the_decoded_images_only_within_its_byte_budget(tmp_path):
    records = [encode_example(_image(value=3 * i), i % len(CLASSES)) for i in range(9)]
    path = _write(tmp_path / "ok.gz", records)
    count, (images, labels) = read_records([path], len(CLASSES), "train", keep_bytes=9 * 64)
    assert count == 9 and images.shape == (9, 8, 8, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:, 0, 0, 0], 3 * np.arange(9))  # file order
    np.testing.assert_array_equal(labels, np.arange(9) % len(CLASSES))
    assert read_records([path], len(CLASSES), "train", keep_bytes=9 * 64 - 1) == (9, None)
    assert check_records([path], len(CLASSES), "train") == 9


def test_each_png_is_decoded_once_when_the_data_fits_in_memory(tmp_path, monkeypatch):
    from deeprob_pipeline import tfrecord_data

    train = _write(tmp_path / "train.gz", [encode_example(_image(value=i), i % len(CLASSES)) for i in range(20)])
    evaluation = _write(tmp_path / "eval.gz", _good(5))
    decodes = []
    real = tfrecord_data.decode_examples
    monkeypatch.setattr(tfrecord_data, "decode_examples", lambda *a, **k: decodes.append(a) or real(*a, **k))
    data = tfrecord_datasets(Recipe(), [train], [evaluation], CLASSES, 4)
    assert decodes == []  # the check's pass was the only decode: no sample pass, no second full pass
    seen = np.concatenate([x.numpy() for x, _ in data.train] + [x.numpy() for x, _ in data.validation])
    assert sorted(np.round(seen.max(axis=(1, 2, 3)) * 255).astype(int).tolist()) == list(range(20))
    kept = tfrecord_data.decode_records([train], (8, 8, 1))
    tfrecord_data._DECODED.clear()
    again = tfrecord_data.decode_records([train], (8, 8, 1))  # decoded afresh, the way it was before
    assert len(decodes) == 1
    for a, b in zip(kept, again):
        np.testing.assert_array_equal(a, b)
