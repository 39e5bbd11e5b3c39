"""Facts notebook 08 states, checked here rather than in a learner's cell: the numbers its text takes from the
recipes and from the tried-recipes table, and the shipped CNNs' calibration (the robust CNN's temperature fitted on
validation digits, never the test digits)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from notebook_files import markdown_text

from mnistlab import pretrained, recipes
from mnistlab.recipes import DEFAULTS, RECIPES, REPORT_PROTOCOL, VALIDATION_DIGITS


def _says(text: str, where: str, phrases: tuple[str, ...]) -> None:
    missing = [phrase for phrase in phrases if phrase not in text]
    assert not missing, f"{where} does not say {missing}"


def said(*phrases: str) -> None:
    """Each phrase is in notebook 08's text (its markdown, line breaks and spacing as one space): the numbers below
    are made from the recipes and tables, so a changed recipe or table fails here until the notebook says it."""
    _says(markdown_text("08_beyond_the_test_set"), "notebook 08", phrases)


def told(*phrases: str) -> None:
    """Each phrase is in docs/robust_search.md (line breaks and spacing as one space), the page that tells the robust
    search round by round for notebook 08: its numbers are made from the search's tables, as :func:`said`'s are."""
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "robust_search.md"
    _says(" ".join(page.read_text(encoding="utf-8").split()), "docs/robust_search.md", phrases)


def test_the_recipes_say_what_notebook_08_says_of_them():
    best, robust = RECIPES["best"], RECIPES["robust"]
    # "shifted by up to 3.6 pixels" (the best CNN), "5.3 pixels" and "22 degrees" (the robust CNN), "no turns"
    assert round(28 * best.build_args["shift"], 1) == 3.6 and best.build_args["rotation"] == 0
    assert round(28 * robust.build_args["shift"], 1) == 5.3 and round(360 * robust.build_args["rotation"]) == 22
    # the best CNN's label smoothing: "0.91 for the right digit and 0.01 for each other one"; the report's and the
    # robust CNN's: one-hot targets
    assert 1 - best.label_smoothing + best.label_smoothing / 10 == pytest.approx(0.91)
    assert best.label_smoothing / 10 == pytest.approx(0.01)
    assert RECIPES["report"].label_smoothing == 0 and robust.label_smoothing == 0
    # the training digits and epochs it names; the robust CNN leaves the last 10,000 aside, never trained on
    assert (REPORT_PROTOCOL.train_size, DEFAULTS["best"].train_size, DEFAULTS["robust"].train_size) == (
        20_000, 60_000, 50_000)
    assert (DEFAULTS["best"].epochs, DEFAULTS["robust"].epochs) == (10, 12)
    # "as many digits seen, and as much arithmetic, as the best CNN's 10 epochs of 60,000"
    assert DEFAULTS["robust"].epochs * DEFAULTS["robust"].train_size == DEFAULTS["best"].epochs * 60_000
    # the photo changes: "with probability 0.2 each", "a Gaussian of up to 2 pixels", "to as little as half their
    # ink", "noise of up to 0.5"; "the last 2 of its 12 epochs" on unchanged digits; the best CNN's convolutions,
    # "group normalisation" of "8 groups" in place of its batch normalisation; "no dropout" (the best CNN's: 0.25)
    args = robust.build_args
    assert robust.build == "centred_cnn" and (args["p"], args["blur"], args["dim"], args["noise"]) == (0.2, 2, 0.5, 0.5)
    # "its first layer, `models.Recentre`": before the layers that change training digits
    assert args["centre_first"] is True
    assert robust.clean_epochs == 2 and best.clean_epochs == 0
    # in those, "a fifth of their digits still have their strokes thickened, as before" (probability 0.2, as p)
    assert robust.clean_thicken == 0.2 == args["p"] and "thicken" not in args
    assert all(args[k] == best.build_args[k] for k in ("widths", "kernel_size", "pools"))
    assert args["dropout"] == 0 and best.build_args["dropout"] == 0.25
    assert args["groups"] == 8 and "groups" not in best.build_args
    assert VALIDATION_DIGITS == 10_000 and DEFAULTS["robust"].train_size + VALIDATION_DIGITS == 60_000
    r, b = robust.build_args, best.build_args
    said(f"up to {28 * r['shift']:.1f} pixels and turned by up to {360 * r['rotation']:.0f} degrees "
         f"(the best CNN: {28 * b['shift']:.1f} pixels, no turns)",
         f"towards {1 - best.label_smoothing + best.label_smoothing / 10:.2f} for the right digit and "
         f"{best.label_smoothing / 10:.2f} for each other one",
         f"with probability {r['p']} each", f"a Gaussian of up to {r['blur']:g} pixels",
         f"noise of up to {r['noise']}", f"last {robust.clean_epochs} of {DEFAULTS['robust'].epochs} epochs",
         "a fifth of their digits still have their strokes thickened, as before",
         f"`keras.layers.GroupNormalization`, {r['groups']} groups",
         f"first {REPORT_PROTOCOL.train_size:,} training digits", f"trained on all {DEFAULTS['best'].train_size:,}",
         f"The robust CNN trains for {DEFAULTS['robust'].epochs} epochs on the first "
         f"{DEFAULTS['robust'].train_size:,} training digits: as many digits seen, and as much arithmetic",
         f"the best CNN's {DEFAULTS['best'].epochs} epochs of 60,000")


def _search_module(monkeypatch):
    """benchmarks/search_robust.py, imported from its file."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "search_robust.py"
    monkeypatch.syspath_prepend(str(path.parent))  # it reads the targets from bench_robustness.py beside it
    spec = importlib.util.spec_from_file_location("search_robust", path)
    search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(search)
    return search


