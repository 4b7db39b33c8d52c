"""``nlp.pipe(texts, n_process=N)`` with PyTorch: keep forked workers out of the parent's
thread pool.

spaCy's ``n_process`` forks worker processes. A child that inherits PyTorch's intra-op thread
pool from a parent that already used it deadlocks in its first parallel region (spaCy issue
#6662). Importing this package registers a fork hook: PyTorch runs on one thread while the
fork happens, so each worker starts single-threaded (N workers use N cores), and the parent
gets its thread count back right after.
"""

import os
from typing import List

import torch

_parent_threads: List[int] = []


def _before_fork() -> None:
    _parent_threads.append(torch.get_num_threads())
    torch.set_num_threads(1)


def _after_fork_in_parent() -> None:
    torch.set_num_threads(_parent_threads.pop())


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent)
