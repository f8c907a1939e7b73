"""Backpropagation by hand, and the tools that verify it: Nielsen's BP1-BP4 as a numpy-only
oracle (equations), the per-layer report of autograd against it (report), and the checker
of a learner's own backprop with its diagnosis and mistake catalogue (check). The command
line is `python -m nn.verify`. The oracle imports numpy and the standard library only.
"""

from .check import CheckResult, check_backprop
from .check_conv import ConvCheckResult, check_conv_backprop, check_pool_backprop
from .equations import Backprop, manual_backprop
from .report import BackpropReport
from .report_conv import ConvBackpropReport, verify_backprop

__all__ = [
    "Backprop",
    "BackpropReport",
    "CheckResult",
    "ConvBackpropReport",
    "ConvCheckResult",
    "check_backprop",
    "check_conv_backprop",
    "check_pool_backprop",
    "manual_backprop",
    "verify_backprop",
]