def test_the_robust_recipe_is_the_search_s_choice_on_validation_digits(monkeypatch):
    """Notebook 08: in each of the search's first four rounds "two promising candidates, among the closest on seed 42,
    were trained with two more seeds", and "of the two, the one with the smallest total shortfall over its three
    seeds was kept"; in the fifth, batches of 64 got three seeds and missed only the printed digits' target, by 0.08
    points, against the fourth round's choice's 0.03; both got two more, and over five the fourth round's choice met
    every one of these targets, batches of 64 missed the printed digits' by 0.04: the fourth round's choice stays.
    "Neither read 99.6% of the unchanged validation digits (99.47% and 99.46%), so no candidate met every target"."""
    pd = pytest.importorskip("pandas")
    search = _search_module(monkeypatch)
    table = pd.read_csv(search.RESULTS)
    ranked = search.ranking(search.means(table))
    assert (ranked.loc[ranked["targets missed"] == 0, "validation %"] < 99.6).all()
    seeded = ranked[ranked["seeds"] >= 3].set_index("candidate")
    assert len(seeded) == 9 and (seeded["seeds"] == 5).sum() == 2
    kept, batches_64 = seeded.index[0], seeded.index[1]
    assert seeded.loc[kept, "seeds"] == 5 and seeded.loc[kept, "targets missed"] == 0
    assert batches_64.endswith("-b64-e12") and seeded.loc[batches_64, "missed"] == "printed by 0.04"
    assert list(seeded.loc[[kept, batches_64], "validation %"]) == [99.47, 99.46]
    first_three = search.ranking(search.means(table[table["seed"] <= 44]))
    assert first_three.set_index("candidate").loc[[kept, batches_64], "missed"].tolist() == [
        "printed by 0.03", "printed by 0.08"]
    printed = table[table["candidate"].isin([kept, batches_64])]["printed %"]
    assert (printed.min(), printed.max()) == (98.73, 99.92)
    told(f"from {printed.min():.2f}% to {printed.max():.2f}% in these runs",
         "({:.2f}% and {:.2f}%)".format(*seeded.loc[[kept, batches_64], "validation %"]),
         f"missed the printed digits' by {seeded.loc[batches_64, 'missed'].split(' by ')[1]}")
    # notebook 08: "one candidate read from 98.73% to 99.92% of the printed digits over five seeds"
    spread = table[table["candidate"] == batches_64]["printed %"]
    assert len(spread) == 5 and (spread.min(), spread.max()) == (printed.min(), printed.max())
    said(f"one candidate read from {spread.min():.2f}% to {spread.max():.2f}% of the printed digits over five seeds")
    # "had met on the validation digits, over five seeds, two targets ...: 98.55% shifted diagonally and 98.21% with
    # thicker strokes there"; "(Its printed digits ... read 99.57% over five seeds ...)"
    five = search.means(table).loc[kept]
    assert (five["shift 4 diagonal %"], five["thicker 2 %"], five["printed %"]) == (98.55, 98.21, 99.57)
    said(f"{five['shift 4 diagonal %']:.2f}% shifted diagonally and {five['thicker 2 %']:.2f}% with thicker strokes "
         f"there", f"read {five['printed %']:.2f}% over five seeds")
    told(f"{five['shift 4 diagonal %']:.2f}% shifted diagonally and {five['thicker 2 %']:.2f}% with thicker strokes "
         f"on the validation digits", f"read {five['printed %']:.2f}% over five seeds")
    # the fifth round's choice is the robust recipe but for its first layer (Recentre, added in the seventh round)
    # and its closing epochs' thickening (the tenth round's)
    chosen, robust = search.recipe_of(kept), dataclasses.replace(RECIPES["robust"], clean_thicken=0.0)
    without_names = {"description": "", "build_args": {}, "build": ""}
    assert dataclasses.replace(chosen, **without_names) == dataclasses.replace(robust, **without_names)
    assert ({"blur": 2.0, "dim": 0.5, "centre_first": True,
             **{k: v for k, v in chosen.build_args.items() if k != "name"}}
            == {k: v for k, v in robust.build_args.items() if k != "name"})


