"""Teacher rationales with uncertainty filtering; the LM simulator's SFT + DPO on a tiny model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from agent.llm.scripted import ScriptedChatModel
from agent.simulators.choosers import RandomChooser
from agent.simulators.lm_simulator import (
    LMSimulator,
    completion,
    dpo_pairs,
    plain_rows,
    sft_examples,
)
from agent.simulators.scene_text import LABELS, option_ranks, scene_text
from agent.simulators.scenes import build_scenes
from agent.simulators.teacher import (
    Teacher,
    TeacherSample,
    choice_entropy,
    majority,
    read_kept,
    score_entropy,
    write_kept,
)
from recsys.synthetic import make_catalog


@pytest.fixture(scope="module")
def sset():
    catalog = make_catalog(n_users=80, n_items=80, per_user=16, seed=5)
    return build_scenes(catalog, n_options=10, per_user=2, train_per_user=3, seed=0,
                        progress=False)


def test_entropy_and_majority_of_votes() -> None:
    assert choice_entropy([2, 2, 2], 5) == 0.0
    assert choice_entropy([0, 1, 2], 5) == pytest.approx(math.log(3))
    assert choice_entropy([None, None], 5) == pytest.approx(math.log(5))  # no votes: unsure
    assert majority([1, 1, 3]) == 1
    assert majority([1, 3]) is None and majority([None, None]) is None
    assert majority([None, 4]) == 4
    assert score_entropy(np.zeros(4)) == pytest.approx(math.log(4))
    assert score_entropy(np.array([50.0, 0, 0])) == pytest.approx(0.0, abs=1e-6)


def test_scene_text_letters_options_with_facts_and_never_marks_the_choice(sset) -> None:
    s = sset.scenes["train"][0]
    opts, _ = s.options(5)
    text = scene_text(sset.world, s, opts)
    assert [ln[:2] for ln in text.splitlines() if ln[:2] in {f"{c}." for c in LABELS}] == \
        ["A.", "B.", "C.", "D.", "E."]
    ranks = option_ranks(sset.world, s, opts)
    assert all(sorted(r.tolist()) == [1, 2, 3, 4, 5] for r in ranks.values())
    # the text depends on the options only, never on which one is the real choice
    assert "chose" not in text.lower().replace("chosen overall", "").replace("chosen lately", "")


def _teacher_replies(sset, n: int) -> tuple[list, list[int]]:
    """Per scene three scripted answers: all right, 2 of 3 right, all wrong."""
    from agent.simulators.scenes import Scene

    scenes: list[Scene] = sset.scenes["train"][:3]
    rng_orders = []
    replies = []
    for i, s in enumerate(scenes):
        opts, ans = s.options(n)
        # the teacher shuffles options for samples 2 and 3; reproduce its orders
        rng = np.random.default_rng([0, s.user, s.time & 0x7FFFFFFF, n])
        orders = [np.arange(n), rng.permutation(n), rng.permutation(n)]
        rng_orders.append(orders)
        wrong = (ans + 1) % n
        picks = [[ans, ans, ans], [ans, wrong, ans], [wrong, wrong, wrong]][i]
        for order, pick in zip(orders, picks, strict=True):
            shown = int(np.flatnonzero(order == pick)[0])
            replies.append({"reason": f"r{i} fits my taste", "choice": LABELS[shown]})
    return scenes, replies


def test_teacher_keeps_majority_right_scenes_ranked_and_writes_file_and_card(sset, tmp_path):
    scenes, replies = _teacher_replies(sset, 5)
    llm = ScriptedChatModel(replies)
    teacher = Teacher(llm, samples=3, temperature=0.8)
    taught = teacher.teach(sset.world, scenes, 5, student=RandomChooser().fit(sset.world, []),
                           progress=False)
    assert [t.kept for t in taught] == [True, True, False]
    assert all(c.temperature == 0.8 for c in llm.calls) and len(llm.calls) == 9
    assert taught[0].teacher_entropy == 0.0
    assert taught[1].teacher_entropy == pytest.approx(-(2 / 3) * math.log(2 / 3)
                                                      - (1 / 3) * math.log(1 / 3))
    # random student: maximal uncertainty; the sure teacher's scene is the more informative
    assert taught[0].informativeness > taught[1].informativeness
    path, card_path = write_kept(taught, tmp_path / "kept", teacher="scripted",
                                 student="random")
    rows = read_kept(path)
    assert [r["reason"] for r in rows] == ["r0 fits my taste", "r1 fits my taste"]
    assert all(r["options"][r["answer"]] == r["chosen"] for r in rows)
    assert rows[1]["wrong_reasons"] and rows[1]["label"] not in rows[1]["wrong_reasons"]
    card = json.loads(card_path.read_text())
    assert card["seen"] == 3 and card["kept"] == 2 and card["teacher"] == "scripted"
    assert {"seconds_per_scene", "date", "samples_per_scene"} <= set(card)


def test_a_teacher_reply_that_names_no_option_is_no_vote(sset) -> None:
    s = sset.scenes["train"][0]
    opts, _ = s.options(5)
    llm = ScriptedChatModel(["not json", {"reason": "x", "choice": "Z"}, {"reason": "y",
                                                                           "choice": "A"}])
    samples = Teacher(llm, samples=3).ask(sset.world, s, opts)
    assert samples[0].choice is None and samples[1].choice is None
    assert samples[2].choice is not None
    from agent.simulators.teacher import Taught

    one_vote = Taught(s, opts, 0, "", [samples[0], samples[1], TeacherSample(0, "r")])
    assert one_vote.majority == 0 and not one_vote.kept  # one parsed vote of three is luck


def _rows(sset, n_rows: int = 8, **kw) -> list[dict]:
    rows = plain_rows(sset.world, sset.scenes["train"][:n_rows], **kw)
    for i, r in enumerate(rows[: n_rows // 2]):  # half carry a rationale and a wrong pick
        r["reason"] = f"reason {i}"
        r["wrong_reasons"] = {LABELS[(r["answer"] + 1) % len(r["options"])]: "wrong reason"}
    return rows


def test_dpo_pairs_never_reject_the_real_choice(sset) -> None:
    rows = _rows(sset, 12)
    pairs = dpo_pairs(rows, seed=1)
    for r, p in zip(rows, pairs, strict=True):
        chosen, rejected = p["chosen"][0]["content"], p["rejected"][0]["content"]
        assert chosen.startswith(completion(r["label"], None))
        assert rejected.split("\n")[0] != f"Choice: {r['label']}"
        assert rejected.split("\n")[0][len("Choice: "):] in LABELS[:len(r["options"])]
    # the teacher's own wrong pick is the one rejected, with its reason
    assert pairs[0]["rejected"][0]["content"].endswith("wrong reason")
    sft = sft_examples(rows)
    assert sft[0]["completion"][0]["content"] == "Choice: " + rows[0]["label"] + \
        "\nReason: reason 0"
    assert sft[-1]["completion"][0]["content"] == "Choice: " + rows[-1]["label"]


def test_a_rival_chooser_names_the_hardest_wrong_option_for_dpo(sset) -> None:
    from agent.simulators.choosers import Chooser

    class LikesFirst(Chooser):
        name = "likes_first"

        def scores(self, scene, options):
            return -np.arange(len(options), dtype=np.float64)

    scenes = sset.scenes["train"][:10]
    rows = plain_rows(sset.world, scenes, rival=LikesFirst())
    for r in rows:  # its favourite wrong option: the first listed, or the second when the
        # first is the real choice
        assert r["rival"] == ("B" if r["answer"] == 0 else "A")
    for r, p in zip(rows, dpo_pairs(rows, seed=3), strict=True):
        assert p["rejected"][0]["content"] == completion(r["rival"], None)


def _tiny_model_and_tokenizer(texts: list[str]):
    """A random ~0.2M-parameter Llama and a word-level tokenizer with a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    special = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
    words = sorted({w for t in texts for w in pre_tokenizers.Whitespace().pre_tokenize_str(t)
                    for w in [w[0]]} | set(LABELS) | {"Choice", ":", "Reason", "system", "user",
                                                       "assistant"})
    vocab = {w: i for i, w in enumerate(special + words)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", unk_token="<unk>",
                                  eos_token="<|im_end|>", bos_token="<|im_start|>")
    tok.chat_template = ("{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }}"
                         " <|im_end|> {% endfor %}{% if add_generation_prompt %}<|im_start|> "
                         "assistant {% endif %}")
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=1024, pad_token_id=0, eos_token_id=3,
                      bos_token_id=2, tie_word_embeddings=True)
    return LlamaForCausalLM(cfg), tok


