"""helpers.evaluate and helpers.compare; chapter 6's F1 and calibration and chapter 12's ensemble and
paired bootstrap (helpers.taught)."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import averaging_model

from helpers import compare, evaluate
from helpers.taught import (
    ensemble_probability,
    expected_calibration_error,
    f1_of,
    log_loss,
    member_probabilities,
    paired_bootstrap,
    probability_bins,
    reliability_table,
    wilson,
)

# 10 items, label 1 positive: TP=4, FN=1, FP=2, TN=3
Y_TRUE = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
Y_PROB = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.9, 0.55, 0.4, 0.3, 0.1])


def test_confusion_counts_treat_label_one_as_positive():
    counts = evaluate.confusion_counts(Y_TRUE, evaluate.to_labels(Y_PROB))
    assert counts == {"tp": 4, "fp": 2, "fn": 1, "tn": 3}


def test_threshold_is_strict_like_keras():
    assert evaluate.to_labels(np.array([0.5, 0.5000001, 0.4999])).tolist() == [0, 1, 0]


def test_accuracy_interval_is_wilson_known_value():
    # 8 of 10 right: Wilson 95% interval is (0.4902, 0.9433), a textbook value
    estimate = evaluate.proportion(8, 10)
    assert estimate.value == pytest.approx(0.8)
    assert estimate.low == pytest.approx(0.4902, abs=1e-4)
    assert estimate.high == pytest.approx(0.9433, abs=1e-4)
    assert estimate.method == "Wilson"


def test_proportion_of_nothing_is_unknown():
    estimate = evaluate.proportion(0, 0)
    assert np.isnan(estimate.value) and (estimate.low, estimate.high) == (0.0, 1.0)


def test_classification_metrics_values_and_intervals():
    metrics = evaluate.classification_metrics(Y_TRUE, Y_PROB, n_boot=500, seed=1)
    assert metrics["accuracy"].value == pytest.approx(0.7)
    assert metrics["precision"].value == pytest.approx(4 / 6)
    assert metrics["recall"].value == pytest.approx(4 / 5)
    assert metrics["f1"].value == pytest.approx(2 * 4 / (2 * 4 + 2 + 1))
    for estimate in metrics.values():
        assert 0 <= estimate.low <= estimate.value <= estimate.high <= 1
    assert metrics["f1"].method == "bootstrap"


def sklearn_reference(y_true: np.ndarray, y_prob: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall and F1 from scikit-learn, label 1 positive (the reference)."""
    from sklearn import metrics

    y_pred = (np.asarray(y_prob) > 0.5).astype(int)
    kwargs = {"pos_label": 1, "zero_division": 0}
    return {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "precision": metrics.precision_score(y_true, y_pred, **kwargs),
        "recall": metrics.recall_score(y_true, y_pred, **kwargs),
        "f1": metrics.f1_score(y_true, y_pred, **kwargs),
    }


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, 200)
    y_prob = np.clip(y_true * 0.4 + rng.random(200) * 0.6, 0, 1)
    ours = evaluate.classification_metrics(y_true, y_prob, n_boot=100)
    theirs = sklearn_reference(y_true, y_prob)
    for name, value in theirs.items():
        assert ours[name].value == pytest.approx(value)


def test_metrics_match_keras():
    import keras

    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 2, 50).astype("float32")
    y_prob = rng.random(50).astype("float32")
    ours = sklearn_reference(y_true, y_prob)
    for name, metric in [
        ("accuracy", keras.metrics.BinaryAccuracy()),
        ("precision", keras.metrics.Precision()),
        ("recall", keras.metrics.Recall()),
    ]:
        metric.update_state(y_true, y_prob)
        assert float(metric.result()) == pytest.approx(ours[name], abs=1e-6)


def test_f1_of_rows_match_scalar():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(5)
    y_true, y_pred = rng.integers(0, 2, (4, 30)), rng.integers(0, 2, (4, 30))
    rows = f1_of(y_true, y_pred)
    assert rows.shape == (4,)
    for row, (t, p) in zip(rows, zip(y_true, y_pred, strict=True), strict=True):
        assert row == pytest.approx(f1_score(t, p, zero_division=0))