def test_the_sixth_and_seventh_rounds_chose_the_robust_recipe(monkeypatch):
    """The docs (robust_search.md): no sixth-round candidate (no Recentre) with two seeds read more of the digits
    shifted diagonally than the fifth's choice; Recentre after the changing layers read 98.78% of the printed
    digits; before them, with the fifth's choice otherwise as it was, the scores it quotes against that choice's
    over the same seeds (42 to 44); "the only candidate of the two rounds to meet every one of these targets on
    the validation digits", and it became the robust recipe, which the tenth round changed in its closing epochs
    only."""
    pd = pytest.importorskip("pandas")
    search = _search_module(monkeypatch)
    later = pd.read_csv(search.RESULTS.with_name("robust_search_next.csv"))
    earlier = pd.read_csv(search.RESULTS)
    sixth = later[~later["candidate"].str.startswith("rc")]
    per_candidate = sixth.groupby("candidate")["shift 4 diagonal %"].agg(["mean", "size"])
    seeded, single = per_candidate[per_candidate["size"] > 1], per_candidate[per_candidate["size"] == 1]
    fifth_five = search.means(earlier).loc["gn8-s19-r06-p02-n05-c2-d00-ls0-e12"]
    assert (seeded["size"] == 2).all() and (seeded["mean"] < fifth_five["shift 4 diagonal %"]).all()
    shifted_further = "gn8-s22-r07-p02-t04-n05-c1-d00-ls0-e12"  # "6.2 pixels: 98.41%, two seeds"
    found = search.candidates()[shifted_further][2]
    assert round(28 * found["shift"], 1) == 6.2 and round(360 * found["rotation"]) == 25 and found["clean_epochs"] == 1
    assert sixth["candidate"].str.contains("-t04-").all()  # "thickened training digits more often (probability 0.4)"
    assert search.candidates()[sixth["candidate"].iloc[0]][2]["thicken"] == 0.4
    after = later[later["candidate"] == "rc-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12"]
    first = later[later["candidate"] == "rc1-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12"]  # "the same settings"
    assert len(after) == len(first) == 3 and round(after["printed %"].mean(), 2) == 98.78
    told(f"with Recentre first and the same settings: {first['printed %'].mean():.2f}%")
    ranked = search.ranking(search.means(later))
    met = ranked.loc[ranked["targets missed"] == 0, "candidate"].tolist()
    assert met == ["rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12"]
    kept = met[0]
    assert ranked.set_index("candidate").loc[kept, "seeds"] == 3
    fifth = "gn8-s19-r06-p02-n05-c2-d00-ls0-e12"
    columns = ["shift 4 diagonal %", "shift 4 right %", "validation %", "rotate 20 %", "thicker 2 %", "printed %"]
    now = later[later["candidate"] == kept]
    before = earlier[(earlier["candidate"] == fifth) & earlier["seed"].isin(now["seed"])]
    assert sorted(now["seed"]) == sorted(before["seed"]) == [42, 43, 44]
    pairs = [(now[c].mean(), before[c].mean()) for c in columns]
    told("over the same three seeds (42 to 44): {:.2f}% of the digits shifted diagonally (without it: {:.2f}%), "
         "{:.2f}% of those shifted right ({:.2f}%)".format(*pairs[0], *pairs[1]),
         "{:.2f}% of the unchanged digits ({:.2f}%), {:.2f}% of the turned ({:.2f}%), {:.2f}% of those with thicker "
         "strokes ({:.2f}%) and {:.2f}% of the printed digits ({:.2f}%)".format(*[v for p in pairs[2:] for v in p]),
         "read more of the digits shifted diagonally than the fifth's choice ({:.2f}% and {:.2f}%, two seeds each, "
         "against {:.2f}% over five; three single runs read {:.2f}% to {:.2f}%)".format(
             *sorted(seeded["mean"]), fifth_five["shift 4 diagonal %"], single["mean"].min(), single["mean"].max()),
         f"(6.2 pixels, with turns of up to 25 degrees and one closing epoch: "
         f"{per_candidate.loc[shifted_further, 'mean']:.2f}%, two seeds)",
         f"it read only {after['printed %'].mean():.2f}% of the printed digits")
    # "the fifth's choice otherwise as it was": the candidate is the robust recipe, but for the tenth round's change
    assert search.candidates()[kept][2] == {**search.candidates()[fifth][2], "centre_first": True}
    chosen, robust = search.recipe_of(kept), dataclasses.replace(RECIPES["robust"], clean_thicken=0.0)
    without_names = {"description": "", "build_args": {}}
    assert dataclasses.replace(chosen, **without_names) == dataclasses.replace(robust, **without_names)
    # the candidate leaves the blur and the dimming at sturdy_cnn's defaults, which the recipe spells out
    assert ({"blur": 2.0, "dim": 0.5, **{k: v for k, v in chosen.build_args.items() if k != "name"}}
            == {k: v for k, v in robust.build_args.items() if k != "name"})
    assert search.candidates()[kept][3] == DEFAULTS["robust"].epochs
    assert DEFAULTS["robust"].train_size == search.TRAIN_DIGITS


def test_the_eighth_round_is_as_the_docs_say(monkeypatch):
    """The docs (robust_search.md): the eighth round (robust_search_eighth.csv, validation digits only) thickened more
    often (0.3), with either footprint at random (1 or 2 steps), and with 1 to 3 plus-shaped steps (also less
    often, 0.15), each otherwise the seventh round's choice; 1 to 3 plus-shaped steps read more of the thicker
    digits and missed the printed digits' target over the same five seeds on which the seventh round's choice (its
    seeds 42 to 44 in robust_search_next.csv) meets every one."""
    pd = pytest.importorskip("pandas")
    search = _search_module(monkeypatch)
    eighth = pd.read_csv(search.RESULTS.with_name("robust_search_eighth.csv"))
    later = pd.read_csv(search.RESULTS.with_name("robust_search_next.csv"))
    robust, plus = "rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12", "rc1-gn8-s19-r06-p02-tp3-n05-c2-d00-ls0-e12"
    often, either = "rc1-gn8-s19-r06-p02-t03-n05-c2-d00-ls0-e12", "rc1-gn8-s19-r06-p02-te2-n05-c2-d00-ls0-e12"
    fewer = "rc1-gn8-s19-r06-p02-t015-tp3-n05-c2-d00-ls0-e12"
    candidates = search.candidates()
    recipe = candidates[robust][2]
    assert candidates[often][2] == {**recipe, "thicken": 0.3}
    assert candidates[either][2] == {**recipe, "footprint": "either"}
    assert candidates[plus][2] == {**recipe, "thicken_steps": 3, "footprint": "plus"}
    assert candidates[fewer][2] == {**candidates[plus][2], "thicken": 0.15}
    assert set(eighth["candidate"]) == {robust, plus, often, either, fewer}
    five = pd.concat([later[later["candidate"] == robust], eighth[eighth["candidate"] == robust]])
    runs = {name: eighth[eighth["candidate"] == name] for name in (plus, often, either, fewer)}
    assert sorted(five["seed"]) == sorted(runs[plus]["seed"]) == [42, 43, 44, 45, 46]
    assert all(sorted(runs[name]["seed"]) == [42, 43, 44] for name in (often, either, fewer))
    ranked = search.ranking(search.means(pd.concat([five, runs[plus]]))).set_index("candidate")
    assert ranked.loc[robust, "missed"] == "none" and ranked.loc[plus, "missed"].startswith("printed by ")
    assert ranked.loc[plus, "targets missed"] == 1
    fewer_ranked = search.ranking(search.means(runs[fewer])).set_index("candidate").loc[fewer]
    assert fewer_ranked["missed"].startswith("printed by ")  # "it kept neither": no margin, and printed missed
    mean = {name: table.mean(numeric_only=True)[["thicker 2 %", "printed %"]] for name, table in
            (("robust", five), *runs.items())}
    thicker = {name: m["thicker 2 %"] for name, m in mean.items()}
    margin = 0.35  # "at least 0.35 points above the target, more than the test digits had taken off"
    history = pd.read_csv(search.RESULTS.with_name("robustness_history.csv"))
    validation = (search.means(pd.read_csv(search.RESULTS)).loc["gn8-s19-r06-p02-n05-c2-d00-ls0-e12", "thicker 2 %"],
                  round(later.loc[later["candidate"] == robust, "thicker 2 %"].mean(), 2))  # the two recipes' choices
    lost = [round(v - test, 2) for v, test in zip(validation, history["thicker 2 %"].iloc[:2], strict=True)]
    assert lost == [0.34, 0.30] and max(lost) < margin
    # "no test digit scored them": the history holds the shipped recipes only, the tenth round's last
    assert len(history) == 3 and history["recipe"].iloc[-1] == RECIPES["robust"].description
    assert abs(thicker[often] - thicker["robust"]) < 0.1 and abs(thicker[either] - thicker["robust"]) < 0.1
    assert thicker[plus] - 98 >= margin > thicker[fewer] - 98 and thicker["robust"] - 98 < margin
    told("at least 0.35 points above the target",
         f"barely moved that score ({thicker[often]:.2f}%, three seeds)",
         f"one or two steps of either ({thicker[either]:.2f}%, three seeds)",
         f"read {thicker[plus]:.2f}% of the thicker digits, a margin of {thicker[plus] - 98:.2f} points, and "
         f"{mean[plus]['printed %']:.2f}% of the printed ones, against the seventh round's choice's "
         f"{thicker['robust']:.2f}% and {mean['robust']['printed %']:.2f}% over the same five seeds",
         f"(probability 0.15) kept neither: {thicker[fewer]:.2f}% of the thicker digits, a margin of "
         f"{thicker[fewer] - 98:.2f} points, and {mean[fewer]['printed %']:.2f}% of the printed ones (three seeds)")


