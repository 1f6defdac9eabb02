"""Metric values against sacrebleu and rouge-score called directly; bootstrap and paired test."""
import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.significance import _paired_bs_test

from trainer.eval import metrics as M

REFS = [
    "Hi Maria, this is a reminder of your appointment with Dr. Chen on Saturday, October 3 at 2:30 PM.",
    "Your lab results are ready.\nPlease log in to the portal to read them.",
    "Hola José, su receta de metformina está lista en la farmacia.",
    "Your balance of $120.50 is due on December 1. Call 555-222-3333 with questions.",
    "We missed you today. Please call us to reschedule your visit with Dr. Patel.",
    "Thank you for visiting us! Please take our short survey.\nIt takes two minutes.",
]
SYS_A = [
    "Hi Maria, reminder: your appointment with Dr. Chen is Saturday, October 3 at 2:30 PM.",
    "Your lab results are ready.\nLog in to the portal to see them.",
    "Hola José, su receta de metformina ya está lista.",
    "Your balance is $120.50, due December 1. Questions? Call 555-222-3333.",
    "We missed you today. Call us to reschedule with Dr. Patel.",
    "Thanks for visiting! Please take our short survey.\nIt takes two minutes.",
]
SYS_B = [
    "Hello, you have an appointment soon.",
    "Results are available.",
    "Su medicamento está listo.",
    "Please pay your bill.",
    "You missed an appointment.",
    "Take our survey.",
]


def test_bleu_and_chrf_equal_sacrebleu():
    bleu, bleu_sig = M.corpus_bleu(SYS_A, REFS)
    chrf, chrf_sig = M.corpus_chrf(SYS_A, REFS)
    assert bleu == sacrebleu.corpus_bleu(SYS_A, [REFS]).score
    assert chrf == sacrebleu.corpus_chrf(SYS_A, [REFS]).score
    assert "tok:13a" in bleu_sig and f"version:{sacrebleu.__version__}" in bleu_sig
    assert "nc:6" in chrf_sig
    assert M.corpus_chrf(SYS_A, REFS, word_order=2)[0] == sacrebleu.corpus_chrf(SYS_A, [REFS], word_order=2).score


def test_stats_reproduce_corpus_scores_and_sentence_chrf():
    stats, sigs, per_example = M.text_metric_stats(SYS_A, REFS)
    assert stats["bleu"].value() == pytest.approx(sacrebleu.corpus_bleu(SYS_A, [REFS]).score, abs=1e-9)
    assert stats["chrf"].value() == pytest.approx(sacrebleu.corpus_chrf(SYS_A, [REFS]).score, abs=1e-9)
    for hyp, ref, c in zip(SYS_A, REFS, per_example["chrf"]):
        assert c == pytest.approx(sacrebleu.sentence_chrf(hyp, [ref]).score, abs=1e-9)
    assert set(sigs) == {"bleu", "chrf", "rouge"}


def test_rouge_equals_rouge_score_with_stemming():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    got = M.rouge_per_example(SYS_A, REFS)
    for i, (hyp, ref) in enumerate(zip(SYS_A, REFS)):
        direct = scorer.score(ref, hyp)
        for t in M.ROUGE_TYPES:
            assert got[t][i] == direct[t].fmeasure
    stats, _, _ = M.text_metric_stats(SYS_A, REFS)
    assert stats["rougeL"].value() == pytest.approx(np.mean(got["rougeL"]))
    # Stemming is on: "visiting" matches "visit".
    assert M.rouge_per_example(["visiting"], ["visit"])["rouge1"][0] == 1.0


def test_rouge_lsum_splits_on_newlines():
    hyp, ref = "b c\na", "a\nb c"
    got = M.rouge_per_example([hyp], [ref])
    direct = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True).score(ref, hyp)["rougeLsum"].fmeasure
    assert got["rougeLsum"][0] == direct
    # Summary-level LCS over lines finds all three tokens; plain ROUGE-L on the flat sequence only two.
    assert got["rougeLsum"][0] == 1.0 and got["rougeL"][0] < 1.0


