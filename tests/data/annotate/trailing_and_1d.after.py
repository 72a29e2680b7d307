"""Trailing shape comments count as a group's comment; a 1d stack gets C x L comments."""
import torch.nn as nn

signal = nn.Sequential(
    # input: 1 x 128
    nn.Conv1d(1, 16, 5, stride=2, padding=2),  # -> 16 x 64
    nn.ReLU(),
    nn.Conv1d(16, 32, 5, stride=2, padding=2),
    nn.ReLU(),
    # -> 32 x 32
    nn.MaxPool1d(2),
    # -> 32 x 16
    nn.Conv1d(32, 32, 3, padding=1),
    nn.ReLU(),  # -> 32 x 16
    nn.AvgPool1d(4),
    # -> 32 x 4
)