def test_the_ninth_round_is_as_the_docs_say(monkeypatch):
    """The docs (robust_search.md): the ninth round (robust_search_ninth.csv, validation digits only, seeds 42 to 44)
    also thinned as many digits as the seventh round's choice thickens, or blurred by Gaussians of at most 1.5
    pixels; the second round's candidate neither blurred nor dimmed read more thicker digits than its sibling on
    seed 42; neither of the ninth round's came near the eighth round's margin."""
    pd = pytest.importorskip("pandas")
    search = _search_module(monkeypatch)
    ninth = pd.read_csv(search.RESULTS.with_name("robust_search_ninth.csv"))
    later = pd.read_csv(search.RESULTS.with_name("robust_search_next.csv"))
    first = pd.read_csv(search.RESULTS)
    robust = "rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12"
    thin, mild = "rc1-gn8-s19-r06-p02-th02-n05-c2-d00-ls0-e12", "rc1-gn8-s19-r06-b15-p02-n05-c2-d00-ls0-e12"
    candidates = search.candidates()
    recipe = candidates[robust][2]
    assert candidates[thin][2] == {**recipe, "thin": 0.2} and recipe["p"] == 0.2 and "thicken" not in recipe
    assert candidates[mild][2] == {**recipe, "blur": 1.5} and RECIPES["robust"].build_args["blur"] == 2.0
    one_clean, plus = "rc1-gn8-s19-r06-p02-tp3-n05-c1-d00-ls0-e12", "rc1-gn8-s19-r06-p02-tp3-n05-c2-d00-ls0-e12"
    assert candidates[one_clean][2] == {**candidates[plus][2], "clean_epochs": 1}
    assert set(ninth["candidate"]) == {thin, mild, one_clean}
    runs = {name: ninth[ninth["candidate"] == name] for name in (thin, mild, one_clean)}
    runs[robust] = later[(later["candidate"] == robust) & later["seed"].isin([42, 43, 44])]
    assert all(sorted(run["seed"]) == [42, 43, 44] for run in runs.values())
    mean = {name: run.mean(numeric_only=True).round(2) for name, run in runs.items()}
    margin = 0.35  # the eighth round's
    assert all(mean[name]["thicker 2 %"] - 98 < margin for name in (thin, mild))
    assert all(mean[name]["thicker 2 %"] < mean[robust]["thicker 2 %"] + 0.05 for name in (thin, mild))

    def seed_42(name: str) -> float:
        return first.loc[(first["candidate"] == name) & (first["seed"] == 42), "thicker 2 %"].item()

    plain, sibling = "gn8-s18-r05-tn-p02-n05-c2-e12", "gn8-s18-r05-p02-n05-c2-e12"
    assert candidates[plain][2] == {**candidates[sibling][2], "blur": 0.0, "dim": 1.0}
    told(f"had read more of the thicker digits than its sibling on the same seed ({seed_42(plain):.2f}% against "
         f"{seed_42(sibling):.2f}%)",
         f"Neither came near the margin: {mean[thin]['thicker 2 %']:.2f}% and {mean[mild]['thicker 2 %']:.2f}% of "
         f"the thicker digits, against the seventh round's choice's {mean[robust]['thicker 2 %']:.2f}% over the same "
         f"three seeds, with {mean[thin]['printed %']:.2f}% and {mean[mild]['printed %']:.2f}% of the printed ones "
         f"({mean[robust]['printed %']:.2f}%)")
    # "with thickening at probability 0.4 one closing epoch had read more of the printed digits than two"
    t04 = {epochs: later[later["candidate"] == f"rc1-gn8-s19-r06-p02-t04-n05-c{epochs}-d00-ls0-e12"]
           for epochs in (1, 2)}
    assert all(sorted(run["seed"]) == [42, 43, 44] for run in t04.values())
    printed = {epochs: round(run["printed %"].mean(), 2) for epochs, run in t04.items()}
    assert printed[1] > printed[2]
    kept = mean[one_clean]
    assert kept["thicker 2 %"] - 98 >= margin and kept["printed %"] < 99.5  # "the same trade again"
    told(f"one closing epoch had read more of the printed digits than two ({printed[1]:.2f}% against "
         f"{printed[2]:.2f}%, three seeds each", f"It kept the margin, {kept['thicker 2 %']:.2f}% of the thicker "
         f"digits, and read {kept['printed %']:.2f}% of the printed ones")