@pytest.mark.slow  # two tiny trl runs: ~20 s on a quiet 2-core machine
def test_the_lm_simulator_trains_sft_then_dpo_and_picks_a_valid_option(sset, cm, tmp_path):
    pytest.importorskip("trl")
    # the default benchmark's kind: reading the choice model's ranking with fit ranks
    rows = _rows(sset, 8, order="fit", prior_of=lambda _s: cm, facts=("taste",))
    model, tok = _tiny_model_and_tokenizer([r["prompt"] for r in rows]
                                           + ["reason 0 1 2 3 wrong", "You are a movie watcher"])
    sim = LMSimulator(sft_epochs=1, dpo_epochs=1, batch=4, n_threads=1, progress=False,
                      order="fit", prior=cm, facts=("taste",))
    sim.use(model, tok)
    sim.world = sset.world
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sim.train(rows)
    assert set(sim.train_s) == {"sft", "dpo"}
    assert any(not (v == before[k]).all() for k, v in model.state_dict().items())
    for s in sset.scenes["heldout"][:3]:
        for n in (5, 10):
            opts, _ = s.options(n)
            sc = sim.scores(s, opts)
            assert sc.shape == (n,) and np.isfinite(sc).all() and (sc <= 0).all()
            assert 0 <= sim.pick(s, opts) < n
    folder = sim.save(tmp_path / "ckpt")
    assert (folder / "config.json").is_file()
    assert json.loads((folder / "card.json").read_text())["train_s"].keys() == {"sft", "dpo"}
    again = LMSimulator.from_checkpoint(folder, n_threads=1).load()
    assert again.order == "fit" and again.prior is not None  # the prior came back with it
    again.world = sset.world
    s = sset.scenes["heldout"][0]
    opts, _ = s.options(5)
    # the reloaded checkpoint scores as the trained one (up to the attention kernel's rounding)
    assert np.allclose(again.scores(s, opts), sim.scores(s, opts), atol=5e-3)
    # a list of 10 plus the target: the talking user's judge asks about 11 options
    opts10, _ = s.options(10)
    assert sim.scores(s, [*opts10, opts10[0]]).shape == (11,)

    # the saved simulator plays users in `tastebud simulate --simulator lm`
    from agent.simulate import simulate_report

    report = simulate_report(sset.world.catalog, ["graph", "popularity"], "lm", episodes=4,
                             seed=1, workers=2, progress=False, lm_checkpoint=folder)
    assert report["simulator"] == "lm"
    assert report["machine"]["workers"] == 1  # torch plays in this process, never forked
    for m in report["policies"].values():
        assert 0.0 <= m["SR@15"] <= 1.0 and m["ungrounded_rate"] == 0.0