def test_bootstrap_ci_is_seeded_and_matches_explicit_resampling():
    values = np.array([0.0, 1.0, 1.0, 0.5, 0.25, 1.0, 0.0, 0.75])
    stat = M.ratio_stat(values)
    counts = M.bootstrap_counts(len(values), 500, seed=3)
    _, ci = M.summarize({"m": stat}, counts)
    rng = np.random.default_rng(3)
    idx = rng.choice(len(values), size=(500, len(values)), replace=True)
    expected = np.percentile(values[idx].mean(axis=1), [2.5, 97.5])
    assert ci["m"] == pytest.approx(list(expected))
    _, again = M.summarize({"m": stat}, M.bootstrap_counts(len(values), 500, seed=3))
    _, other = M.summarize({"m": stat}, M.bootstrap_counts(len(values), 500, seed=4))
    assert again == ci and other != ci
    assert ci["m"][0] <= values.mean() <= ci["m"][1]


def test_ratio_stat_ignores_examples_without_a_value():
    stat = M.ratio_stat([2, None, 1], [3, 5, 1])  # e.g. facts stated / key facts, one example with none
    assert stat.value() == pytest.approx(3 / 4)
    assert M.ratio_stat([None, None]).value() is None


def test_paired_bootstrap_p_value_equals_sacrebleu():
    refs, a, b = REFS * 3, SYS_A * 3, (SYS_B[:3] + SYS_A[3:]) * 3
    n_samples, seed = 300, 11
    bleu_metric = sacrebleu.metrics.BLEU()
    bl_stats = bleu_metric._extract_corpus_statistics(b, [refs])
    bl_result = bleu_metric._aggregate_and_compute(bl_stats)
    _, results = _paired_bs_test({"BLEU": (bl_stats, bl_result)}, "sys", a, [refs], {"BLEU": bleu_metric},
                                 n_samples=n_samples, seed=seed)
    stats_a, _, _ = M.text_metric_stats(a, refs)
    stats_b, _, _ = M.text_metric_stats(b, refs)
    counts = M.bootstrap_counts(len(refs), n_samples, seed)
    got = M.paired_bootstrap(stats_a["bleu"], stats_b["bleu"], counts)
    assert got["p_value"] == pytest.approx(results["BLEU"].p_value)
    assert got["delta"] == pytest.approx(results["BLEU"].score - bl_result.score)
    # Same resamples: the mean of the resampled system scores matches too.
    assert stats_a["bleu"].resample(counts).mean() == pytest.approx(results["BLEU"].mean, rel=1e-6)


def test_paired_bootstrap_separates_clear_winner_and_not_identical_systems():
    refs = REFS * 4
    good, _, _ = M.text_metric_stats(SYS_A * 4, refs)
    bad, _, _ = M.text_metric_stats(SYS_B * 4, refs)
    counts = M.bootstrap_counts(len(refs), 1000, 0)
    assert M.paired_bootstrap(good["chrf"], bad["chrf"], counts)["p_value"] < 0.01
    same = M.paired_bootstrap(good["chrf"], good["chrf"], counts)
    assert same == {"delta": 0.0, "p_value": 1.0}


def test_per_group_equals_scoring_each_group_alone():
    groups = ["a", "b", "a", "b", "a", "b"]
    stats, _, _ = M.text_metric_stats(SYS_A, REFS)
    per = M.per_group(stats, groups, n_samples=100, seed=0)
    idx_a = [0, 2, 4]
    assert per["a"]["n"] == 3
    assert per["a"]["bleu"] == pytest.approx(sacrebleu.corpus_bleu([SYS_A[i] for i in idx_a],
                                                                   [[REFS[i] for i in idx_a]]).score)
    assert per["b"]["chrf"] == pytest.approx(sacrebleu.corpus_chrf([SYS_A[i] for i in (1, 3, 5)],
                                                                   [[REFS[i] for i in (1, 3, 5)]]).score)
    assert per["a"]["ci"]["bleu"][0] <= per["a"]["bleu"] <= per["a"]["ci"]["bleu"][1]


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="2 outputs for 1 references"):
        M.text_metric_stats(["a", "b"], ["a"])