def test_the_tenth_round_chose_the_robust_recipe(monkeypatch):
    """The docs (robust_search.md): the tenth round (robust_search_tenth.csv, seeds 42 to 44) still thickened a fifth
    of the digits in the seventh round's choice's two closing epochs, nothing else changed, since in the second
    round one more closing epoch had cost the thicker digits 0.25 points (three seeds each); it kept the eighth
    round's margin and read more of the printed digits, every other score within 0.05 points, met every target but
    the unchanged digits', and is the robust recipe."""
    pd = pytest.importorskip("pandas")
    search = _search_module(monkeypatch)
    tenth = pd.read_csv(search.RESULTS.with_name("robust_search_tenth.csv"))
    later = pd.read_csv(search.RESULTS.with_name("robust_search_next.csv"))
    first = pd.read_csv(search.RESULTS)
    seventh, kept = "rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12", "rc1-gn8-s19-r06-p02-n05-c2-ct02-d00-ls0-e12"
    candidates = search.candidates()
    recipe = candidates[seventh][2]
    assert candidates[kept][2] == {**recipe, "clean_thicken": 0.2} and recipe["p"] == 0.2 and "thicken" not in recipe
    assert recipe["clean_epochs"] == 2 and set(tenth["candidate"]) == {kept}
    runs = {kept: tenth, seventh: later[(later["candidate"] == seventh) & later["seed"].isin([42, 43, 44])]}
    two, three = "gn8-s18-r05-p02-n05-c2-e12", "gn8-s18-r05-p02-n05-c3-e12"
    assert candidates[three][2] == {**candidates[two][2], "clean_epochs": 3}
    runs.update({name: first[first["candidate"] == name] for name in (two, three)})
    assert all(sorted(run["seed"]) == [42, 43, 44] for run in runs.values())
    mean = {name: run.mean(numeric_only=True).round(2) for name, run in runs.items()}
    closing = (mean[three]["thicker 2 %"], mean[two]["thicker 2 %"])
    told(f"one more such epoch had cost the thicker digits {closing[1] - closing[0]:.2f} points (three closing epochs "
         f"against two: {closing[0]:.2f}% against {closing[1]:.2f}%, three seeds each")
    new, old = mean[kept], mean[seventh]
    margin = 0.35  # the eighth round's
    assert new["thicker 2 %"] - 98 >= margin > old["thicker 2 %"] - 98 and new["printed %"] > old["printed %"]
    others = ["validation %", "shift 4 right %", "shift 4 diagonal %", "rotate 20 %", "blur 1.5 %", "noise 0.3 %",
              "ECE after T %"]
    assert all(abs(new[c] - old[c]) <= 0.05 for c in others)
    assert search.ranking(search.means(tenth)).set_index("candidate").loc[kept, "missed"] == "none"
    told(f"three seeds (42 to 44) it read {new['thicker 2 %']:.2f}% of the validation digits with thicker strokes, "
         f"a margin of {new['thicker 2 %'] - 98:.2f} points, against the seventh round's choice's "
         f"{old['thicker 2 %']:.2f}%, and {new['printed %']:.2f}% of the printed digits ({old['printed %']:.2f}%); "
         "the other scores moved by 0.05 points or less: {:.2f}% of the unchanged digits ({:.2f}%), {:.2f}% shifted "
         "right ({:.2f}%), {:.2f}% shifted diagonally ({:.2f}%), {:.2f}% turned ({:.2f}%), {:.2f}% blurred ({:.2f}%), "
         "{:.2f}% noised ({:.2f}%), and an ECE of {:.2f}% ({:.2f}%)".format(*[v for c in others for v in
                                                                             (new[c], old[c])]),
         f"it is the robust recipe now (`{kept}`)")
    chosen, robust = search.recipe_of(kept), RECIPES["robust"]
    without_names = {"description": "", "build_args": {}}
    assert dataclasses.replace(chosen, **without_names) == dataclasses.replace(robust, **without_names)
    assert ({"blur": 2.0, "dim": 0.5, **{k: v for k, v in chosen.build_args.items() if k != "name"}}
            == {k: v for k, v in robust.build_args.items() if k != "name"})
    assert robust.clean_thicken == 0.2 and candidates[kept][3] == DEFAULTS["robust"].epochs


def test_notebook_08_sums_up_the_three_later_rounds(monkeypatch):
    """Notebook 08: in the eighth and ninth rounds, the "candidates that thickened training strokes more heavily
    found" the margin (0.35 points above the thicker digits' target, means over their seeds) "and read too few of
    the printed digits"; the tenth round's candidate, this recipe, found it with the printed digits."""
    pd = pytest.importorskip("pandas")
    search = _search_module(monkeypatch)
    seventh = "rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12"
    later = pd.concat([pd.read_csv(search.RESULTS.with_name(f"robust_search_{n}.csv")) for n in ("eighth", "ninth")])
    later = later[later["candidate"] != seventh]
    mean = later.groupby("candidate").mean(numeric_only=True).round(2)
    found = mean[mean["thicker 2 %"] - 98 >= 0.35]
    assert len(found) == 2 and (found["printed %"] < 99.5).all()
    assert all(search.candidates()[name][2]["thicken_steps"] == 3 for name in found.index)  # "more heavily"
    tenth = pd.read_csv(search.RESULTS.with_name("robust_search_tenth.csv")).mean(numeric_only=True).round(2)
    assert tenth["thicker 2 %"] - 98 >= 0.35 and tenth["printed %"] >= 99.5
    said("The tenth round changed only the two closing epochs", "a fifth of their digits are still thickened",
         f"Over three seeds it read {tenth['thicker 2 %']:.2f}% of the validation digits with thicker strokes and "
         f"{tenth['printed %']:.2f}% of the printed ones: this recipe")


