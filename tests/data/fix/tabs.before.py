"""Tabs indent the layers and sit inside the comment; both stay."""
import torch.nn as nn


class Net(nn.Module):
	def __init__(self):
		super().__init__()
		self.body = nn.Sequential(
			# input:	3 x 64 x 64
			nn.Conv2d(3, 64, 4, 2, 1),	# -> 64 x 64 x 64
			nn.ReLU(),	# 64 x 32 x 32
			#	state size.	64 x 8 x 8
			nn.Conv2d(64, 64, 3, 1, 1),	# 64 x 32 x 32
		)
