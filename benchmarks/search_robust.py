#!/usr/bin/env python3
"""The search for a course model that reads a real person's digits, scored on validation digits, never on test digits.

Each candidate trains on the first 50,000 training digits and is scored on the last 10,000, the validation digits,
which it never trains on: as they are, shifted 4 pixels right and diagonally, turned 20 degrees, blurred by a
Gaussian of 1.5 pixels, with Gaussian noise of 0.3, with strokes 2 pixels thicker; on the digits printed in
matplotlib's fonts (the same 1,260 that ``bench_robustness.py`` scores: there is no second set, so the chosen
recipe's printed score there is not on unseen digits); and its expected calibration error after a temperature
fitted on the first half of the validation digits, measured on the second half. The test digits are not read here:
the recipe chosen is scored on them once, by ``bench_robustness.py``. Every run is appended to
``benchmarks/robust_search.csv`` with the date and the machine (its CPU and matrix-multiply peak), and the whole
table is printed with each candidate's mean over its seeds (``--out`` writes and reads another table).
``robust_search.csv`` holds the five rounds that chose the first robust recipe, ``robust_search_next.csv``
(``--out``) the sixth and seventh, which chose the one the course ships; candidates tried after that choice go to
``robust_search_eighth.csv`` (the eighth round: none shipped), ``robust_search_ninth.csv`` (the ninth: thinned
digits too, milder blur, or one closing epoch; none shipped) and ``robust_search_tenth.csv`` (the tenth: closing
epochs that keep the thickening; shipped). docs/robust_search.md tells them all.

Usage: python benchmarks/search_robust.py CANDIDATE [CANDIDATE ...] [--seeds 42 43 44] [--out TABLE]
       python benchmarks/search_robust.py --list
       python benchmarks/search_robust.py            (the table so far)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().with_name("robust_search.csv")
TRAIN_DIGITS = 50_000


def candidates() -> dict[str, tuple]:
    """Each candidate: what it is, its recipe's builder and the builder's arguments (with the recipe's
    ``clean_epochs``, its last epochs on unchanged digits, ``clean_thicken``, the share of digits still thickened in
    those, ``ema_momentum``, its moving average of the weights, and
    ``label_smoothing``, and the config's ``batch_size``, 128 unless given), and its epochs. All share the best
    recipe's optimiser and schedule, all but the ``w`` ones its convolutions, all but the ``b64`` one its batches of
    128 and all but the ``ls0`` ones its label smoothing; they differ in what training shows them, the ``gn`` ones
    in their normalisation (group normalisation of 1 or 8 groups in place of batch normalisation), the ``d`` ones in
    their dropout (0.1 or none, not 0.25), the ``a`` ones in keeping a moving average of the weights, the ``ls0``
    ones in their targets (one-hot, not smoothed), the ``w`` ones in the width of their last convolution (384 or 512
    filters, not 256), the ``b64`` ones in their batches (64 digits), the ``t04``, ``t03`` and ``t015`` ones in how
    often their digits are thickened (probability 0.4, 0.3 or 0.15, the other changes' 0.2), the ``rc`` ones in
    moving every digit to MNIST's centre of mass before their first convolution (``models.centred_cnn``; ``rc1``:
    before the layers that change digits), the ``sh`` one in slanting its training digits and the ``tp3`` and
    ``te2`` ones in how they thicken strokes (by 1 to 3 steps of the plus-shaped neighbourhood
    ``transforms.thickness`` uses, or by 1 or 2 steps of either that or a 3x3 square, not 1 or 2 of a 3x3 square),
    the ``th02`` one in also thinning as many other digits (probability 0.2) by one step of that neighbourhood, the
    ``b15`` one in blurring by Gaussians of up to 1.5 pixels, not 2, and the ``ct02`` one in still thickening a share
    of its digits (probability 0.2) in its closing epochs."""
    best = {"widths": (32, 64, 256), "kernel_size": 3, "pools": (True, True, False), "dropout": 0.25}
    # the second round's choice (its later candidates are its neighbours), the third's (no dropout), the start of
    # the fourth (the third's choice on one-hot targets) and the fourth's choice, where the fifth starts
    second = {**best, "shift": 0.18, "rotation": 0.05, "groups": 8, "p": 0.2, "noise": 0.5, "clean_epochs": 2}
    third = {**second, "dropout": 0.0}
    fourth = {**third, "label_smoothing": 0.0}
    fifth = {**fourth, "shift": 0.19, "rotation": 0.06}
    sixth = {**fifth, "thicken": 0.4}
    return {
        "best": ("the best recipe as it is: shifts up to 0.13, no turns", "course_cnn",
                 {**best, "shift": 0.13, "rotation": 0.0}, 10),
        "photo-s16-r05": ("shifts up to 0.16, turns up to 0.05 (18 degrees); thickened, blurred, dimmed and noised "
                          "digits (each with probability 0.5)", "sturdy_cnn",
                          {**best, "shift": 0.16, "rotation": 0.05}, 10),
        "photo-s20-r07": ("shifts up to 0.2, turns up to 0.07 (25 degrees); thickened, blurred, dimmed and noised "
                          "digits (each with probability 0.5)", "sturdy_cnn",
                          {**best, "shift": 0.2, "rotation": 0.07}, 10),
        "photo-s16-r05-p03": ("shifts up to 0.16, turns up to 0.05; thickened, blurred, dimmed and noised digits "
                              "(each with probability 0.3)", "sturdy_cnn",
                              {**best, "shift": 0.16, "rotation": 0.05, "p": 0.3}, 10),
        "photo-s18-r07-p03": ("shifts up to 0.18, turns up to 0.07 (25 degrees); thickened, blurred, dimmed and "
                              "noised digits (each with probability 0.3)", "sturdy_cnn",
                              {**best, "shift": 0.18, "rotation": 0.07, "p": 0.3}, 10),
        # 12 epochs of 50,000 digits are 600,000 digits seen: the arithmetic of 10 epochs of 60,000.
        "photo-s20-r07-p03-e12": ("shifts up to 0.2, turns up to 0.07; thickened, blurred, dimmed and noised digits "
                                  "(each with probability 0.3), 12 epochs", "sturdy_cnn",
                                  {**best, "shift": 0.2, "rotation": 0.07, "p": 0.3}, 12),
        "photo-s20-r07-p03-n05-e12": ("as photo-s20-r07-p03-e12, with noise up to 0.5 (not 0.4)", "sturdy_cnn",
                                      {**best, "shift": 0.2, "rotation": 0.07, "p": 0.3, "noise": 0.5}, 12),
        "photo-s20-r07-p02-n05-e12": ("as photo-s20-r07-p03-n05-e12, each change with probability 0.2", "sturdy_cnn",
                                      {**best, "shift": 0.2, "rotation": 0.07, "p": 0.2, "noise": 0.5}, 12),
        "photo-s22-r07-p03-n05-e12": ("as photo-s20-r07-p03-n05-e12, shifted up to 0.22 (6.2 pixels)", "sturdy_cnn",
                                      {**best, "shift": 0.22, "rotation": 0.07, "p": 0.3, "noise": 0.5}, 12),
        "photo-s20-r07-p03-n05-nodim-e12": ("as photo-s20-r07-p03-n05-e12, not dimmed", "sturdy_cnn",
                                            {**best, "shift": 0.2, "rotation": 0.07, "p": 0.3, "noise": 0.5,
                                             "dim": 1.0}, 12),
        "gn1-best": ("the best recipe with group normalisation (one group) in place of batch normalisation",
                     "course_cnn", {**best, "shift": 0.13, "rotation": 0.0, "groups": 1}, 10),
        "gn8-best": ("the best recipe with group normalisation (eight groups) in place of batch normalisation",
                     "course_cnn", {**best, "shift": 0.13, "rotation": 0.0, "groups": 8}, 10),
        "gn8-s20-r07-e12": ("gn8-best shifted up to 0.2 and turned up to 0.07 (25 degrees), 12 epochs", "course_cnn",
                            {**best, "shift": 0.2, "rotation": 0.07, "groups": 8}, 12),
        "gn8-s20-r07-p02-n05-e12": ("photo-s20-r07-p02-n05-e12 with group normalisation (eight groups)", "sturdy_cnn",
                                    {**best, "shift": 0.2, "rotation": 0.07, "groups": 8, "p": 0.2, "noise": 0.5}, 12),
        "gn8-tn-p03-n05-e12": ("gn8-best with digits thickened and noised (up to 0.5), each with probability 0.3; "
                               "neither blurred nor dimmed; 12 epochs", "sturdy_cnn",
                               {**best, "shift": 0.13, "rotation": 0.0, "groups": 8, "p": 0.3, "noise": 0.5,
                                "blur": 0.0, "dim": 1.0}, 12),
        "gn8-s20-r07-p02-n05-c2-e12": ("gn8-s20-r07-p02-n05-e12, its last 2 epochs on unchanged digits", "sturdy_cnn",
                                       {**second, "shift": 0.2, "rotation": 0.07}, 12),
        "gn8-s15-r03-tn-p02-n05-e12": ("gn8-best shifted up to 0.15 (4.2 pixels), turned up to 0.03 (11 degrees), "
                                       "thickened and noised (up to 0.5) with probability 0.2; 12 epochs", "sturdy_cnn",
                                       {**best, "shift": 0.15, "rotation": 0.03, "groups": 8, "p": 0.2, "noise": 0.5,
                                        "blur": 0.0, "dim": 1.0}, 12),
        "gn8-s15-r03-tn-p02-n05-c2-e12": ("gn8-s15-r03-tn-p02-n05-e12, its last 2 epochs on unchanged digits",
                                          "sturdy_cnn", {**best, "shift": 0.15, "rotation": 0.03, "groups": 8, "p": 0.2,
                                                         "noise": 0.5, "blur": 0.0, "dim": 1.0, "clean_epochs": 2}, 12),
        "gn8-s18-r05-p02-n05-c2-e12": ("gn8-s20-r07-p02-n05-c2-e12 shifted up to 0.18 (5 pixels) and turned up to 0.05 "
                                       "(18 degrees)", "sturdy_cnn", second, 12),
        "gn8-s18-r05-tn-p02-n05-c2-e12": ("gn8-s18-r05-p02-n05-c2-e12 thickened and noised only: neither blurred nor "
                                          "dimmed", "sturdy_cnn", {**second, "blur": 0.0, "dim": 1.0}, 12),
        "gn8-s18-r05-p02-n05-c3-e12": ("gn8-s18-r05-p02-n05-c2-e12, its last 3 epochs on unchanged digits",
                                       "sturdy_cnn", {**second, "clean_epochs": 3}, 12),
        "gn8-s18-r05-p02-n05-c2-d10-e12": ("gn8-s18-r05-p02-n05-c2-e12 (the second round's choice) with dropout 0.1 "
                                           "(not 0.25)", "sturdy_cnn", {**second, "dropout": 0.1}, 12),
        "gn8-s18-r05-p02-n05-c2-d00-e12": ("gn8-s18-r05-p02-n05-c2-e12 (the second round's choice) without dropout",
                                           "sturdy_cnn", {**second, "dropout": 0.0}, 12),
        "gn8-s20-r07-p02-n05-c2-d00-e12": ("gn8-s18-r05-p02-n05-c2-d00-e12 shifted up to 0.2 and turned up to 0.07",
                                           "sturdy_cnn", {**third, "shift": 0.2, "rotation": 0.07}, 12),
        "gn8-s19-r06-p02-n05-c2-d00-e12": ("gn8-s18-r05-p02-n05-c2-d00-e12 shifted up to 0.19 and turned up to 0.06",
                                           "sturdy_cnn", {**third, "shift": 0.19, "rotation": 0.06}, 12),
        "gn8-s18-r05-p03-n05-c2-d00-e12": ("gn8-s18-r05-p02-n05-c2-d00-e12 with each photo change at probability 0.3",
                                           "sturdy_cnn", {**third, "p": 0.3}, 12),
        "gn8-s18-r05-p02-n05-c2-d00-ls0-e12": ("gn8-s18-r05-p02-n05-c2-d00-e12 trained towards one-hot targets (no "
                                               "label smoothing)", "sturdy_cnn", fourth, 12),
        "gn8-s20-r07-p02-n05-c2-d00-ls0-e12": ("gn8-s18-r05-p02-n05-c2-d00-ls0-e12 shifted up to 0.2 and turned up to "
                                               "0.07", "sturdy_cnn", {**fourth, "shift": 0.2, "rotation": 0.07}, 12),
        "gn8-s19-r06-p02-n05-c2-d00-ls0-e12": ("gn8-s18-r05-p02-n05-c2-d00-ls0-e12 shifted up to 0.19 and turned up to "
                                               "0.06", "sturdy_cnn", {**fourth, "shift": 0.19, "rotation": 0.06}, 12),
        "gn8-s18-r05-p02-n05-c2-a999-e12": ("gn8-s18-r05-p02-n05-c2-e12 (the second round's choice), its weights a "
                                            "moving average of the steps' (momentum 0.999)", "sturdy_cnn",
                                            {**second, "ema_momentum": 0.999}, 12),
        "gn8-s18-r05-p02-n05-c2-a998-e12": ("gn8-s18-r05-p02-n05-c2-e12 (the second round's choice), its weights a "
                                            "moving average of the steps' (momentum 0.998)", "sturdy_cnn",
                                            {**second, "ema_momentum": 0.998}, 12),
        "gn8-s20-r07-tn-p03-n05-e12": ("gn8-s20-r07-e12 with digits thickened and noised (up to 0.5), each with "
                                       "probability 0.3; neither blurred nor dimmed", "sturdy_cnn",
                                       {**best, "shift": 0.2, "rotation": 0.07, "groups": 8, "p": 0.3, "noise": 0.5,
                                        "blur": 0.0, "dim": 1.0}, 12),
        # the fifth round: more capacity in the last convolution, paid for with fewer epochs, or more steps
        "gn8-s19-r06-p02-n05-c2-d00-ls0-w384-e10": ("gn8-s19-r06-p02-n05-c2-d00-ls0-e12 with a last convolution of 384 "
                                                    "filters (not 256), 10 epochs", "sturdy_cnn",
                                                    {**fifth, "widths": (32, 64, 384)}, 10),
        "gn8-s19-r06-p02-n05-c2-d00-ls0-w512-e9": ("gn8-s19-r06-p02-n05-c2-d00-ls0-e12 with a last convolution of 512 "
                                                   "filters (not 256), 9 epochs", "sturdy_cnn",
                                                   {**fifth, "widths": (32, 64, 512)}, 9),
        "gn8-s19-r06-p02-n05-c2-d00-ls0-b64-e12": ("gn8-s19-r06-p02-n05-c2-d00-ls0-e12 in batches of 64 digits (not "
                                                   "128): twice the steps, the same arithmetic", "sturdy_cnn",
                                                   {**fifth, "batch_size": 64}, 12),
        # the sixth round: the fifth's choice met every robustness target on the validation digits by margins the
        # test digits took away (thicker 2 by 0.34 points, shift 4 diagonal by 0.16): more thickened digits, shifted
        # and turned further, fewer clean epochs
        "gn8-s19-r06-p02-t04-n05-c2-d00-ls0-e12": ("gn8-s19-r06-p02-n05-c2-d00-ls0-e12 with its digits thickened with "
                                                   "probability 0.4 (not 0.2)", "sturdy_cnn", sixth, 12),
        "gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12": ("gn8-s19-r06-p02-t04-n05-c2-d00-ls0-e12, its last epoch only on "
                                                   "unchanged digits", "sturdy_cnn", {**sixth, "clean_epochs": 1}, 12),
        "gn8-s20-r07-p02-t04-n05-c2-d00-ls0-b64-e12": ("gn8-s19-r06-p02-t04-n05-c2-d00-ls0-e12 shifted up to 0.2 and "
                                                       "turned up to 0.07, in batches of 64 digits", "sturdy_cnn",
                                                       {**sixth, "shift": 0.2, "rotation": 0.07, "batch_size": 64},
                                                       12),
        "gn8-s22-r07-p02-t04-n05-c1-d00-ls0-e12": ("gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 shifted up to 0.22 (6.2 "
                                                   "pixels) and turned up to 0.07 (25 degrees)", "sturdy_cnn",
                                                   {**sixth, "shift": 0.22, "rotation": 0.07, "clean_epochs": 1}, 12),
        "gn8-s19-r06-p02-t04-n05-c1-d00-ls0-b64-e12": ("gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 in batches of 64 digits",
                                                       "sturdy_cnn", {**sixth, "clean_epochs": 1, "batch_size": 64},
                                                       12),
        # the seventh round: every digit moved to MNIST's centre of mass inside the network (models.centred_cnn), so
        # that a shifted digit reaches the convolutions where MNIST's are; the shifts while training still cut digits
        # at the edges, as the shifted validation digits are cut
        "rc-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12": ("gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 with every digit moved "
                                                      "to MNIST's centre of mass before the first convolution",
                                                      "centred_cnn", {**sixth, "clean_epochs": 1}, 12),
        "rc-gn8-s10-r06-p02-t04-n05-c1-d00-ls0-e12": ("rc-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 shifted up to 0.1 "
                                                      "(2.8 pixels) while training", "centred_cnn",
                                                      {**sixth, "clean_epochs": 1, "shift": 0.1}, 12),
        "rc-gn8-s19-r06-sh20-p02-t04-n05-c1-d00-ls0-e12": ("rc-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 with training "
                                                           "digits also slanted by up to 0.2 of their height (11 "
                                                           "degrees), as italic type is", "centred_cnn",
                                                           {**sixth, "clean_epochs": 1, "shear": 0.2}, 12),
        "rc1-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12": ("rc-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 with the digits "
                                                       "moved to the centre of mass before the layers that change "
                                                       "them: shifted while training, centred at prediction",
                                                       "centred_cnn", {**sixth, "clean_epochs": 1,
                                                                       "centre_first": True}, 12),
        "rc1-gn8-s19-r06-p02-t04-n05-c2-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 with its last 2 "
                                                       "epochs on unchanged digits (not 1)", "centred_cnn",
                                                       {**sixth, "centre_first": True}, 12),
        "rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12": ("gn8-s19-r06-p02-n05-c2-d00-ls0-e12 (the fifth round's choice, "
                                                   "the robust recipe shipped then) with the digits moved to the "
                                                   "centre of mass before the layers that change them", "centred_cnn",
                                                   {**fifth, "centre_first": True}, 12),
        "rc1-gn8-s19-r06-p02-t03-n05-c2-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12 (the seventh round's "
                                                       "choice) "
                                                       "with its digits thickened more often (probability 0.3, not "
                                                       "0.2)", "centred_cnn",
                                                       {**fifth, "thicken": 0.3, "centre_first": True}, 12),
        "rc1-gn8-s19-r06-p02-tp3-n05-c2-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12 (the seventh round's "
                                                       "choice) "
                                                       "with its strokes thickened by 1 to 3 steps of a pixel and its "
                                                       "four neighbours (not 1 or 2 of a 3x3 square)", "centred_cnn",
                                                       {**fifth, "thicken_steps": 3, "footprint": "plus",
                                                        "centre_first": True}, 12),
        "rc1-gn8-s19-r06-p02-t015-tp3-n05-c2-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-tp3-n05-c2-d00-ls0-e12 with its "
                                                            "digits thickened less often (probability 0.15, not 0.2)",
                                                            "centred_cnn",
                                                            {**fifth, "thicken": 0.15, "thicken_steps": 3,
                                                             "footprint": "plus", "centre_first": True}, 12),
        "rc1-gn8-s19-r06-p02-te2-n05-c2-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12 (the seventh round's "
                                                       "choice) "
                                                       "with its strokes thickened by 1 or 2 steps of either a 3x3 "
                                                       "square or a pixel and its four neighbours, at random for each "
                                                       "digit", "centred_cnn",
                                                       {**fifth, "footprint": "either", "centre_first": True}, 12),
        # the ninth round: thinner strokes too (stroke widths both ways, as pens vary), milder blur, one closing epoch
        "rc1-gn8-s19-r06-p02-th02-n05-c2-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12 (the seventh round's "
                                                        "choice) "
                                                        "with as many other digits thinned by one step of a pixel and "
                                                        "its four neighbours (probability 0.2)", "centred_cnn",
                                                        {**fifth, "thin": 0.2, "centre_first": True}, 12),
        "rc1-gn8-s19-r06-b15-p02-n05-c2-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12 (the seventh round's "
                                                       "choice) "
                                                       "blurred by Gaussians of up to 1.5 pixels (not 2): in the "
                                                       "first rounds, digits neither blurred nor dimmed read more of "
                                                       "the thicker ones", "centred_cnn",
                                                       {**fifth, "blur": 1.5, "centre_first": True}, 12),
        "rc1-gn8-s19-r06-p02-tp3-n05-c1-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-tp3-n05-c2-d00-ls0-e12 with its last "
                                                       "epoch only on unchanged digits (not 2): with thickening at "
                                                       "0.4, one closing epoch read more printed digits than two",
                                                       "centred_cnn", {**fifth, "thicken_steps": 3, "footprint": "plus",
                                                                       "clean_epochs": 1, "centre_first": True}, 12),
        # the tenth round: the closing epochs keep the thickening (and nothing else that changes digits)
        "rc1-gn8-s19-r06-p02-n05-c2-ct02-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-n05-c2-d00-ls0-e12 (the seventh round's "
                                                        "choice) "
                                                        "with a share of its digits still thickened in its 2 closing "
                                                        "epochs (probability 0.2, as before them), nothing else "
                                                        "changed in those", "centred_cnn",
                                                        {**fifth, "clean_thicken": 0.2, "centre_first": True}, 12),
        "rc1-gn8-s19-r07-p02-t04-n05-c1-d00-ls0-e12": ("rc1-gn8-s19-r06-p02-t04-n05-c1-d00-ls0-e12 turned up to "
                                                       "0.07 of a full turn (25 degrees) while training, not 0.06",
                                                       "centred_cnn", {**sixth, "clean_epochs": 1, "rotation": 0.07,
                                                                       "centre_first": True}, 12),
    }


def _settings(name: str) -> tuple[dict, dict, dict]:
    """A candidate's arguments split three ways: the recipe's own (clean_epochs, ema_momentum...), the training
    config's (batch_size) and the builder's (the rest)."""
    from mnistlab.recipes import Recipe, TrainConfig

    args = candidates()[name][2]
    recipe_fields, config_fields = ({f.name for f in dataclasses.fields(cls)} for cls in (Recipe, TrainConfig))
    recipe = {k: v for k, v in args.items() if k in recipe_fields}
    config = {k: v for k, v in args.items() if k in config_fields}
    return recipe, config, {k: v for k, v in args.items() if k not in recipe and k not in config}


def recipe_of(name: str):
    """A candidate's recipe: the best's, with the candidate's builder and arguments."""
    from mnistlab.recipes import RECIPES

    what, builder, _, _ = candidates()[name]
    training, _, build_args = _settings(name)
    return dataclasses.replace(RECIPES["best"], description=what, build=builder, **training,
                               build_args={**build_args, "name": f"search_{name.replace('-', '_')}"})


def scores(model, x_val: np.ndarray, y_val: np.ndarray) -> dict[str, float]:
    """The candidate's scores on the validation digits (uint8, as loaded), in percent, as they are and under each
    change of ``robustness.HEADLINE``; no test digit is read."""
    from mnistlab import calibration, fonts, inference, robustness

    predict = inference.predictor(model)
    headline = robustness.headline(predict, x_val, y_val)
    found = {"validation %": 100 * headline.pop("unchanged"), **{f"{name} %": 100 * v for name, v in headline.items()}}
    printed, printed_labels, _ = fonts.printed_digits()
    found["printed %"] = 100 * robustness.accuracy_under(predict, printed, printed_labels)
    clean, half = predict(x_val), len(y_val) // 2
    temperature = calibration.fit_temperature(clean[:half], y_val[:half])
    found["ECE after T %"] = 100 * calibration.expected_calibration_error(
        calibration.with_temperature(clean[half:], temperature), y_val[half:])
    return {k: round(v, 2) for k, v in found.items()}


def train_one(name: str, seed: int, machine: str) -> dict:
    """Train one candidate on one seed (the cache is not used; the test digits are not scored) and score it."""
    from bench_cnn import registered

    from mnistlab import architecture, training
    from mnistlab.data import load_mnist
    from mnistlab.recipes import DEFAULTS

    with registered(f"search-{name}", recipe_of(name)):
        config = dataclasses.replace(DEFAULTS["best"], model=f"search-{name}", epochs=candidates()[name][3], seed=seed,
                                     train_size=TRAIN_DIGITS, **_settings(name)[1])
        (x, y), _, _ = training.training_data(config)
        with training.seeded(seed):
            model = training.build(config)
            start = time.perf_counter()
            training.fit(model, config, x, y)
            seconds = time.perf_counter() - start
    (x_train, y_train), _ = load_mnist()
    flops = architecture.forward_flops(model)
    return {"date": datetime.date.today().isoformat(), "machine": machine, "candidate": name, "seed": seed,
            "train digits": TRAIN_DIGITS, "epochs": config.epochs, "parameters": model.count_params(),
            "training TFLOP": round(config.epochs * TRAIN_DIGITS * 3 * flops / 1e12, 2),
            "training s": round(seconds),
            **scores(model, x_train[-10_000:], y_train[-10_000:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidates", nargs="*", metavar="CANDIDATE")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42])
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"the runs' table (default {RESULTS.name})")
    parser.add_argument("--list", action="store_true", help="list the candidates and what each changes")
    args = parser.parse_args()
    known = candidates()
    if args.list:
        for name, (what, _, _, epochs) in known.items():
            print(f"{name:20s} {what} ({epochs} epochs)")
        return 0
    unknown = [name for name in args.candidates if name not in known]
    if unknown:
        parser.error(f"unknown candidate(s) {', '.join(unknown)}; expected some of: {', '.join(known)}")

    import pandas as pd
    from bench_cnn import markdown
    from search_recipes import machine_label, run_and_append
    from timing import matmul_peak_gflops

    import mnistlab

    if args.candidates:
        print(mnistlab.configure(seed=42, tensorflow=True, plots=False))
        machine = machine_label(matmul_peak_gflops())
        print(f"machine: {machine}", flush=True)
        run_and_append(args.candidates, args.seeds, lambda name, seed: train_one(name, seed, machine), args.out)
    if not args.out.exists():
        print(f"no runs yet in {args.out}: name a candidate (--list)")
        return 0
    table = pd.read_csv(args.out)
    print(f"\nEvery run in {args.out.name} (validation digits only):\n\n{markdown(table)}")
    # Accuracy does not depend on a machine's speed: a candidate's seeds are pooled across machines (and the peak
    # each run measured, which the machine label carries); its seconds are each run's own, in the table above.
    averaged = means(table)
    print(f"\nMean over the seeds, per candidate:\n\n{markdown(averaged.drop(columns='seed').reset_index())}")
    ranked = ranking(averaged)
    print("\nThe robustness targets each candidate misses on the validation digits (means over its seeds), the "
          "smallest total shortfall (points below the targets) first, then the fewest missed, then the most unchanged "
          "digits right (a miss by 0.05 points is within a seed's noise, so how far counts before how many):\n\n"
          f"{markdown(ranked)}")
    return 0


def targets() -> tuple[tuple[str, float], ...]:
    """Issue 30's targets as ``bench_robustness.TARGETS`` holds them, but the unchanged digits' (99.6%, which only
    the best recipe itself reached, on one seed): (this table's column, at least). The ECE's is at most
    ``bench_robustness.ECE_TARGET``."""
    from bench_robustness import TARGETS

    return tuple((f"{key} %", needed) for _, key, needed in TARGETS if key != "unchanged")


def means(table):
    """Each candidate's mean over its seeds (rounded to 0.01), with how many seeds it has."""
    averaged = table.groupby("candidate", sort=False).mean(numeric_only=True).round(2)
    averaged.insert(0, "seeds", table.groupby("candidate", sort=False)["seed"].nunique())
    return averaged


def ranking(averaged):
    """Each candidate's missed robustness targets and their total shortfall, best first: the rule of the choice."""
    import pandas as pd
    from bench_robustness import ECE_TARGET

    rows, wanted = [], targets()
    for candidate, row in averaged.iterrows():
        short = {column: needed - row[column] for column, needed in wanted if row[column] < needed}
        if row["ECE after T %"] > ECE_TARGET:
            short["ECE after T %"] = row["ECE after T %"] - ECE_TARGET
        rows.append({"candidate": candidate, "seeds": int(row["seeds"]),
                     "targets missed": len(short), "shortfall (points)": round(sum(short.values()), 2),
                     "validation %": row["validation %"],
                     "missed": ", ".join(f"{c.removesuffix(' %')} by {v:.2f}" for c, v in short.items()) or "none"})
    return pd.DataFrame(rows).sort_values(["shortfall (points)", "targets missed", "validation %"],
                                          ascending=[True, True, False])


if __name__ == "__main__":
    raise SystemExit(main())