def test_simulate_with_an_untrained_lm_says_how_to_train_one(sset, tmp_path) -> None:
    from agent.simulate import simulate_report

    with pytest.raises(FileNotFoundError, match="simulator_alignment.py .*--lm-checkpoint"):
        simulate_report(sset.world.catalog, ["graph"], "lm", episodes=2,
                        lm_checkpoint=tmp_path / "none")


def test_train_layers_leaves_only_the_top_layers_and_final_norm_trainable(sset) -> None:
    model, tok = _tiny_model_and_tokenizer(["a b"])
    sim = LMSimulator(train_layers=1, n_threads=1).use(model, tok)
    sim._freeze()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("model.layers.1.", "model.norm.")) for n in trainable)
    assert not any(p.requires_grad for p in model.model.layers[0].parameters())
    with pytest.raises(ValueError, match="train_layers"):
        LMSimulator(train_layers=1).use(object.__new__(type("Odd", (), {"eval": lambda s: s})),
                                        tok)._freeze()


def test_options_are_read_best_taste_first_and_scores_come_back_in_the_callers_order(sset):
    from agent.simulators.scene_text import option_ranks

    sim = LMSimulator()
    sim.world = sset.world
    seen: list[str] = []

    def first_is_best(prompt: str, n: int) -> np.ndarray:
        seen.append(prompt)
        return -np.arange(n, dtype=np.float64)  # likes what it reads first

    sim.option_logprobs = first_is_best  # type: ignore[method-assign]
    s = sset.scenes["heldout"][0]
    opts, _ = s.options(10)
    sc = sim.scores(s, opts)
    taste = option_ranks(sset.world, s, opts)["taste"]
    assert taste[int(np.argmax(sc))] == 1  # the best taste match, wherever the caller put it
    assert sorted(sc.tolist()) == sorted((-np.arange(10.0)).tolist())
    assert "| taste 1 " in seen[0].splitlines()[2]  # option A of the text
    sim.order = None
    assert int(np.argmax(sim.scores(s, opts))) == 0


