"""The ``mnistlab`` command: ``data``, ``copy``, ``course``, ``site``, ``baselines``, ``train``, ``evaluate``,
``predict``, ``robustness``, ``progress`` and ``grade``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mnistlab.errors import MnistlabError

__all__ = ["main"]


def _data(args: argparse.Namespace) -> int:
    from mnistlab.data import BUNDLED_DIR, verify_bundled

    print("MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 uint8, labels 0-9.")
    print("Made by Y. LeCun, C. Cortes and C.J.C. Burges; licence CC BY-SA 3.0.")
    print(f"Bundled with the course (nothing is downloaded): {BUNDLED_DIR}")
    print(f"Provenance and licence: {BUNDLED_DIR / 'README.md'}\n")
    checks = verify_bundled()
    print(f"{'file':28s} {'gzip bytes':>11s}  {'MD5 (uncompressed)':32s}  status")
    for c in checks:
        status = "verified" if c.ok else f"MISMATCH, expected {c.expected_md5}"
        print(f"{c.name + '.gz':28s} {c.compressed_bytes:11,d}  {c.actual_md5}  {status}")
    bad = [c for c in checks if not c.ok]
    print(f"\n{len(checks) - len(bad)} of {len(checks)} files match the official checksums.")
    return 1 if bad else 0


def _course(args: argparse.Namespace) -> int:
    from mnistlab.course import run_course

    if args.timeout < 1:
        raise MnistlabError(f"--timeout: expected at least 1 second a cell; got {args.timeout}")
    if not args.in_place and args.build.exists() and not args.build.is_dir():
        raise MnistlabError(f"--build: {args.build} is a file; expected a folder for the executed copies")
    build = None if args.in_place else args.build
    if args.solutions and args.in_place:
        raise MnistlabError("--solutions with --in-place would write the solutions into your notebooks; "
                            "drop --in-place (the solved copies go to --build)")
    results = run_course(args.notebooks, build, select=args.only or None, timeout=args.timeout,
                         html=not args.no_html, fail_fast=args.fail_fast, progress=not args.no_progress,
                         solutions=args.solutions)
    return 0 if all(r.ok for r in results) else 1


def _copy(args: argparse.Namespace) -> int:
    from mnistlab.course import copy_course

    copies = copy_course(args.notebooks, args.folder)
    for c in copies:
        print(f"{'wrote' if c.written else 'kept '} {c.path}" + ("" if c.written else "  (already there: yours, "
                                                                "left as it is; delete it for a fresh copy)"))
    written = sum(c.written for c in copies)
    kept = f", {len(copies) - written} kept as they were" if written < len(copies) else ""
    print(f"{written} notebooks copied into {args.folder} with their outputs cleared{kept}; "
          f"open them with: jupyter lab {args.folder}")
    return 0


def _site(args: argparse.Namespace) -> int:
    from mnistlab.site import build_site

    built = build_site(args.notebooks, args.out)
    for warning in built.warnings:  # a link that goes nowhere, a figure that cannot be read: the site is built
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _progress(args: argparse.Namespace) -> int:
    from mnistlab.exercises import progress

    progress()
    return 0


def _grade(args: argparse.Namespace) -> int:
    from mnistlab import grading

    if not args.time_limit > 0:
        raise MnistlabError(f"--time-limit: expected seconds above 0; got {args.time_limit:g}")
    if args.out.exists() and not args.overwrite:
        raise MnistlabError(f"--out: {args.out} exists; pass --overwrite to replace it, or name another file")
    if args.out.is_dir():
        raise MnistlabError(f"--out: {args.out} is a folder; expected a CSV file name")
    paths = grading.find_submissions(args.paths)
    grading.check_writable(args.out)
    grades = grading.grade_notebooks(paths, time_limit=args.time_limit, progress=not args.no_progress)
    keys = grading.write_grades(grades, args.out)
    for line in grading.summary(grades, keys):
        print(line)
    print(f"grades written to {args.out}")
    return 0


def _baselines(args: argparse.Namespace) -> int:
    from mnistlab import baselines
    from mnistlab.runtime import configure

    if not 1 <= args.train_size <= 60_000:
        raise MnistlabError(f"--train-size: expected a whole number from 1 to 60,000; got {args.train_size}")
    if not 0 <= args.seed <= 2**32 - 1:
        raise MnistlabError(f"--seed: expected a whole number from 0 to {2**32 - 1:,}; got {args.seed}")
    models = {**baselines.report_models(seed=args.seed), **(baselines.pca_models(seed=args.seed) if args.pca else {})}
    if args.models:
        unknown = [m for m in args.models if m not in models]
        if unknown:
            raise MnistlabError(f"--models: unknown {unknown}; expected some of {list(models)}")
        models = {name: models[name] for name in args.models}
    configure(seed=args.seed, plots=False)
    from mnistlab.data import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()
    n = args.train_size
    print(f"Fitting {len(models)} model(s) on the first {n:,} training digits, scoring on the {len(x_test):,} "
          "test digits (pixels / 255).")
    table = baselines.compare(models, x_train[:n], y_train[:n], x_test, y_test, progress=not args.no_progress)
    reference = baselines.REPORT_ACCURACY if n == baselines.REPORT_TRAIN_SIZE else None
    print(baselines.display_table(table, reference).to_string())
    return 0


def _config(args: argparse.Namespace):
    """The training config the options ask for; a :class:`ConfigError` (before TensorFlow loads) if one is bad."""
    import dataclasses

    from mnistlab.recipes import DEFAULTS, TrainConfig

    base = DEFAULTS.get(args.model) or TrainConfig(model=args.model)  # an unknown model raises here
    changes = {k: v for k, v in (("train_size", args.train_size), ("epochs", args.epochs),
                                 ("batch_size", args.batch_size), ("seed", args.seed)) if v is not None}
    return dataclasses.replace(base, **changes)


def _load_or_train(args: argparse.Namespace, **kwargs):
    """Check the options, configure TensorFlow, then the cached (or newly trained) model they ask for."""
    config = _config(args)
    from mnistlab.runtime import configure

    configure(seed=config.seed, tensorflow=True, plots=False)
    from mnistlab.training import load_or_train

    return load_or_train(config, **kwargs)


def _train(args: argparse.Namespace) -> int:
    trained = _load_or_train(args, retrain=args.retrain)
    print(f"{trained.config.model}: {100 * trained.test_accuracy:.2f}% on the 10,000 test digits; "
          f"{trained.model.count_params():,} parameters; trained in {trained.train_seconds:.0f} s; {trained.path}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    trained = _load_or_train(args)
    from mnistlab import evaluation

    result = evaluation.evaluate_model(trained.model)
    print(f"\n{trained.config.model}: {100 * result.accuracy:.2f}% test accuracy ({result.errors} of 10,000 wrong); "
          f"trained in {trained.train_seconds:.0f} s\n")
    print(result.per_digit_scores)
    print("most confused pairs (true -> predicted: count):")
    print(result.confused_pairs(5).to_string(index=False))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from mnistlab.photo import DigitImageError, prepare_digit

    _config(args)  # bad options are said before any image is read
    digits, status = {}, 0
    for path in args.images:  # every image read before TensorFlow loads: its problems are said at once
        try:
            digits[path] = prepare_digit(path)
        except DigitImageError as exc:  # this image only: the others are still predicted
            print(f"cannot read a digit: {exc}", file=sys.stderr)
            status = 1
    if not digits:
        return status
    trained = _load_or_train(args, progress=not args.quiet, print_fn=lambda s: print(s, file=sys.stderr))
    if not args.quiet:
        print(f"{trained.config.model} model: {100 * trained.test_accuracy:.2f}% test accuracy, trained in "
              f"{trained.train_seconds:.0f} s", file=sys.stderr)
    import numpy as np

    from mnistlab.inference import predict

    for path, probabilities in zip(digits, predict(trained.model, np.stack(list(digits.values()))), strict=True):
        best = int(probabilities.argmax())
        ranked = ", ".join(f"{d}: {100 * probabilities[d]:.1f}%" for d in probabilities.argsort()[::-1][:3])
        print(f"{path}: {best} ({ranked})")
    return status


def _robustness(args: argparse.Namespace) -> int:
    from mnistlab.recipes import ConfigError

    _config(args)  # bad model options are said before the digits'
    if not 1 <= args.digits <= 10_000:
        raise ConfigError(f"digits (--digits): expected a whole number from 1 to 10,000; got {args.digits}")
    trained = _load_or_train(args, progress=not args.quiet, print_fn=lambda s: print(s, file=sys.stderr))
    from mnistlab import robustness
    from mnistlab.data import load_mnist
    from mnistlab.fonts import printed_digits
    from mnistlab.inference import predictor

    _, (x_test, y_test) = load_mnist()
    predict = predictor(trained.model)
    result = robustness.sweep(predict, x_test[:args.digits], y_test[:args.digits])
    print(f"{trained.config.model}: {100 * trained.test_accuracy:.2f}% on the 10,000 test digits; trained in "
          f"{trained.train_seconds:.0f} s\n")
    print(f"accuracy (%) on the first {args.digits:,} test digits, changed by each transform at each strength:")
    for name, part in result.table.groupby("transform", sort=False):
        cells = "  ".join(f"{s:g}: {100 * a:5.1f}" for s, a in zip(part["strength"], part["accuracy"], strict=True))
        print(f"  {name} ({part['unit'].iloc[0]})\n      {cells}")
    scores = robustness.headline(predict, x_test, y_test)
    print("\non all 10,000 test digits: " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in scores.items()))
    images, labels, info = printed_digits()
    printed = robustness.accuracy_under(predict, images, labels)
    print(f"printed digits ({info['font'].nunique()} fonts of matplotlib, sizes and angles: {len(labels):,} digits): "
          f"{100 * printed:.2f}%")
    return 0


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    from mnistlab.recipes import DEFAULT_MODEL, DEFAULTS, RECIPES

    models = "; ".join(f"{name}: {recipe.description}" for name, recipe in RECIPES.items())
    def each(field: str) -> str:
        return ", ".join(f"{getattr(config, field)} for {name}" for name, config in DEFAULTS.items())

    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME",
                        help=f"{models} (default: {DEFAULT_MODEL})")
    parser.add_argument("--train-size", type=int, help=f"first N training digits (default: {each('train_size')})")
    parser.add_argument("--epochs", type=int, help=f"epochs (default: {each('epochs')})")
    parser.add_argument("--batch-size", type=int, help=f"batch size (default: {each('batch_size')})")
    parser.add_argument("--seed", type=int, help="random seed of the weights and the data order (default: 42)")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of the command."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mnistlab`` command."""
    parser = _Parser(prog="mnistlab", description="A course on convolutional networks with MNIST.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="what the bundled data is, where it comes from, and its checksums")
    data.set_defaults(func=_data)

    copy = sub.add_parser("copy", help="your own copy of the notebooks to work in, outputs cleared so that no "
                          "exercise is answered before you meet it (notebooks already there are kept)")
    copy.add_argument("folder", type=Path, nargs="?", default=Path("my-course"), metavar="FOLDER",
                      help="where the copy goes (default: my-course)")
    copy.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                      help="the course's folder of notebooks (default: notebooks)")
    copy.set_defaults(func=_copy)

    course = sub.add_parser("course", help="execute every notebook in order, each in a fresh kernel")
    course.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                        help="folder of notebooks (default: notebooks)")
    course.add_argument("--build", type=Path, default=Path("build/course"),
                        help="where executed copies and HTML go: a new or empty folder, or an "
                        "earlier build, whose copies are replaced (default: build/course)")
    course.add_argument("--in-place", action="store_true", help="overwrite the source notebooks with their outputs")
    course.add_argument("--only", action="append", metavar="TEXT", help="run only notebooks whose name contains TEXT")
    course.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default: 1800)")
    course.add_argument("--no-html", action="store_true", help="skip the HTML copies")
    course.add_argument("--fail-fast", action="store_true", help="stop at the first failing notebook")
    course.add_argument("--no-progress", action="store_true", help="no progress bar")
    course.add_argument("--solutions", action="store_true", help="fill every exercise with its solution and fail "
                        "unless every check passes (copies in --build; your notebooks are not touched)")
    course.set_defaults(func=_course)

    site = sub.add_parser("site", help="build the course's website from the notebooks' stored outputs (offline; "
                          "nothing is run): a front page, a page per notebook, search, setup, teachers, developers")
    site.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder of notebooks; README.md and "
                      "docs/ are read from the folder above it (default: notebooks)")
    site.add_argument("--out", type=Path, default=Path("build/site"), help="where the site goes, replacing an earlier "
                      "one (default: build/site; open index.html)")
    site.set_defaults(func=_site)

    prog = sub.add_parser("progress", help="which exercises you have solved, notebook by notebook")
    prog.set_defaults(func=_progress)

    grade = sub.add_parser("grade", help="run a class's notebooks, each in a fresh kernel, and write one row of "
                           "exercise scores per notebook")
    grade.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_FOLDER",
                       help="submitted notebooks, or folders of them (searched recursively)")
    grade.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write (default: grades.csv)")
    grade.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    grade.add_argument("--time-limit", type=float, default=600, help="seconds each notebook may run (default: 600)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.set_defaults(func=_grade)

    base = sub.add_parser("baselines", help="fit the report's classical models and print their table")
    base.add_argument("--train-size", type=int, default=20_000, help="first N training digits (default: 20000, "
                      "the report's protocol)")
    base.add_argument("--models", nargs="+", metavar="NAME", help="only these models (names as in the table, "
                      "quoted: 'kNN (k=3)')")
    base.add_argument("--pca", action="store_true", help="add PCA(50) + SVM and PCA(50) + kNN")
    base.add_argument("--seed", type=int, default=42)
    base.add_argument("--no-progress", action="store_true", help="no progress bar")
    base.set_defaults(func=_baselines)

    train = sub.add_parser("train", help="train a CNN (or load it from the cache) and print its test accuracy")
    _add_model_options(train)
    train.add_argument("--retrain", action="store_true", help="train again even when the cache has the model")
    train.set_defaults(func=_train)

    evaluate = sub.add_parser("evaluate", help="a trained CNN's accuracy, per-digit report and confused pairs")
    _add_model_options(evaluate)
    evaluate.set_defaults(func=_evaluate)

    predict = sub.add_parser("predict", help="read your own digit images (PNG or JPEG) and predict each")
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    _add_model_options(predict)
    predict.add_argument("--quiet", action="store_true", help="no message about loading or training the model")
    predict.set_defaults(func=_predict)

    robust = sub.add_parser("robustness", help="a CNN's accuracy on shifted, turned, scaled, thickened, noisy, "
                            "blurred, inverted and printed digits")
    _add_model_options(robust)
    robust.add_argument("--digits", type=int, default=2000, help="test digits per transform and strength "
                        "(default: 2000; the headline changes always use all 10,000)")
    robust.add_argument("--quiet", action="store_true", help="no message about loading or training the model")
    robust.set_defaults(func=_robustness)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnistlab`` console command: exit status 0 (done), 1 (some inputs failed),
    2 (bad options or input, said in one line on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        from mnistlab.runtime import default_threads

        default_threads()  # a bad $MNISTLAB_THREADS is said before any work starts
        return args.func(args)
    except MnistlabError as exc:
        print(f"mnistlab {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