def test_confusion_table_orientation_and_names():
    table = evaluate.confusion_table(Y_TRUE, evaluate.to_labels(Y_PROB), ["happy", "sad"])
    assert list(table.index) == ["true happy", "true sad"]
    assert list(table.columns) == ["predicted happy", "predicted sad"]
    # rows are true classes: of 5 true happy, 2 were called sad (false positives)
    assert table.loc["true happy", "predicted sad"] == 2
    assert table.loc["true sad", "predicted happy"] == 1
    normalised = evaluate.confusion_table(
        Y_TRUE, evaluate.to_labels(Y_PROB), ["happy", "sad"], normalize=True
    )
    assert normalised.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert normalised.loc["true happy", "predicted sad"] == pytest.approx(0.4)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        evaluate.confusion_counts([0, 1], [0])
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate.classification_metrics([], [])


def test_curves_perfect_and_inverted():
    perfect = evaluate.curves(Y_TRUE, Y_TRUE * 0.8 + 0.1)
    assert perfect.roc_auc == pytest.approx(1.0)
    assert perfect.average_precision == pytest.approx(1.0)
    inverted = evaluate.curves(Y_TRUE, 1 - Y_TRUE * 0.8)
    assert inverted.roc_auc == pytest.approx(0.0)
    assert evaluate.curves(Y_TRUE, Y_PROB).prevalence == pytest.approx(0.5)
    with pytest.raises(ValueError, match="both classes"):
        evaluate.curves(np.ones(4), np.linspace(0, 1, 4))


def test_threshold_sweep_extremes():
    sweep = evaluate.threshold_sweep(Y_TRUE, Y_PROB, thresholds=[0.0, 0.5, 0.99])
    assert sweep["predicted positive"].tolist() == pytest.approx([1.0, 0.6, 0.0])
    assert sweep.loc[0, "recall"] == pytest.approx(1.0)
    assert np.isnan(sweep.loc[2, "precision"])
    assert sweep.loc[1, "accuracy"] == pytest.approx(0.7)


def test_misclassified_most_confident_first():
    wrong = evaluate.misclassified(Y_TRUE, Y_PROB)
    assert set(wrong.tolist()) == {4, 5, 6}
    assert wrong[0] == 5  # P = 0.9 for a label-0 item is the most confident mistake


def test_reliability_table_counts_and_calibration_error():
    y_true = np.array([0, 0, 1, 1, 1, 1])
    y_prob = np.array([0.05, 0.15, 0.95, 0.95, 0.85, 0.55])
    table = reliability_table(y_true, y_prob, bins=10)
    assert table["count"].sum() == 6
    assert table.loc[9, "count"] == 2 and table.loc[9, "observed share"] == 1.0
    ece = expected_calibration_error(y_true, y_prob, bins=10)
    expected = (0.05 + 0.15 + 0.05 * 2 + 0.15 + 0.45) / 6
    assert ece == pytest.approx(expected)


def test_reliability_puts_one_in_the_last_bin():
    table = reliability_table(np.array([1, 0]), np.array([1.0, 0.0]), bins=4)
    assert table.loc[3, "count"] == 1 and table.loc[0, "count"] == 1
    assert probability_bins(np.array([0.1, 0.1000001, 0.0, 1.0]), 10).tolist() == [0, 1, 0, 9]


def test_plots_have_titles_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y_pred = evaluate.to_labels(Y_PROB)
    figures = [
        evaluate.plot_confusion(Y_TRUE, y_pred, ["happy", "sad"]),
        evaluate.plot_roc_pr(evaluate.curves(Y_TRUE, Y_PROB), "sad"),
        evaluate.plot_threshold_sweep(evaluate.threshold_sweep(Y_TRUE, Y_PROB), "sad"),
        evaluate.plot_reliability(reliability_table(Y_TRUE, Y_PROB), "sad"),
        evaluate.plot_score_vs_valence(Y_PROB, np.linspace(-1, 1, 10), Y_TRUE, ["happy", "sad"]),
    ]
    for figure in figures:
        for ax in figure.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(figure)
    gallery = evaluate.plot_gallery(np.zeros((3, 8, 8, 3)), ["a", "b", "c"], "Mistakes")
    assert gallery._suptitle.get_text() == "Mistakes"
    plt.close(gallery)
    with pytest.raises(ValueError, match="titles"):
        evaluate.plot_gallery(np.zeros((2, 8, 8, 3)), ["a"], "x")


def test_predict_dataset_over_all_batches():
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip
    images = np.random.default_rng(0).random((7, 2, 2, 1)).astype("float32")
    labels = np.array([0, 1, 0, 1, 1, 0, 1], dtype="int32")
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(3)
    y_true, y_prob = evaluate.predict_dataset(model, ds)
    assert y_true.tolist() == labels.tolist()
    assert y_prob == pytest.approx(model.predict(images, verbose=0).reshape(-1), abs=1e-6)
    assert evaluate.collect_images(ds).shape == (7, 2, 2, 1)
    with pytest.raises(ValueError, match="empty"):
        evaluate.predict_dataset(model, ds.take(0))