def test_the_tried_table_says_what_notebook_08_quotes():
    tried = recipes.tried()
    assert tried.loc["no-shift", "rotate 20 %"] == pytest.approx(97.34)  # the best recipe without shifts
    assert tried.loc["best", "rotate 20 %"] == pytest.approx(98.02)
    said(f"the best recipe without shifted digits read {tried.loc['no-shift', 'rotate 20 %']:.2f}% of the digits "
         f"turned 20 degrees, and the best recipe {tried.loc['best', 'rotate 20 %']:.2f}%")
    assert "validation accuracy %" in tried.columns  # "scored on the 10,000 validation digits"


@pytest.mark.tensorflow
def test_calibration_is_as_notebook_08_says(tmp_path, monkeypatch):
    """The robust CNN, trained on one-hot targets, is close to calibrated before and after a temperature fitted on
    validation digits (about 1: "nothing for it to fix"); the best CNN, trained with label smoothing, is
    under-confident (an ECE of about 10%, its curve above the diagonal)."""
    training = pytest.importorskip("mnistlab.training")  # imports TensorFlow
    from mnistlab import calibration, inference
    from mnistlab.data import load_mnist

    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(pretrained.ENV, raising=False)
    shipped = {name: training.from_shipped(DEFAULTS[name], progress=False, warn=lambda line: None)
               for name in ("robust", "best")}
    if None in shipped.values():  # never train here: tests/test_pretrained.py says why the shipped weights do not load
        pytest.skip("no usable shipped weights for the robust or the best CNN")
    (x_train, y_train), (x_test, y_test) = load_mnist()
    predict = inference.predictor(shipped["robust"].model)
    temperature = calibration.fit_temperature(predict(x_train[-VALIDATION_DIGITS:]), y_train[-VALIDATION_DIGITS:])
    test_p = predict(x_test)
    scaled_p = calibration.with_temperature(test_p, temperature)
    assert round(temperature, 1) == 1.0  # "its temperature is about 1"
    assert calibration.expected_calibration_error(test_p, y_test) < 0.0015  # "within about a tenth of a percent"
    assert calibration.expected_calibration_error(scaled_p, y_test) < 0.005  # the course's target: at most 0.5%
    assert (scaled_p.argmax(1) == test_p.argmax(1)).all()  # no prediction changes
    best_p = inference.predictor(shipped["best"].model)(x_test)
    assert calibration.expected_calibration_error(best_p, y_test) > 0.05  # "about 10%"
    bins = calibration.reliability(best_p, y_test).dropna()
    above = bins["accuracy"] > bins["confidence"]  # under-confident: most digits lie in bins above the diagonal
    assert bins.loc[above, "count"].sum() > 0.9 * len(y_test)


@pytest.mark.tensorflow
@pytest.mark.parametrize("name, unflipped, iterated", [("best", 2, 91), ("robust", 62, 25)])
def test_the_adversarial_counts_notebook_08_quotes(name, unflipped, iterated, tmp_path, monkeypatch):
    """Of the first 100 test digits: how many no single signed step up to 0.3 flips, and how many twenty steps
    within 0.1 flip, for the shipped weights (the notebook's text quotes both for each CNN)."""
    training = pytest.importorskip("mnistlab.training")  # imports TensorFlow
    from mnistlab import attacks, inference
    from mnistlab.data import load_mnist

    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(pretrained.ENV, raising=False)
    found = training.from_shipped(DEFAULTS[name], progress=False, warn=lambda line: None)
    if found is None:  # never train here: tests/test_pretrained.py says why the shipped weights do not load
        pytest.skip(f"no usable shipped weights for the {name} CNN")
    _, (x_test, y_test) = load_mnist()
    images, labels = x_test[:100].astype("float32") / 255, y_test[:100]
    read = inference.predictor(found.model)
    flipped = np.isfinite(attacks.smallest_steps(found.model, images, labels))
    changed = attacks.iterated(found.model, images, labels, 0.1)
    assert (~flipped).sum() == pytest.approx(unflipped, abs=1)
    assert (read(changed).argmax(axis=1) != labels).sum() == pytest.approx(iterated, abs=2)


def _benchmarks_md() -> str:
    """BENCHMARKS.md's text."""
    from pathlib import Path

    return (Path(__file__).resolve().parents[1] / "BENCHMARKS.md").read_text(encoding="utf-8")


def _robust_rows() -> dict[str, dict[str, str]]:
    """BENCHMARKS.md's robustness table, its robust rows ("robust, seed 42", ..., "robust, mean"): column -> cell."""
    text = _benchmarks_md()
    header = next(line.split("|") for line in text.splitlines() if line.startswith("| model | unchanged %"))
    columns = [cell.strip() for cell in header]
    rows = [[cell.strip() for cell in line.split("|")] for line in text.splitlines() if line.startswith("| robust, ")]
    return {row[1]: dict(zip(columns, row, strict=True)) for row in rows}


def test_the_seeds_range_of_unflipped_digits_is_benchmarks_md_s():
    """Notebook 08 quotes the range, over the robust recipe's three seeds, of the 100 digits no single step flips."""
    counts = [int(row["not flipped"]) for name, row in _robust_rows().items() if name.startswith("robust, seed ")]
    assert len(counts) == 3
    said(f"{min(counts)} to {max(counts)} over the three seeds of BENCHMARKS.md",
         f"({min(counts)} to {max(counts)} over three seeds)")