def test_fit_needs_rows() -> None:
    with pytest.raises(ValueError, match="nothing to train on"):
        LMSimulator().fit(None, [])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cm(sset):
    from agent.simulators.choice_model import ChoiceModel

    return ChoiceModel(epochs=5, seed=0, progress=False).fit(sset.world, sset.scenes["train"])


def test_a_fit_simulator_reads_the_choice_models_favourite_first_with_its_fit_rank(sset, cm):
    sim = LMSimulator(order="fit", prior=cm, facts=("taste",))
    sim.world = sset.world
    seen: list[str] = []

    def first_is_best(prompt: str, n: int) -> np.ndarray:
        seen.append(prompt)
        return -np.arange(n, dtype=np.float64)

    sim.option_logprobs = first_is_best  # type: ignore[method-assign]
    s = sset.scenes["heldout"][0]
    opts, _ = s.options(10)
    sc = sim.scores(s, opts)
    # reading the first option = the choice model's pick, wherever the caller put it
    assert int(np.argmax(sc)) == int(np.argmax(cm.scores(s, opts)))
    lines = seen[0].splitlines()
    assert "fit (how likely" in lines[1] and "fans" not in lines[1]
    assert lines[2].endswith("| fit 1 taste " + lines[2].rsplit(" ", 1)[1])
    assert [ln.split("| fit ")[1].split()[0] for ln in lines[2:]] == [str(k) for k in
                                                                       range(1, 11)]
    with pytest.raises(ValueError, match="needs a prior"):
        LMSimulator(order="fit")
    with pytest.raises(ValueError, match="unknown facts"):
        scene_text(sset.world, s, opts, facts=("vibes",))


def test_out_of_fold_priors_never_saw_the_scenes_user(sset) -> None:
    from agent.simulators.choice_model import out_of_fold

    train = sset.scenes["train"]
    prior_of = out_of_fold(sset.world, train, folds=2, seed=0, progress=False, epochs=3)
    m0, m1 = prior_of.models  # type: ignore[attr-defined]
    assert m0 is not m1
    fold_of = prior_of.fold_of  # type: ignore[attr-defined]
    assert set(fold_of.values()) == {0, 1}
    for s in train[:20]:
        assert prior_of(s) is prior_of.models[fold_of[s.user]]  # type: ignore[attr-defined]
    # model k is the one trained on the other fold's users only (same seed, same scores)
    from agent.simulators.choice_model import ChoiceModel

    s = train[0]
    k = fold_of[s.user]
    alone = ChoiceModel(seed=0, progress=False, epochs=3).fit(
        sset.world, [t for t in train if fold_of[t.user] != k])
    opts, _ = s.options(10)
    assert np.allclose(prior_of(s).scores(s, opts), alone.scores(s, opts))
    with_user = ChoiceModel(seed=0, progress=False, epochs=3).fit(sset.world, train)
    assert not np.allclose(with_user.scores(s, opts), alone.scores(s, opts))
    with pytest.raises(KeyError, match="not among"):
        prior_of(sset.scenes["heldout"][0])
    with pytest.raises(ValueError, match="at least 2"):
        out_of_fold(sset.world, train, folds=1)


def test_a_fit_simulators_rows_use_the_out_of_fold_prior_and_keep_the_real_choice(sset, cm):
    from agent.simulators.choice_model import out_of_fold

    train = sset.scenes["train"][:12]
    prior_of = out_of_fold(sset.world, sset.scenes["train"], folds=2, progress=False, epochs=3)
    rows = plain_rows(sset.world, train, order="fit", prior_of=prior_of, facts=("taste",))
    for s, r in zip(train, rows, strict=True):
        given, real = s.options(5 if rows.index(r) % 2 == 0 else 10)
        assert r["options"][r["answer"]] == given[real]  # the real choice, wherever it went
        sc = prior_of(s).scores(s, r["options"])
        assert int(np.argmax(sc)) == 0  # listed by the out-of-fold model, its pick first
        assert r["prompt"].splitlines()[2].split("| ")[1].startswith("fit 1 ")