def test_model_input_size_and_resize_batch():
    model = averaging_model(24)
    assert evaluate.model_input_size(model) == (24, 24)
    batch = evaluate.resize_batch(np.zeros((2, 48, 30, 3), dtype=np.uint8), (24, 24))
    assert batch.shape == (2, 24, 24, 3) and batch.dtype == np.float32


def test_reliability_table_gives_each_bin_its_wilson_interval():
    table = reliability_table(np.array([1, 1, 1, 0]), np.array([0.9, 0.9, 0.95, 0.92]), 5)
    top = table.loc[4]
    assert (top["observed low"], top["observed high"]) == pytest.approx(wilson(3, 4))
    assert np.isnan(table.loc[0, "observed low"])  # an empty bin has no interval


def test_read_reliability_names_overconfident_bins_only_beyond_their_interval():
    confident_and_wrong = np.full(60, 0.98)
    truth = np.r_[np.ones(40), np.zeros(20)].astype(int)  # 67% positive where 98% is predicted
    text = evaluate.read_reliability(reliability_table(truth, confident_and_wrong, 5), "sad")
    assert "overconfident" in text and "0.980" in text and "67% are sad" in text
    few = reliability_table(np.array([1, 1, 0]), np.array([0.8, 0.85, 0.9]), 5)  # 3 images
    assert "cannot be told apart from calibrated" in evaluate.read_reliability(few, "sad")
    shy = reliability_table(np.ones(60, dtype=int), np.full(60, 0.7), 5)
    assert "underconfident" in evaluate.read_reliability(shy, "sad")


def test_confusion_plot_puts_the_wrongly_labelled_twin_first():
    import matplotlib

    matplotlib.use("Agg")
    y_pred = evaluate.to_labels(Y_PROB)
    figure = evaluate.plot_confusion(Y_TRUE, y_pred, ["cats", "dogs"], wrong_names=["dogs", "cats"])
    left, right = figure.axes
    assert [t.get_text() for t in left.get_xticklabels()] == ["dogs", "cats"]
    assert [t.get_text() for t in right.get_xticklabels()] == ["cats", "dogs"]
    assert [t.get_text() for t in left.texts] == [t.get_text() for t in right.texts]  # same counts


# --- the ensemble chapter's scores and paired bootstrap ----------------------------------------


def test_calibration_error_is_the_reliability_tables_weighted_gap():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, 300)
    y_prob = np.clip(0.3 * y_true + 0.7 * rng.random(300), 0, 1)
    for bins in (5, 10):
        table = reliability_table(y_true, y_prob, bins=bins).query("count > 0")
        gaps = (table["mean predicted"] - table["observed share"]).abs()
        weighted = float((gaps * table["count"]).sum() / table["count"].sum())
        assert expected_calibration_error(y_true, y_prob, bins=bins) == pytest.approx(weighted)
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == pytest.approx(0)
    rows = expected_calibration_error(np.stack([y_true, y_true[::-1]]), np.stack([y_prob] * 2))
    assert rows.shape == (2,) and rows[0] == pytest.approx(
        expected_calibration_error(y_true, y_prob)
    )


def test_log_loss_per_image_matches_scikit_learn():
    from sklearn.metrics import log_loss

    losses = evaluate.log_loss_per_image(Y_TRUE, Y_PROB)
    assert losses.shape == Y_TRUE.shape
    assert losses.mean() == pytest.approx(log_loss(Y_TRUE, Y_PROB))
    assert np.isfinite(evaluate.log_loss_per_image([1, 0], [0.0, 1.0])).all()  # clipped


def test_log_loss_matches_scikit_learn_along_the_last_axis():
    from sklearn.metrics import log_loss as sklearn_log_loss

    assert log_loss(Y_TRUE, Y_PROB) == pytest.approx(sklearn_log_loss(Y_TRUE, Y_PROB))
    rows = log_loss(np.stack([Y_TRUE, Y_TRUE]), np.stack([Y_PROB, 1 - Y_PROB]))
    assert rows.shape == (2,) and rows[0] == pytest.approx(log_loss(Y_TRUE, Y_PROB))
    assert np.isfinite(log_loss(np.array([1, 0]), np.array([0.0, 1.0])))  # clipped


