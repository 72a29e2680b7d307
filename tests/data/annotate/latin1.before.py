# -*- coding: latin-1 -*-
"""Réseau: a latin-1 file stays latin-1."""
import torch.nn as nn

net = nn.Sequential(
    # entrée: image (input: 3 x 32 x 32 below)
    # input: 3 x 32 x 32
    nn.Conv2d(3, 8, 3, 2, 1),  # réduit
    nn.ReLU(),
    nn.Conv2d(8, 8, 3, 2, 1),
)