def test_choice_model_saves_and_loads_to_the_same_scores(sset, cm, tmp_path) -> None:
    from agent.simulators.choice_model import ChoiceModel

    back = ChoiceModel.load(cm.save(tmp_path / "cm.pt"), sset.world)
    s = sset.scenes["heldout"][1]
    opts, _ = s.options(10)
    assert np.allclose(back.scores(s, opts), cm.scores(s, opts))


def test_a_saved_fit_simulator_reloads_with_its_prior_order_and_facts(sset, cm, tmp_path):
    model, tok = _tiny_model_and_tokenizer(["a b"])
    sim = LMSimulator(order="fit", prior=cm, facts=("taste", "pop"), n_threads=1)
    sim.use(model, tok)
    folder = sim.save(tmp_path / "ck")
    card = json.loads((folder / "card.json").read_text())
    assert card["order"] == "fit" and card["facts"] == ["taste", "pop"]
    again = LMSimulator.from_checkpoint(folder, n_threads=1)
    assert again.order == "fit" and again.facts == ("taste", "pop")
    again.world = sset.world  # reaches the prior too
    s = sset.scenes["heldout"][0]
    opts, _ = s.options(5)
    assert np.allclose(again.prior.scores(s, opts), cm.scores(s, opts))


def test_the_ranks_logit_learns_which_rank_the_real_choices_follow(sset) -> None:
    from agent.simulators.choosers import MFChooser, accuracy
    from agent.simulators.ranks_chooser import RanksChooser
    from agent.simulators.scene_text import RANKS
    from agent.simulators.scenes import views

    train = sset.scenes["train"]
    ch = RanksChooser().fit(sset.world, train)
    assert ch.w is not None and ch.w.shape == (4 * len(RANKS),)
    # on its own train scenes it does at least as well as any single rank's first place
    for n in (5, 10):
        sub = views(train, n)
        best_single = max(
            np.mean([option_ranks(sset.world, s, o)[name][a] == 1 for s, o, a in sub])
            for name in RANKS)
        assert accuracy(ch, sub) >= best_single - 0.02
    mf = MFChooser().fit(sset.world, train)
    assert accuracy(ch, views(train, 5)) >= accuracy(mf, views(train, 5)) - 0.02
    with pytest.raises(RuntimeError, match="not trained"):
        RanksChooser().scores(train[0], train[0].options(5)[0])


@pytest.mark.parametrize("fit", [True, False])
def test_kept_teacher_rows_are_reread_in_the_simulators_text_with_labels_remapped(sset, cm,
                                                                                 fit):
    train = sset.scenes["train"][:6]
    kept = []
    for s in train:
        given, real = s.options(5)
        wrong = (real + 1) % 5
        kept.append({"user": s.user, "time": s.time, "chosen": s.chosen,
                     "options": list(given), "answer": real, "label": LABELS[real],
                     "prompt": "the teacher's own text", "reason": "why",
                     "wrong_reasons": {LABELS[wrong]: "why not"},
                     "teacher_choices": [LABELS[real], LABELS[wrong], None]})
    stray = {**kept[0], "user": -1}  # a scene this split does not have
    sim = (LMSimulator(order="fit", prior=cm, facts=("taste",)) if fit
           else LMSimulator(order="taste", facts=("taste", "pop")))
    out = sim._reread(sset.world, train, [*kept, stray], (lambda _s: cm) if fit else None)
    assert len(out) == len(kept)
    for s, old, new in zip(train, kept, out, strict=True):
        assert new["options"][new["answer"]] == s.chosen and new["label"] == LABELS[new["answer"]]
        (lab, why), = new["wrong_reasons"].items()
        wrong_item = old["options"][LABELS.index(next(iter(old["wrong_reasons"])))]
        assert new["options"][LABELS.index(lab)] == wrong_item and why == "why not"
        votes = new["teacher_choices"]
        assert new["options"][LABELS.index(votes[0])] == s.chosen
        assert new["options"][LABELS.index(votes[1])] == wrong_item and votes[2] is None
        assert new["reason"] == "why" and new["prompt"] != old["prompt"]
        first = new["prompt"].splitlines()[2]
        assert ("| fit 1 taste " in first) if fit else ("| taste 1 pop " in first)