def test_the_robust_recipe_s_three_seeds_are_benchmarks_md_s():
    """Notebook 08 quotes the robust recipe's test-digit means over three seeds, the range of its printed digits'
    scores, and the targets each meets or misses, as BENCHMARKS.md (benchmarks/bench_robustness.py) has them."""
    rows = _robust_rows()
    seeds = [rows[f"robust, seed {seed}"] for seed in (42, 43, 44)]
    mean = {column: float(cell) for column, cell in rows["robust, mean"].items() if column.endswith(" %")}
    diagonal, turned, thicker = (mean[c] for c in ("shift 4 diagonal %", "rotate 20 %", "thicker 2 %"))
    printed, unchanged = mean["printed %"], mean["unchanged %"]
    lowest = min(float(row["unchanged %"]) for row in seeds)
    low, high = (f(float(row["printed %"]) for row in seeds) for f in (min, max))
    assert mean["shift 4 right %"] >= 98.5 and diagonal >= 98.5 and turned >= 98.5 and printed >= 99.5  # "they meet"
    assert mean["blur 1.5 %"] >= 97 and mean["noise 0.3 %"] >= 97 and mean["ECE after T %"] <= 0.5
    assert thicker >= 98 and thicker - 98 < turned - 98.5  # "thicker strokes (...), the thinnest margin"
    assert unchanged < 99.6 and lowest < 99.5  # "They miss those for the unchanged digits"
    said(f"diagonally ({mean['shift 4 right %']:.2f}% and {diagonal:.2f}% against 98.5%)",
         f"turns ({turned:.2f}% against 98.5%)", f"thicker strokes ({thicker:.2f}% against 98%, the thinnest margin)",
         f"printed digits ({printed:.2f}% against 99.5%", f"from {low:.2f}% to {high:.2f}%",
         f"unchanged digits ({unchanged:.2f}% against 99.6%, and {lowest:.2f}% for the lowest seed against 99.5%)",
         f"misses those for the unchanged digits ({unchanged:.2f}% against 99.6%)")


def test_the_earlier_robust_recipes_test_scores_are_the_history_s(monkeypatch):
    """Notebook 08 and the docs quote what the recipes before this one scored on the test digits, from
    benchmarks/robustness_history.csv: the fifth round's choice (without Recentre) and the seventh's (without the
    closing epochs' thickening); its last row is this recipe's, as BENCHMARKS.md has it, and the only one to meet
    the thicker strokes' target ("took three recipes"), about 0.3 points below its validation score as before."""
    pd = pytest.importorskip("pandas")
    search = _search_module(monkeypatch)
    history = pd.read_csv(search.RESULTS.with_name("robustness_history.csv"))
    assert list(history["builder"]) == ["sturdy_cnn", "centred_cnn", RECIPES["robust"].build]
    assert history["recipe"].iloc[-1] == RECIPES["robust"].description
    mean = _robust_rows()["robust, mean"]
    for column in ("unchanged %", "shift 4 right %", "shift 4 diagonal %", "rotate 20 %", "blur 1.5 %", "noise 0.3 %",
                   "thicker 2 %", "printed %", "ECE after T %"):
        assert history[column].iloc[-1] == pytest.approx(float(mean[column])), column
    fifth, seventh, tenth = (history.iloc[k] for k in range(3))
    diagonal, thicker, printed = fifth["shift 4 diagonal %"], fifth["thicker 2 %"], fifth["printed %"]
    assert diagonal < 98.5 and thicker < 98 and printed < 99.5  # "each short of its target"
    told(f"{diagonal:.2f}% of the digits shifted diagonally and {thicker:.2f}% of those with thicker strokes, each "
         f"short of its target (98.5% and 98%) on digits it had not been chosen on, and {printed:.2f}% of the printed "
         f"digits (99.5%)", f"{diagonal:.2f}% and {thicker:.2f}% on the test digits",
         f"and {printed:.2f}% over the three the test bench trained")
    said(f"{diagonal:.2f}% and {thicker:.2f}% here", f"and {printed:.2f}% over the three the test bench trained")
    assert seventh["thicker 2 %"] < 98 <= tenth["thicker 2 %"]
    assert seventh["unchanged %"] < 99.6 and seventh["shift 4 diagonal %"] >= 98.5 and seventh["printed %"] >= 99.5
    told(f"missed the target for thicker strokes by {98 - seventh['thicker 2 %']:.2f} points "
         f"({seventh['thicker 2 %']:.2f}% against 98%) and those for the unchanged digits "
         f"({seventh['unchanged %']:.2f}% against 99.6%)")
    said(f"and {seventh['thicker 2 %']:.2f}% of the test digits", f"On the test digits, over the three seeds above, "
         f"it reads {tenth['thicker 2 %']:.2f}% of those with thicker strokes")
    tenth_round = pd.read_csv(search.RESULTS.with_name("robust_search_tenth.csv"))
    assert round(tenth_round["thicker 2 %"].mean() - tenth["thicker 2 %"], 1) == 0.3
    assert tenth["rotate 20 %"] >= 98.5 and tenth["printed %"] >= 99.5 and tenth["unchanged %"] < 99.6
    told(f"{tenth['thicker 2 %']:.2f}% of the digits with thicker strokes (the target 98%, the thinnest margin; again "
         f"about 0.3 points fewer than on the validation digits), {tenth['rotate 20 %']:.2f}% of the turned (98.5%), "
         f"{tenth['shift 4 diagonal %']:.2f}% of those shifted diagonally, {tenth['printed %']:.2f}% of the printed "
         f"digits, an ECE of {tenth['ECE after T %']:.2f}%. It missed the unchanged digits' targets, "
         f"{tenth['unchanged %']:.2f}% of the unchanged digits (99.6%; the lowest seed "
         f"{tenth['unchanged, lowest seed %']:.2f}%, against 99.5%)")
    assert len(history) == 3
    told("the test digits have scored three robust recipes")


