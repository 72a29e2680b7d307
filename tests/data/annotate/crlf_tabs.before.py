"""CRLF and tabs: the new lines use both, like their neighbours."""
import torch.nn as nn


class Net(nn.Module):
	def __init__(self):
		super().__init__()
		self.body = nn.Sequential(
			# input: 3 x 64 x 64
			nn.Conv2d(3, 64, 4, 2, 1),
			nn.ReLU(),
			nn.Conv2d(64, 64, 4, 2, 1),
			nn.ReLU(),
		)