def test_paired_bootstrap_resamples_both_models_on_the_same_images():
    rng = np.random.default_rng(6)
    y_true = rng.integers(0, 2, 400)
    first = np.clip(0.4 * y_true + 0.6 * rng.random(400), 0, 1)
    second = np.clip(first + rng.normal(0, 0.05, 400), 0, 1)  # much like the first
    same = paired_bootstrap(log_loss, y_true, first, first, resamples=300, seed=2)
    assert same == (0.0, 0.0, 0.0)  # a model against itself: no difference on any resample
    difference, low, high = paired_bootstrap(log_loss, y_true, second, first, resamples=300, seed=2)
    assert difference == pytest.approx(log_loss(y_true, second) - log_loss(y_true, first))
    assert low <= difference <= high
    assert paired_bootstrap(log_loss, y_true, second, first, resamples=300, seed=2) == (
        difference, low, high)  # seeded  # fmt: skip
    # unpaired (each model on its own resamples) the interval is far wider: pairing cancels what
    # the two share, the images that are hard for both
    index = np.random.default_rng(3).integers(0, 400, size=(2, 300, 400))
    apart = log_loss(y_true[index[0]], second[index[0]]) - log_loss(
        y_true[index[1]], first[index[1]]
    )
    assert np.subtract(*np.percentile(apart, [97.5, 2.5])) > 3 * (high - low)
    ece = paired_bootstrap(lambda t, p: expected_calibration_error(t, p, 5), y_true, second, first)
    assert ece[0] == pytest.approx(
        expected_calibration_error(y_true, second, 5) - expected_calibration_error(y_true, first, 5)
    )


def test_the_ensemble_is_its_members_mean():
    probs = np.array([[0.9, 0.2, 0.6], [0.7, 0.4, 0.3]])
    assert np.allclose(ensemble_probability(probs), [0.8, 0.3, 0.45])
    model = averaging_model()
    images = np.random.default_rng(0).random((3, 24, 24, 3)).astype("float32") * 255
    rows = member_probabilities([model, model], images)
    assert rows.shape == (2, 3) and np.array_equal(rows[0], rows[1])


def test_interval_and_reliability_figures_have_titles_and_labels():
    import matplotlib.pyplot as plt
    import pandas as pd

    index = pd.MultiIndex.from_product([["fresh", "test"], [42, 43]], names=["images", "minus"])
    table = pd.DataFrame({"accuracy": [0.1, 0.0, 0.1, 0.2], "accuracy low": [0.0, -0.1, -0.2, 0.1],
                          "accuracy high": [0.2, 0.1, 0.3, 0.3]}, index=index)  # fmt: skip
    figure = compare.plot_differences(table, ["accuracy"], "Differences")
    assert figure.axes[0].get_xlabel() and figure.axes[0].get_title()
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["fresh", "test"]
    tables = {name: reliability_table(Y_TRUE, Y_PROB, bins=5) for name in ("a", "b")}
    figure = evaluate.plot_reliability_curves(tables, "sad")
    axis = figure.axes[0]
    assert axis.get_title() and axis.get_xlabel() and axis.get_ylabel()
    assert len(axis.get_legend().get_texts()) == 3
    plt.close("all")


def test_gallery_captions_stay_above_their_own_images():
    """A second row's two-line captions must not be drawn over the first row's images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    captions = [f"real face {i}\nsad, P(sad) = 0.{i}" for i in range(8)]
    fig = evaluate.plot_gallery(np.zeros((8, 32, 32, 3)), captions, "Two rows", ncols=4, size=2.4)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = np.array(fig.axes).reshape(2, 4)
    for column in range(4):
        image_above = axes[0, column].get_window_extent(renderer)
        caption_below = axes[1, column].title.get_window_extent(renderer)
        assert caption_below.y1 <= image_above.y0  # display coordinates: y grows upwards
    plt.close(fig)


def test_confusion_shares_are_drawn_per_row_for_any_number_of_classes():
    import matplotlib.pyplot as plt

    names = ["a", "b", "c"]
    counts = evaluate.confusion_table(
        np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), names
    )
    figure = evaluate.plot_confusion_shares({"some faces": counts, "others": counts})
    left = figure.axes[0]
    assert left.get_title() == "some faces" and left.get_xlabel() and left.get_ylabel()
    assert [t.get_text() for t in left.get_xticklabels()] == names
    assert [t.get_text() for t in left.texts][:3] == ["0.50", "0.50", "0.00"]  # row a: 1 of 2 each
    plt.close("all")