@pytest.mark.tensorflow
def test_what_prepare_digit_gives_back_to_the_best_cnn_is_as_notebook_08_says(tmp_path, monkeypatch):
    """"Why the best CNN breaks": of the first 1,000 test digits, blurred by 1.5 pixels or noised by 0.3, each
    prepared as `mnistlab predict` prepares a photo (photo.prepare_digits; a refused one counts as wrong), the
    shipped best CNN reads most of the blurred and few of the noisy; the text quotes the counts and percentages."""
    training = pytest.importorskip("mnistlab.training")  # imports TensorFlow
    from mnistlab import transforms
    from mnistlab.data import load_mnist
    from mnistlab.forward import forward
    from mnistlab.photo import prepare_digits
    from mnistlab.preprocess import model_input

    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(pretrained.ENV, raising=False)
    found = training.from_shipped(DEFAULTS["best"], progress=False, warn=lambda line: None)
    if found is None:  # never train here: tests/test_pretrained.py says why the shipped weights do not load
        pytest.skip("no usable shipped weights for the best CNN")
    _, (x_test, y_test) = load_mnist()
    n = 1000
    quoted = {"unchanged": ("blur", 0, 99.3, 2), "blurred": ("blur", 1.5, 92.8, 0), "noisy": ("noise", 0.3, 16.2, 16)}
    for change, (name, strength, accuracy, refusals) in quoted.items():
        changed = transforms.transformed(x_test[:n], name, strength)
        prepared, refused = prepare_digits(changed)
        as_is = forward(found.model, model_input(changed)).argmax(axis=1) == y_test[:n]
        right = (forward(found.model, model_input(prepared)).argmax(axis=1) == y_test[:n]) & ~refused
        assert refused.sum() == refusals, change
        assert 100 * right.mean() == pytest.approx(accuracy, abs=0.3), change
        if strength:
            assert right.mean() > as_is.mean(), change  # it gives some back
    said("Through it, the best CNN reads 92.8% of the blurred digits",
         "16.2% of the noisy digits read right, and 16 of the 1,000 refused outright",
         "Of the unchanged digits it refuses 2, and the network reads 99.3%")


def test_the_robust_recipes_training_time_and_each_seeds_misses_are_benchmarks_md_s():
    """Notebook 08 says the robust recipe misses the training time the course aimed at (about twice the issue's
    90 s, with 13.59 TFLOP; the best CNN misses it too, by less), that the best CNN trained on about 1.3 times as
    many digits a second (bench_cnn's images/s, one run), that a fifth of the robust CNN's layers' time goes to the
    photo changes and that group normalisation takes about twice what batch normalisation does; and which seeds alone
    miss which targets, as BENCHMARKS.md has them."""
    import re

    text = _benchmarks_md()
    found = re.search(r"robust \(the default; [^)]*\): training time \d+ s here, about (\d+) s on the targets' machine "
                      r"<= (\d+) s: NOT met", text)
    assert found, "BENCHMARKS.md: no missed training time for the robust CNN"
    assert 1.75 <= int(found[1]) / int(found[2]) < 2.25  # "about twice as long to train as the course aimed for"
    best = re.search(r"best \(the seed the course ships, 42\): training time \d+ s here, about (\d+) s on the targets' "
                     r"machine <= (\d+) s: NOT met", text)
    assert best and int(found[2]) < int(best[1]) < int(found[1])  # "misses that aim too, by less"
    rate = {row[1]: float(row[6].replace(",", "")) for row in
            ([c.strip() for c in line.split("|")] for line in text.splitlines())
            if len(row) > 7 and row[1] in ("best", "robust") and row[2].replace(",", "").isdigit()}
    assert round(rate["best"] / rate["robust"], 1) == 1.3  # "about 1.3 times as many digits a second", one run

    def layers(model: str) -> dict[str, float]:
        part = text.split(f"One epoch of the {model} model", 1)[1].split("| all layers |", 1)[0]
        return {m[1]: float(m[2]) for m in re.finditer(r"^\| (\w+) \(\w+\) \| ([\d.]+) \|", part, re.MULTILINE)}

    robust, best = layers("robust"), layers("best")
    assert 0.17 <= robust["photo_changes"] / sum(robust.values()) < 0.25  # "a fifth of its layers' time"
    group = sum(ms for name, ms in robust.items() if name.startswith("gn"))
    batch = sum(ms for name, ms in best.items() if name.startswith("bn"))
    assert 1.6 <= group / batch < 2.4  # "about twice the time of batch normalisation"
    rows = _robust_rows()
    assert "robust, seed 42 (the one the course ships) misses: unchanged; thicker 2" in text
    assert "robust, seed 43 misses: unchanged\n" in text and "robust, seed 44 misses: unchanged; rotate 20" in text
    tflop = float(rows["robust, mean"]["training TFLOP"])
    told(f"about {found[1]} s on the targets' machine against about {found[2]} s",
         "the best CNN trained on about 1.3 times as many digits a second",
         f"its arithmetic ({tflop:.2f} TFLOP, within the 14 allowed)")
    said("the recipe takes about twice as long to train as the course aimed for",
         "the best CNN trained on about 1.3 times as many digits a second",
         f"training arithmetic ({tflop:.2f} TFLOP, where the course allowed 14)",
         f"with thicker strokes ({float(rows['robust, seed 42']['thicker 2 %']):.2f}%)",
         f"fewer than 98.5% of the turned ones ({float(rows['robust, seed 44']['rotate 20 %']):.2f}%)")
